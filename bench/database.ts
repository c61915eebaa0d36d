// A throwaway PostgreSQL database for benchmarks, or undefined (with a note on stderr) when none is reachable.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ADMIN_URL = process.env.SEB_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function createBenchDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const name = `seb_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    process.stderr.write(`bench: PostgreSQL not reachable at ${ADMIN_URL} (${(err as Error).message}); PostgreSQL figures skipped\n`);
    await admin.end().catch(() => undefined);
    return undefined;
  }
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      c.on('error', () => undefined);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
