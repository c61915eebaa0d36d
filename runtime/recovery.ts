// Crash recovery: executions a seb that died left without an outcome. Whether the platform executed such a call is
// unknown, so each is recorded as uncertain, with an outcome record signed by the seb that found it (the
// certificate stays consumed either way). Two ways to find them:
// - at start, the previous seb on this state directory (same node id prefix): at once, it is known to be gone;
// - across the fleet, executions of any instance not seen for longer than ledger.instanceDeadAfterMs (its pod was
//   replaced, its state directory went with it): every seb refreshes its own row in seb_instances every few
//   seconds and looks for such executions at start and periodically. Several sebs may find the same execution;
//   the ledger lets exactly one record it (finishExecution only sets an outcome while none is set, and only while
//   the instance is still silent), the others write nothing.
import type { AuditWriter } from '../audit/writer.ts';
import type { Execution, Ledger } from '../ledger/types.ts';
import type { Logger } from '../ops/logger.ts';

type RecoveryLedger = Pick<Ledger, 'unfinishedExecutions' | 'abandonedExecutions' | 'finishExecution' | 'heartbeat'>;

/** Records e as uncertain; 'taken' when another seb (or its own instance, back in time) recorded an outcome first. */
async function recordUncertain(deps: { ledger: RecoveryLedger; audit: AuditWriter; logger: Logger }, e: Execution, error: string, ifInstanceSilentMs?: number): Promise<'recorded' | 'taken' | 'failed'> {
  const done = await deps.audit.append('outcome', { cid: e.cid, result: 'uncertain', durationMs: 0, identity: e.principal, error }, e.cid,
    (row) => deps.ledger.finishExecution({ cid: e.cid, nonce: e.nonce, result: 'uncertain', outcome: row, ...(ifInstanceSilentMs !== undefined ? { ifInstanceSilentMs } : {}) }));
  // SEB_INTERNAL here is the ledger's "no open outcome to record": someone else was first, nothing was written.
  const result = done.ok ? 'recorded' : done.error.code === 'SEB_INTERNAL' ? 'taken' : 'failed';
  if (result === 'taken') deps.logger.debug({ event: 'execution_uncertain_taken', cid: e.cid, instance: e.instanceId }, 'the execution already has an outcome (recorded by another seb)');
  else deps.logger.warn({ event: 'execution_uncertain', cid: e.cid, instance: e.instanceId, principal: e.principal, recorded: done.ok }, error);
  return result;
}

/** The same-state-directory path, at start: the previous seb on this node id is gone, report its executions now. */
export async function reportUnfinished(deps: { ledger: RecoveryLedger; audit: AuditWriter; nodeId: string; instanceId: string; logger: Logger; attempts?: number; stopped?: () => boolean }): Promise<number> {
  const attempts = deps.attempts ?? 10;
  for (let attempt = 1; attempt <= attempts && !deps.stopped?.(); attempt++) {
    const listed = await deps.ledger.unfinishedExecutions(`${deps.nodeId}.`, deps.instanceId);
    if (listed.ok) {
      let reported = 0;
      for (const e of listed.value) {
        if (deps.stopped?.()) break;
        const error = `seb instance ${e.instanceId} stopped before this call's outcome was recorded; whether ${e.principal} executed it is unknown: check the platform`;
        if ((await recordUncertain(deps, e, error)) === 'recorded') reported++;
      }
      return reported;
    }
    for (let waited = 0; waited < 2_000 && !deps.stopped?.(); waited += 100) await new Promise((r) => setTimeout(r, 100).unref());
  }
  if (!deps.stopped?.()) deps.logger.error({ event: 'recovery_skipped' }, 'could not look for executions a previous seb on this state directory left unfinished; the ledger stayed unavailable (they are recorded as uncertain later, once that seb has been silent for ledger.instanceDeadAfterMs)');
  return 0;
}

/** The fleet path, once: records the executions of instances silent for longer than deadAfterMs as uncertain. */
export async function reportAbandoned(deps: { ledger: RecoveryLedger; audit: AuditWriter; instanceId: string; deadAfterMs: number; logger: Logger; stopped?: () => boolean }): Promise<number> {
  const listed = await deps.ledger.abandonedExecutions(deps.deadAfterMs, deps.instanceId);
  if (!listed.ok) {
    deps.logger.debug({ event: 'recovery_scan_failed', error: listed.error.message }, 'could not look for executions of silent seb instances; trying again later');
    return 0;
  }
  let reported = 0;
  for (const e of listed.value) {
    if (deps.stopped?.()) break;
    const error = `seb instance ${e.instanceId} has not been seen for over ${deps.deadAfterMs} ms (ledger.instanceDeadAfterMs) and left this call without an outcome; whether ${e.principal} executed it is unknown: check the platform`;
    if ((await recordUncertain(deps, e, error, deps.deadAfterMs)) === 'recorded') reported++;
  }
  return reported;
}

export interface Liveness {
  /** Stops the heartbeat and the scans, waiting for the one in progress; before the ledger closes. */
  stop(): Promise<void>;
}

/** The heartbeat of this instance and the recovery duties, from the composition root. Timers are unref'd; each
 * duty runs one at a time (a tick while it is still running is skipped). */
export function startLiveness(deps: { ledger: RecoveryLedger; audit: AuditWriter; nodeId: string; instanceId: string; deadAfterMs: number; logger: Logger }): Liveness {
  const { ledger, instanceId, deadAfterMs, logger } = deps;
  // Well inside the bound: an instance misses about six heartbeats before anyone may take it for dead.
  const heartbeatMs = Math.min(5_000, Math.floor(deadAfterMs / 6));
  const scanMs = Math.min(15_000, Math.floor(deadAfterMs / 2));
  let stopped = false;
  const serial = (work: () => Promise<unknown>) => {
    let current: Promise<unknown> | undefined;
    return {
      tick() {
        if (current || stopped) return;
        current = work().catch((err: unknown) => logger.error({ event: 'recovery_failed', error: String(err) }, 'a crash-recovery duty failed unexpectedly')).finally(() => { current = undefined; });
      },
      idle: () => Promise.resolve(current).then(() => undefined),
    };
  };

  let healthy = true;
  const heartbeat = serial(async () => {
    const r = await ledger.heartbeat(instanceId);
    // Logged on a change only: a ledger outage is reported by every mutation it denies.
    if (r.ok === healthy) return;
    healthy = r.ok;
    if (r.ok) logger.info({ event: 'heartbeat_restored', instanceId }, 'this seb instance is recorded as alive in the ledger again');
    else logger.warn({ event: 'heartbeat_failed', instanceId, error: r.error.message }, `could not record this seb instance as alive; after ${deadAfterMs} ms (ledger.instanceDeadAfterMs) without it, other sebs take its unfinished executions for abandoned`);
  });
  const isStopped = () => stopped;
  let started = false;
  const recovery = serial(async () => {
    // The first run: this state directory's predecessor at once, then the whole ledger; later runs: the ledger.
    if (!started) {
      started = true;
      await reportUnfinished({ ...deps, stopped: isStopped });
    }
    if (!stopped) await reportAbandoned({ ...deps, stopped: isStopped });
  });

  heartbeat.tick();
  recovery.tick();
  const heartbeatTimer = setInterval(heartbeat.tick, heartbeatMs).unref();
  const scanTimer = setInterval(recovery.tick, scanMs).unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(heartbeatTimer);
      clearInterval(scanTimer);
      await Promise.all([heartbeat.idle(), recovery.idle()]);
    },
  };
}
