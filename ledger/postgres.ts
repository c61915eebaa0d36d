// The PostgreSQL backend: a pg Pool per seb process, on the database a fleet of seb processes shares. Every wait
// is bounded: connecting (connectionTimeoutMillis), each query on the client (query_timeout) and on the server
// (statement_timeout); the core's deadline then drops the connection a stuck operation holds. A connection that
// fails is destroyed rather than reused, and the pool opens fresh ones on demand, so when the database comes back
// the same Ledger works again without a restart.
import pg from 'pg';
import type { Backend, Session } from './backend.ts';

export interface PostgresOptions {
  readonly databaseUrl: string;
  readonly timeoutMs: number;
  readonly poolSize: number;
  /** Errors on idle connections (the server restarted, the network dropped). Default: ignored, never thrown. */
  readonly onError?: (err: Error) => void;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(databaseUrl: string): string {
  try {
    const u = new URL(databaseUrl);
    if (u.password) u.password = '';
    u.search = ''; // sslpassword and the like
    return u.toString().replace(/^(\w+:\/\/[^:@/]*):@/, '$1@');
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

// Each query carries the session's budget as its client-side timeout (longer than timeoutMs only for migrations).
function sessionOf(client: pg.PoolClient, budget: number): Session {
  const config = (text: string, values?: unknown[]) => ({ text, ...(values ? { values } : {}), query_timeout: budget }) as pg.QueryConfig;
  return {
    query: async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(config(sql, [...params]))).rows as R[],
    // Without parameters pg uses the simple protocol, which allows several statements in one string.
    exec: async (sql: string) => { await client.query(config(sql)); },
  };
}

export function postgresBackend(options: PostgresOptions): Backend {
  const { timeoutMs } = options;
  const onError = options.onError ?? (() => {});
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.poolSize,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    // A seb process frozen inside a transaction must not hold row locks (an epoch, an audit head) for long.
    idle_in_transaction_session_timeout: Math.max(10 * timeoutMs, 10_000),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
    application_name: 'seb',
  });
  // An 'error' event without a listener would crash the process: the pool emits it for idle clients, and a
  // checked-out client emits it itself when its socket dies between queries.
  pool.on('error', onError);
  pool.on('connect', (client) => { client.on('error', onError); });

  return {
    kind: 'postgres',
    where: `PostgreSQL ledger at ${redactUrl(options.databaseUrl)}`,

    async session({ transaction, signal, timeoutMs: budget }, fn) {
      const client = await pool.connect();
      let released = false;
      // release(error) removes the client from the pool and ends it; with a query in flight pg destroys the socket.
      const release = (err?: Error) => { if (!released) { released = true; client.release(err); } };
      const drop = () => release(new Error('the ledger operation passed its deadline'));
      if (signal.aborted) { drop(); throw new Error('the ledger operation passed its deadline while waiting for a connection'); }
      signal.addEventListener('abort', drop, { once: true });
      try {
        if (transaction) await client.query('BEGIN');
        const value = await fn(sessionOf(client, budget));
        if (transaction) await client.query('COMMIT');
        release();
        return value;
      } catch (err) {
        // Never reuse a client after a failure: its transaction state or its socket is suspect. Closing the
        // connection also rolls back an open transaction on the server.
        release(err instanceof Error ? err : new Error(String(err)));
        throw err;
      } finally {
        signal.removeEventListener('abort', drop);
      }
    },

    async listen(channels, onNotification, onLost) {
      // Not from the pool: a LISTEN belongs to one session for its whole life, and the pool recycles idle clients.
      const client = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, keepAlive: true, keepAliveInitialDelayMillis: 5_000, application_name: 'seb-listen' });
      let lost = false;
      const lose = (reason: string) => {
        if (lost) return;
        lost = true;
        client.removeAllListeners('notification');
        client.end().catch(() => {});
        onLost(reason);
      };
      client.on('error', (err) => lose(err.message));
      client.on('end', () => lose('the notification connection closed'));
      client.on('notification', (n) => onNotification(n.channel, n.payload ?? ''));
      try {
        await client.connect();
        for (const channel of channels) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (err) {
        lost = true;
        await client.end().catch(() => {});
        throw err;
      }
      return {
        query: async <R>(sql: string) => (await client.query(sql)).rows as R[],
        close: async () => {
          lost = true;
          client.removeAllListeners('notification');
          await client.end().catch(() => {});
        },
      };
    },

    async close(budget) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pool.end().catch(() => {}), new Promise<void>((r) => { timer = setTimeout(r, budget); })]);
      clearTimeout(timer);
    },
  };
}
