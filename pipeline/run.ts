// The pipeline, composed in one place: signature → contract → validity → policy epoch → revocation run in order
// (local: the epochs come from the pushed view); then the replay pre-check, drift observation and identity minting
// run concurrently, so the slowest of them, not their sum, is the added latency; then one ledger transaction
// commits the execution (re-checking revocation, reserving the nonce, writing the signed decision record). The
// request executes only if every stage passed; a stage that throws is a bug and denies (fail closed).
import { sebError, type SebError } from '../errors/codes.ts';
import type { TrustStore } from '../certs/sab/trust-store.ts';
import type { VerifiedCertificate } from '../certs/sab/verify.ts';
import { contractStage, driftStage, mintStage, policyEpochStage, replayStage, revocationStage, signatureStage, validityStage, type Verdict } from './stages.ts';
import type { Decision, EpochSource, ExecutionOutcome, PipelineLedger, PlatformAdapter, PlatformName, RequestContract, StageName, StageRecord } from './types.ts';
import type { LedgerResult, RevocationView } from '../ledger/types.ts';
import type { AuditWriter } from '../audit/writer.ts';
import type { OutcomeBody } from '../audit/records.ts';
import { decisionBody } from './decision-record.ts';

export interface PipelineDeps {
  readonly trust: TrustStore;
  readonly ledger: PipelineLedger;
  readonly adapters: Readonly<Partial<Record<PlatformName, PlatformAdapter>>>;
  /** The agent identity this sidecar serves; certificates must be issued to it. */
  readonly subject: string;
  readonly instanceId: string;
  /** Seconds since the epoch. */
  readonly now: () => number;
  /** Tolerated clock skew for nbf, seconds. */
  readonly clockSkewSeconds: number;
  /** false: replay, drift and mint run one after another (the paper's order), for comparison benchmarks. */
  readonly concurrentStages?: boolean;
  /** The pushed view of the epochs (stages 4 and 5 answer locally, fail closed when it is stale); unset: the
   * ledger is read on every mutation. */
  readonly epochs?: EpochSource;
  /** Signs the allow record, written in the commit transaction; unset: no audit trail (tests, benchmarks). */
  readonly audit?: AuditWriter;
}

export interface PipelineInput {
  /** The Seb-Certificate header value, or a staged certificate chosen for this request. */
  readonly certificate: string;
  readonly request: RequestContract;
  /** Handed to the platform adapter's observe and mint (e.g. the intercepted request). */
  readonly context?: unknown;
  /** The certificate came from the staging store (recorded in the decision). */
  readonly staged?: boolean;
}

export type Pipeline = (input: PipelineInput) => Promise<Decision>;

export function createPipeline(deps: PipelineDeps): Pipeline {
  return async ({ certificate, request, context, staged }) => {
    const stages: StageRecord[] = [];
    const deny = (error: SebError, cert?: VerifiedCertificate): Decision =>
      cert ? { kind: 'deny', error, cid: cert.payload.cid, stages } : { kind: 'deny', error, stages };
    const now = deps.now();

    const sig = timed(stages, 'signature', () => signatureStage(certificate, deps.trust, now));
    if (!sig.ok) return deny(sig.error);
    const cert = sig.value;
    const { cid, nonce } = cert.payload;
    for (const [name, run] of [
      ['contract', () => contractStage(cert, request, deps.subject)],
      ['validity', () => validityStage(cert, now, deps.clockSkewSeconds)],
    ] as const) {
      const v = timed(stages, name, run);
      if (!v.ok) return deny(v.error, cert);
    }

    const view = await revocationViewOf(deps, cid);
    if (!view.ok) {
      stages.push({ stage: 'policy_epoch', ok: false, ms: view.ms, code: view.error.code });
      return deny(view.error, cert);
    }
    const policy = timed(stages, 'policy_epoch', () => policyEpochStage(cert, view.value.epochs), view.ms);
    if (!policy.ok) return deny(policy.error, cert);
    const revocation = timed(stages, 'revocation', () => revocationStage(cert, view.value));
    if (!revocation.ok) return deny(revocation.error, cert);

    const adapter = deps.adapters[cert.payload.contract.platform];
    const replayRun = () => timedAsync('replay', () => replayStage(cert, deps.ledger));
    const driftRun = () => timedAsync('drift', () => driftStage(cert, adapter, context));
    const mintRun = () => timedAsync('mint', () => mintStage(cert, adapter, context));
    const [replay, drift, mint] = deps.concurrentStages === false
      ? [await replayRun(), await driftRun(), await mintRun()]
      : await Promise.all([replayRun(), driftRun(), mintRun()]);
    stages.push(replay.record, drift.record, mint.record);
    const failed = [replay.verdict, drift.verdict, mint.verdict].find((v) => !v.ok);
    if (failed && !failed.ok) {
      if (mint.verdict.ok) await mint.verdict.value.release?.().catch(() => undefined);
      return deny(failed.error, cert);
    }
    if (!mint.verdict.ok) return deny(mint.verdict.error, cert); // unreachable; keeps the types honest
    const identity = mint.verdict.value;

    // One transaction, immediately before forwarding: the epochs and this certificate's revocation are checked
    // again (a revocation that landed while drift and minting ran still stops the call), the nonce is reserved,
    // the execution (with the minted credential's id, for the admission webhook) and the signed allow record are
    // written. Nothing goes upstream that the ledger does not know of, and no nonce is reserved without a record.
    const execution = { cid, nonce, instanceId: deps.instanceId, principal: identity.principal, ...(identity.credentialId ? { credentialId: identity.credentialId } : {}), expiresAt: cert.payload.exp };
    const commitInput = { reservation: { cid, nonce, subject: cert.payload.sub, instanceId: deps.instanceId, expiresAt: cert.payload.exp }, execution, policyEpoch: cert.payload.policyEpoch, revocationEpoch: cert.payload.revocationEpoch };
    const started = performance.now();
    const completeOnce = async (outcome: ExecutionOutcome): Promise<LedgerResult<void>> => {
      const finish = { cid, nonce, result: outcome.result };
      if (!deps.audit) return deps.ledger.finishExecution(finish);
      const body: OutcomeBody = {
        cid, result: outcome.result, durationMs: Math.round((performance.now() - started) * 1000) / 1000, identity: identity.principal,
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        ...(outcome.requestId ? { requestId: outcome.requestId } : {}),
        ...(outcome.responseDigest ? { responseDigest: outcome.responseDigest } : {}),
        ...(outcome.error ? { error: outcome.error } : {}),
      };
      return deps.audit.append('outcome', body, cid, (row) => deps.ledger.finishExecution({ ...finish, outcome: row }));
    };
    // The call has happened: its outcome must reach the ledger even across a ledger outage, so it is retried with
    // backoff (about half a minute); if seb dies first, the next start reports the execution as uncertain.
    const complete = async (outcome: ExecutionOutcome): Promise<LedgerResult<void>> => {
      let result = await completeOnce(outcome);
      for (let delay = 100; !result.ok && result.error.code === 'SEB_LEDGER_UNAVAILABLE' && delay <= 6_400; delay *= 2) {
        await new Promise((r) => setTimeout(r, delay));
        result = await completeOnce(outcome);
      }
      return result;
    };
    const commit = await timedAsync('commit', async () => {
      const allowStages = [...stages, { stage: 'commit' as const, ok: true, ms: 0 }];
      const body = decisionBody({ subject: deps.subject, contract: request, cid, stages: allowStages, ...(staged !== undefined ? { staged } : {}) });
      const r = deps.audit
        ? await deps.audit.append('decision', body, cid, (row) => deps.ledger.commitExecution({ ...commitInput, decision: row }))
        : await deps.ledger.commitExecution(commitInput);
      return r.ok ? { ok: true as const, value: undefined } : { ok: false as const, error: r.error };
    });
    stages.push(commit.record);
    if (!commit.verdict.ok) {
      await identity.release?.().catch(() => undefined);
      // A commit whose answer was lost may still have committed; it is not closed from here (a retry of the same
      // certificate could commit the same (cid, nonce) meanwhile, and a late close would land on that). Such an
      // execution stays without an outcome until crash recovery reports it.
      return deny(commit.verdict.error, cert);
    }
    return { kind: 'allow', cert, identity, stages, complete };
  };
}

