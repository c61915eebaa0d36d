// A ledger that seb can start without: if the database is unreachable at start, every call answers
// SEB_LEDGER_UNAVAILABLE (mutations denied, reads unaffected) and the next call after a short pause tries to open
// it again, so seb recovers when PostgreSQL comes back, without a restart.
import { sebError } from '../errors/codes.ts';
import { openLedger, type LedgerConfig } from '../ledger/open.ts';
import type { Ledger, LedgerResult } from '../ledger/types.ts';

const RETRY_MS = 1_000;

export async function openLazyLedger(config: LedgerConfig, onOpenError: (message: string) => void): Promise<Ledger> {
  let ledger: Ledger | undefined;
  let lastError = '';
  let nextAttempt = 0;
  let opening: Promise<void> | undefined;
  const tryOpen = () => {
    opening ??= openLedger(config).then((r) => {
      if (r.ok) ledger = r.value;
      else {
        lastError = r.error.message;
        nextAttempt = Date.now() + RETRY_MS;
        onOpenError(lastError);
      }
      opening = undefined;
    });
    return opening;
  };
  await tryOpen();
  const where = ledger?.where ?? (config.databaseUrl ? 'PostgreSQL ledger' : `embedded ledger at ${config.dir}`);
  const call = async <T>(use: (l: Ledger) => Promise<LedgerResult<T>>): Promise<LedgerResult<T>> => {
    if (!ledger && Date.now() >= nextAttempt) await tryOpen();
    if (!ledger) return { ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', `the ${where} could not be opened (${lastError}); mutations are denied until it can`) };
    return use(ledger);
  };
  return {
    get backend() { return ledger?.backend ?? (config.databaseUrl ? 'postgres' : 'pglite'); },
    get where() { return ledger?.where ?? where; },
    get schema() { return ledger?.schema ?? { version: 0, applied: [] }; },
    reserveNonce: (r) => call((l) => l.reserveNonce(r)),
    epochs: () => call((l) => l.epochs()),
    bumpEpoch: (n) => call((l) => l.bumpEpoch(n)),
    revoke: (c, reason) => call((l) => l.revoke(c, reason)),
    revocationStatus: (c) => call((l) => l.revocationStatus(c)),
    revocationView: (c) => call((l) => l.revocationView(c)),
    appendAudit: (e) => call((l) => l.appendAudit(e)),
    registerAuditKey: (k) => call((l) => l.registerAuditKey(k)),
    auditKeys: () => call((l) => l.auditKeys()),
    listAudit: (q) => call((l) => l.listAudit(q)),
    recordExecution: (e) => call((l) => l.recordExecution(e)),
    executionByCredential: (c) => call((l) => l.executionByCredential(c)),
    precheck: (c, n) => call((l) => l.precheck(c, n)),
    commitExecution: (c) => call((l) => l.commitExecution(c)),
    finishExecution: (f) => call((l) => l.finishExecution(f)),
    unfinishedExecutions: (p, i) => call((l) => l.unfinishedExecutions(p, i)),
    heartbeat: (i) => call((l) => l.heartbeat(i)),
    abandonedExecutions: (ms, i) => call((l) => l.abandonedExecutions(ms, i)),
    subscribe: (h) => call((l) => l.subscribe(h)),
    health: () => call((l) => l.health()),
    close: async () => {
      await opening;
      await ledger?.close();
    },
  } satisfies Ledger;
}
