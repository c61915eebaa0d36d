// Picks the ledger backend from configuration: PostgreSQL when ledger.databaseUrl is set (a fleet shares one
// nonce space and one pair of epochs), otherwise embedded PGlite in dir (default <stateDir>/ledger). Applies the
// schema migrations before returning; a database that cannot be reached is an error value, not an exception, so
// the caller decides whether to retry (seb serve) or exit with the message (the CLI).
import { sebError } from '../errors/codes.ts';
import type { Backend } from './backend.ts';
import { createLedger, prepareSchema } from './core.ts';
import { pgliteBackend } from './pglite.ts';
import { postgresBackend } from './postgres.ts';
import type { Ledger, LedgerResult } from './types.ts';

export interface LedgerConfig {
  /** postgres:// URL; unset: embedded PGlite in dir. */
  readonly databaseUrl?: string | undefined;
  /** The embedded ledger's directory, usually path.join(config.stateDir, 'ledger'). */
  readonly dir: string;
  readonly timeoutMs: number;
  readonly poolSize: number;
  /** Errors on idle PostgreSQL connections, for logging; they never throw. */
  readonly onError?: (err: Error) => void;
}

export async function openLedger(config: LedgerConfig): Promise<LedgerResult<Ledger>> {
  let backend: Backend;
  if (config.databaseUrl) {
    backend = postgresBackend({ databaseUrl: config.databaseUrl, timeoutMs: config.timeoutMs, poolSize: config.poolSize, ...(config.onError ? { onError: config.onError } : {}) });
  } else {
    try {
      backend = await pgliteBackend({ dir: config.dir });
    } catch (err) {
      return { ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', err instanceof Error ? err.message : String(err), err) };
    }
  }
  const schema = await prepareSchema(backend, config.timeoutMs);
  if (!schema.ok) {
    await backend.close(config.timeoutMs);
    return schema;
  }
  return { ok: true, value: createLedger(backend, { timeoutMs: config.timeoutMs, schema: schema.value }) };
}
