// Real PostgreSQL for the ledger tests: whether it is there (skip with a visible reason on a laptop, fail under
// CI), and a database of its own for each test file, dropped afterwards, so tests never see each other's rows.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { IN_CI } from './services.ts';

/** The maintenance connection: trust auth, database "test" (see the brief's machine description). */
export const PG_ADMIN_URL = process.env.SEB_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {}); // a dropped admin connection fails the query that needed it, not the process
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** undefined when PostgreSQL answers; otherwise the reason to skip (or throws under CI=true). */
export async function postgresSkipReason(): Promise<string | undefined> {
  try {
    await withAdmin((c) => c.query('SELECT 1'));
    return undefined;
  } catch (err) {
    const reason = `PostgreSQL is not reachable at ${PG_ADMIN_URL} (${err instanceof Error ? err.message : String(err)}); set SEB_TEST_PG_URL to use another server`;
    if (IN_CI) throw new Error(`${reason}; CI machines have it, so this is a failure`);
    console.warn(`SKIP: ${reason}`);
    return reason;
  }
}

export interface TestDatabase {
  readonly name: string;
  /** The database's URL, through another port (a relay) when given. */
  url(port?: number): string;
  /** Runs SQL on the database directly, bypassing the ledger (for assertions on raw tables). */
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `seb_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = (port?: number) => {
    const u = new URL(PG_ADMIN_URL);
    u.pathname = `/${name}`;
    if (port !== undefined) { u.hostname = '127.0.0.1'; u.port = String(port); }
    return u.toString();
  };
  return {
    name,
    url,
    async query<R>(sql: string, params: unknown[] = []) {
      const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 3_000 });
      client.on('error', () => {});
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as R[];
      } finally {
        await client.end().catch(() => {});
      }
    },
    // FORCE ends connections a test left behind (e.g. ones stranded behind a black-holed relay).
    drop: () => withAdmin(async (c) => { await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); }),
  };
}