/** Stages 4 and 5 read the pushed view when there is one (a stale view denies), else the ledger. */
async function revocationViewOf(deps: PipelineDeps, cid: string): Promise<{ ok: true; value: RevocationView; ms: number } | { ok: false; error: SebError; ms: number }> {
  const t0 = performance.now();
  if (deps.epochs) {
    const snapshot = deps.epochs.snapshot();
    const ms = performance.now() - t0;
    if (!snapshot.fresh) return { ok: false, error: sebError('SEB_REVOCATION_UNKNOWN', `seb cannot confirm the current revocation state: ${snapshot.reason}; mutations are denied until it can (reads go on)`), ms };
    const revoked = deps.epochs.revocation(cid);
    return { ok: true, ms, value: revoked ? { epochs: snapshot.epochs, revoked: true, ...revoked } : { epochs: snapshot.epochs, revoked: false } };
  }
  const view = await safely(() => deps.ledger.revocationView(cid));
  const ms = performance.now() - t0;
  return view.ok ? { ok: true, value: view.value, ms } : { ok: false, error: view.error, ms };
}

function timed<T>(stages: StageRecord[], stage: StageName, run: () => Verdict<T>, extraMs = 0): Verdict<T> {
  const t0 = performance.now();
  let verdict: Verdict<T>;
  try {
    verdict = run();
  } catch (err) {
    verdict = { ok: false, error: internal(stage, err) };
  }
  stages.push(record(stage, verdict, performance.now() - t0 + extraMs));
  return verdict;
}

async function timedAsync<T>(stage: StageName, run: () => Promise<Verdict<T>>): Promise<{ verdict: Verdict<T>; record: StageRecord }> {
  const t0 = performance.now();
  let verdict: Verdict<T>;
  try {
    verdict = await run();
  } catch (err) {
    verdict = { ok: false, error: internal(stage, err) };
  }
  return { verdict, record: record(stage, verdict, performance.now() - t0) };
}

function record(stage: StageName, verdict: Verdict<unknown>, ms: number): StageRecord {
  const rounded = Math.round(ms * 1000) / 1000;
  if (!verdict.ok) return { stage, ok: false, ms: rounded, code: verdict.error.code };
  return verdict.note === undefined ? { stage, ok: true, ms: rounded } : { stage, ok: true, ms: rounded, note: verdict.note };
}

async function safely<T>(run: () => Promise<{ ok: true; value: T } | { ok: false; error: SebError }>): Promise<{ ok: true; value: T } | { ok: false; error: SebError }> {
  try {
    return await run();
  } catch (err) {
    return { ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', `the ledger failed: ${err instanceof Error ? err.message : String(err)}`) };
  }
}

function internal(stage: StageName, err: unknown): SebError {
  return sebError('SEB_INTERNAL', `stage ${stage} failed unexpectedly and the request was denied: ${err instanceof Error ? err.message : String(err)}`);
}
