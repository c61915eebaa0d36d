// What the audit records say. A decision record for every mutation attempt (allowed or denied) and an outcome
// record for every call seb forwarded; audit/chain.ts signs and chains them, the ledger stores them.
import type { SebCode } from '../errors/codes.ts';
import type { StageRecord } from '../pipeline/types.ts';

/** One per mutation attempt, allowed or denied. */
export interface DecisionBody {
  readonly decision: 'allow' | 'deny';
  /** The agent subject this sidecar serves. */
  readonly subject: string;
  readonly platform?: 'aws' | 'kube';
  readonly operation?: string;
  readonly targets?: readonly unknown[];
  /** The claimed cid (untrusted on denials). */
  readonly cid?: string;
  /** sha256 hex of the RFC 8785 canonical request contract. */
  readonly contractDigest?: string;
  readonly staged?: boolean;
  readonly stages: readonly StageRecord[];
  /** On deny. */
  readonly code?: SebCode;
  /** On deny. */
  readonly message?: string;
}

/** One per forwarded call. */
export interface OutcomeBody {
  readonly cid: string;
  /** uncertain: upstream timeout or reset, or seb died mid-call. */
  readonly result: 'completed' | 'uncertain' | 'not_forwarded';
  readonly status?: number;
  /** x-amzn-RequestId / x-amz-request-id, Kubernetes Audit-Id. */
  readonly requestId?: string;
  /** sha256 hex of the response body bytes. */
  readonly responseDigest?: string;
  readonly durationMs: number;
  /** Role session name / ServiceAccount principal. */
  readonly identity: string;
  readonly error?: string;
}
