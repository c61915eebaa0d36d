// The pipeline, composed in one place: signature → contract → validity → policy epoch → revocation run in order
// (cheap, local but for one ledger read); then nonce reservation, drift observation and identity minting run
// concurrently, so the slowest of them, not their sum, is the added latency. The request executes only if every
// stage passed; a stage that throws is a bug and denies (fail closed).
import { sebError, type SebError } from '../errors/codes.ts';
import type { TrustStore } from '../certs/sab/trust-store.ts';
import type { VerifiedCertificate } from '../certs/sab/verify.ts';
import { contractStage, driftStage, mintStage, policyEpochStage, replayStage, revocationStage, signatureStage, validityStage, type Verdict } from './stages.ts';
import type { Decision, PipelineLedger, PlatformAdapter, PlatformName, RequestContract, StageName, StageRecord } from './types.ts';

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
}

export interface PipelineInput {
  /** The Seb-Certificate header value, or a staged certificate chosen for this request. */
  readonly certificate: string;
  readonly request: RequestContract;
  /** Handed to the platform adapter's observe and mint (e.g. the intercepted request). */
  readonly context?: unknown;
}

export type Pipeline = (input: PipelineInput) => Promise<Decision>;

export function createPipeline(deps: PipelineDeps): Pipeline {
  return async ({ certificate, request, context }) => {
    const stages: StageRecord[] = [];
    const deny = (error: SebError, cert?: VerifiedCertificate): Decision =>
      cert ? { kind: 'deny', error, cid: cert.payload.cid, stages } : { kind: 'deny', error, stages };
    const now = deps.now();

    const sig = timed(stages, 'signature', () => signatureStage(certificate, deps.trust, now));
    if (!sig.ok) return deny(sig.error);
    const cert = sig.value;
    for (const [name, run] of [
      ['contract', () => contractStage(cert, request, deps.subject)],
      ['validity', () => validityStage(cert, now, deps.clockSkewSeconds)],
    ] as const) {
      const v = timed(stages, name, run);
      if (!v.ok) return deny(v.error, cert);
    }

    const t0 = performance.now();
    const view = await safely(() => deps.ledger.revocationView(cert.payload.cid));
    const viewMs = performance.now() - t0;
    if (!view.ok) {
      stages.push({ stage: 'policy_epoch', ok: false, ms: viewMs, code: view.error.code });
      return deny(view.error, cert);
    }
    const policy = timed(stages, 'policy_epoch', () => policyEpochStage(cert, view.value.epochs), viewMs);
    if (!policy.ok) return deny(policy.error, cert);
    const revocation = timed(stages, 'revocation', () => revocationStage(cert, view.value));
    if (!revocation.ok) return deny(revocation.error, cert);

    const adapter = deps.adapters[cert.payload.contract.platform];
    const replayRun = () => timedAsync('replay', () => replayStage(cert, deps.ledger, deps.instanceId));
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
    // The execution is on record before anything goes upstream: an admission webhook can then tie the minted
    // credential to this certificate, and an execution never happens that the ledger does not know of.
    const record = await timedAsync('record', async () => {
      const r = await deps.ledger.recordExecution({
        cid: cert.payload.cid, nonce: cert.payload.nonce, instanceId: deps.instanceId, principal: identity.principal,
        ...(identity.credentialId ? { credentialId: identity.credentialId } : {}), expiresAt: cert.payload.exp,
      });
      return r.ok ? { ok: true as const, value: undefined } : { ok: false as const, error: r.error };
    });
    stages.push(record.record);
    if (!record.verdict.ok) {
      await identity.release?.().catch(() => undefined);
      return deny(record.verdict.error, cert);
    }
    return { kind: 'allow', cert, identity, stages };
  };
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
