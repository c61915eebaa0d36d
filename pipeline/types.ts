// The verification pipeline's vocabulary. The pipeline knows certificates, contracts, a ledger and platform
// adapters by these interfaces only: nothing here names AWS or Kubernetes beyond the contract's discriminant.
import type { SebCode, SebError } from '../errors/codes.ts';
import type { Result } from '../certs/sab/result.ts';
import type { Arn, AwsAction, Contract, JsonValue, KubeTarget, KubeVerb } from '../certs/sab/types.ts';
import type { VerifiedCertificate } from '../certs/sab/verify.ts';
import type { Ledger, LedgerResult } from '../ledger/types.ts';
import type { EpochSnapshot } from '../ledger/epoch-watch.ts';

export type { Result };

/** The change a request would make, in the certificate's own terms, so that matching is a comparison. */
export type RequestContract =
  | { readonly platform: 'aws'; readonly operation: AwsAction; readonly targets: readonly Arn[]; readonly params: JsonValue }
  | { readonly platform: 'kube'; readonly operation: KubeVerb; readonly targets: readonly KubeTarget[]; readonly params: JsonValue };

export type PlatformName = RequestContract['platform'];

/** A short-lived identity allowed exactly one certified change; `credentials` is opaque to the pipeline. */
export interface ExecutorIdentity {
  readonly platform: PlatformName;
  /** For records and logs: role session name, ServiceAccount ... never a secret. */
  readonly principal: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  /** The credential's own id where the platform has one (Kubernetes token JTI), recorded for admission checks. */
  readonly credentialId?: string;
  readonly credentials: unknown;
  /** Called when the identity is not used after all (another stage denied) or after the call. */
  readonly release?: () => Promise<void>;
}

/** What a platform supplies to the pipeline. */
export interface PlatformAdapter {
  readonly platform: PlatformName;
  /** The certified target's current state, as JSON the admitted field paths are resolved against. `context` is
   * the platform's own view of the request being decided (opaque to the pipeline). */
  observe(contract: Contract, context: unknown): Promise<Result<JsonValue>>;
  /** An executor identity scoped to the certified contract and dying with the certificate. */
  mint(cert: VerifiedCertificate, context: unknown): Promise<Result<ExecutorIdentity>>;
}

export interface EpochView {
  readonly policy: number;
  readonly revocation: number;
}

/** The part of the ledger the pipeline uses; errors are values (SEB_LEDGER_UNAVAILABLE). */
export type PipelineLedger = Pick<Ledger, 'revocationView' | 'precheck' | 'commitExecution' | 'finishExecution'>;

/** The epochs as this process last confirmed them (ledger/epoch-watch.ts), and revocations pushed since. */
export interface EpochSource {
  snapshot(): EpochSnapshot;
  revocation(cid: string): { readonly reason: string; readonly revokedAt: Date } | undefined;
}

/** How a forwarded call ended: completed when the platform answered; uncertain when it timed out or reset. */
export interface ExecutionOutcome {
  /** not_forwarded: committed, but the call never left seb (the agent left first, or authorising it failed). */
  readonly result: 'completed' | 'uncertain' | 'not_forwarded';
  readonly status?: number;
  readonly requestId?: string;
  readonly responseDigest?: string;
  readonly error?: string;
}

export type StageName = 'signature' | 'contract' | 'validity' | 'policy_epoch' | 'revocation' | 'replay' | 'drift' | 'mint' | 'commit';

/** One stage's verdict and how long it took (ms); `note` says what an allow rested on (e.g. "drift waived"). */
export interface StageRecord {
  readonly stage: StageName;
  readonly ok: boolean;
  readonly ms: number;
  readonly code?: SebCode;
  readonly note?: string;
}

export type Decision =
  /** `complete`: records the outcome once the forwarded call has finished (call it exactly once). */
  | { readonly kind: 'allow'; readonly cert: VerifiedCertificate; readonly identity: ExecutorIdentity; readonly stages: readonly StageRecord[]; readonly complete: (outcome: ExecutionOutcome) => Promise<LedgerResult<void>> }
  | { readonly kind: 'deny'; readonly error: SebError; readonly cid?: string; readonly stages: readonly StageRecord[] };
