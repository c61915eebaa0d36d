// Turns whatever a database driver threw into one SEB_LEDGER_UNAVAILABLE error whose message says where the ledger
// is, what seb was doing, what went wrong and what the operator can do. Mutations are denied meanwhile; reads
// through seb are unaffected.
import { sebError, type SebError } from '../errors/codes.ts';

const DENIED = 'mutations are denied until it answers';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNABORTED']);

export function timedOut(where: string, doing: string, timeoutMs: number, cause?: unknown): SebError {
  return sebError('SEB_LEDGER_UNAVAILABLE', `the ${where} did not answer within ${timeoutMs} ms (ledger.timeoutMs) while ${doing}; ${DENIED.replace('answers', 'does')}`, cause);
}

export function ledgerFailure(where: string, doing: string, timeoutMs: number, cause: unknown): SebError {
  const err = (cause ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : undefined;
  const message = typeof err.message === 'string' ? err.message : String(cause);
  // pg: "timeout exceeded when trying to connect", "Query read timeout"; PostgreSQL: 57014 statement_timeout.
  if (code === '57014' || /timeout/i.test(message)) return timedOut(where, doing, timeoutMs, cause);
  if (code && UNREACHABLE.has(code)) {
    return sebError('SEB_LEDGER_UNAVAILABLE', `the ${where} cannot be reached while ${doing} (${code}: ${message}); check that PostgreSQL is running and that ledger.databaseUrl points at it; ${DENIED}`, cause);
  }
  if (/Connection terminated|Connection ended|not queryable|closed the connection/i.test(message) || code === '57P01' || code === '57P02' || code === '57P03') {
    return sebError('SEB_LEDGER_UNAVAILABLE', `the ${where} dropped the connection while ${doing} (${message}); seb reconnects by itself and ${DENIED}`, cause);
  }
  if (code && /^(28|3D)/.test(code)) {
    return sebError('SEB_LEDGER_UNAVAILABLE', `the ${where} refused seb while ${doing}: ${message} (SQLSTATE ${code}); fix the user, password or database in ledger.databaseUrl; ${DENIED}`, cause);
  }
  const sqlstate = code && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : '';
  return sebError('SEB_LEDGER_UNAVAILABLE', `the ${where} failed while ${doing}: ${message}${sqlstate}; ${DENIED}`, cause);
}

/** After close(): seb is shutting down (or a caller kept a stale handle). */
export function closedError(where: string, doing: string): SebError {
  return sebError('SEB_LEDGER_UNAVAILABLE', `the ${where} is closed (seb is shutting down) and was not used for ${doing}; ${DENIED}`);
}

/** A caller passed something the ledger cannot store: a bug in seb, not an outage. */
export function badArgument(doing: string, what: string): SebError {
  return sebError('SEB_INTERNAL', `seb called the ledger with ${what} while ${doing}; this is a bug in seb, please report it`);
}
