// The audit writer as the composition root holds it: created on first use, and again after a failure, so seb
// starts while the ledger is down (every mutation is then denied: no record, no execution) and recovers with it.
import { createAuditWriter, type AuditWriter } from '../audit/writer.ts';
import type { Ledger } from '../ledger/types.ts';

const RETRY_MS = 1_000;

export function lazyAuditWriter(deps: { ledger: Ledger; instanceId: string; sink?: (line: string) => void }): AuditWriter & { ready(): Promise<boolean> } {
  let writer: AuditWriter | undefined;
  let creating: Promise<AuditWriter | { error: Awaited<ReturnType<typeof createAuditWriter>> & { ok: false } }> | undefined;
  let nextAttempt = 0;
  const get = async () => {
    if (writer) return writer;
    if (!creating) {
      if (Date.now() < nextAttempt) return undefined;
      creating = createAuditWriter({ ledger: deps.ledger, instanceId: deps.instanceId, ...(deps.sink ? { sink: deps.sink } : {}) }).then((r) => (r.ok ? r.value : { error: r }));
    }
    const made = await creating;
    creating = undefined;
    if ('append' in made) return (writer = made);
    nextAttempt = Date.now() + RETRY_MS;
    return made;
  };
  return {
    instanceId: deps.instanceId,
    get publicKey() { return writer?.publicKey ?? ''; },
    async append(kind, body, cid, persist) {
      const w = await get();
      if (w && 'append' in w) return w.append(kind, body, cid, persist);
      return w ? w.error : { ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE', message: `the audit key of instance ${deps.instanceId} is not registered in the ${deps.ledger.where} yet; mutations are denied until it is` } };
    },
    async ready() {
      const w = await get();
      return w !== undefined && 'append' in w;
    },
  };
}
