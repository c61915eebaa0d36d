// The bodies of the audit records the pipeline and the gate write: what was asked, which certificate, which stage
// decided and why. The contract is recorded by digest plus its operation and targets (params may be large).
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { SebError } from '../errors/codes.ts';
import type { DecisionBody } from '../audit/records.ts';
import type { RequestContract, StageRecord } from './types.ts';

/** sha256 hex of the RFC 8785 canonical contract. */
export function contractDigest(contract: RequestContract): string {
  return createHash('sha256').update(canonicalize(contract) ?? '').digest('hex');
}

export interface DecisionFacts {
  readonly subject: string;
  readonly contract?: RequestContract;
  readonly cid?: string;
  readonly staged?: boolean;
  readonly stages: readonly StageRecord[];
  /** Set on a denial. */
  readonly error?: SebError;
}

export function decisionBody(f: DecisionFacts): DecisionBody {
  return {
    decision: f.error ? 'deny' : 'allow',
    subject: f.subject,
    ...(f.contract ? { platform: f.contract.platform, operation: f.contract.operation, targets: f.contract.targets, contractDigest: contractDigest(f.contract) } : {}),
    ...(f.cid ? { cid: f.cid } : {}),
    ...(f.staged !== undefined ? { staged: f.staged } : {}),
    stages: f.stages,
    ...(f.error ? { code: f.error.code, message: f.error.message } : {}),
  };
}
