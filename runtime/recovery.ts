// A start-up duty around the audit trail: reporting the executions a previous seb on this state directory left
// without an outcome (it died mid-call: whether the platform executed
// the call is unknown, so each is recorded as uncertain — the certificate stays consumed either way).
import type { AuditWriter } from '../audit/writer.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Logger } from '../ops/logger.ts';

export async function reportUnfinished(deps: { ledger: Ledger; audit: AuditWriter; nodeId: string; instanceId: string; logger: Logger; attempts?: number }): Promise<number> {
  const attempts = deps.attempts ?? 10;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const listed = await deps.ledger.unfinishedExecutions(`${deps.nodeId}.`, deps.instanceId);
    if (listed.ok) {
      let reported = 0;
      for (const e of listed.value) {
        const error = `seb instance ${e.instanceId} stopped before this call's outcome was recorded; whether ${e.principal} executed it is unknown: check the platform`;
        const done = await deps.audit.append('outcome', { cid: e.cid, result: 'uncertain', durationMs: 0, identity: e.principal, error }, e.cid,
          (row) => deps.ledger.finishExecution({ cid: e.cid, nonce: e.nonce, result: 'uncertain', outcome: row }));
        if (done.ok) reported++;
        deps.logger.warn({ event: 'execution_uncertain', cid: e.cid, instance: e.instanceId, principal: e.principal, recorded: done.ok }, error);
      }
      return reported;
    }
    await new Promise((r) => setTimeout(r, 2_000).unref());
  }
  deps.logger.error({ event: 'recovery_skipped' }, 'could not look for executions a previous seb left unfinished; the ledger stayed unavailable');
  return 0;
}
