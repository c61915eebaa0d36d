// POST /validate: a parsed JSON body in, the webhook's answer out (and a summary for the log). Parsing, the bounded
// ledger lookup and the decision compose here; nothing in this path throws to the server: a review that cannot be
// read, a ledger that is down or slow, or a bug all end in a denial with a message.
import { sebError } from '../errors/codes.ts';
import type { Execution, LedgerResult } from '../ledger/types.ts';
import { malformedAnswer, parseReview, reviewAnswer, type ReviewAnswer } from './review.ts';
import { decideValidation, describeRequest, type ExecutionLookup, type ValidationDecision } from './validate.ts';

export interface ValidateReviewDeps {
  readonly lookup: ExecutionLookup;
  readonly now: () => number;
  readonly brokerIdentities: readonly string[];
  /** Bound on one decision, ms: the ledger lookup answers within it or the request is denied. */
  readonly decisionTimeoutMs: number;
}

/** What the log line of one review says (never object contents). */
export interface ReviewSummary {
  readonly uid?: string;
  readonly operation?: string;
  readonly request?: string;
  readonly user?: string;
  readonly allowed: boolean;
  readonly code?: string;
  readonly basis?: string;
  readonly cid?: string;
  readonly dryRun?: boolean;
}

export async function validateReview(body: unknown, deps: ValidateReviewDeps): Promise<ReviewAnswer & { readonly summary: ReviewSummary }> {
  const parsed = parseReview(body);
  if (!parsed.ok) {
    return { ...malformedAnswer(parsed), summary: { ...(parsed.uid ? { uid: parsed.uid } : {}), allowed: false, code: parsed.error.code } };
  }
  const req = parsed.request;
  let decision: ValidationDecision;
  try {
    decision = await decideValidation(req, { ...deps, lookup: bounded(deps.lookup, deps.decisionTimeoutMs) });
  } catch (err) {
    const error = sebError('SEB_INTERNAL', `seb failed while deciding ${describeRequest(req)} and denied it: ${err instanceof Error ? err.message : String(err)}`);
    decision = { kind: 'deny', error, auditAnnotations: { decision: 'denied', code: error.code } };
  }
  const summary: ReviewSummary = {
    uid: req.uid, operation: req.operation, request: describeRequest(req), user: req.userInfo.username ?? '',
    allowed: decision.kind === 'allow',
    ...(decision.kind === 'deny' ? { code: decision.error.code } : { basis: decision.basis }),
    ...(decision.execution ? { cid: decision.execution.cid } : {}),
    ...(req.dryRun ? { dryRun: true } : {}),
  };
  if (decision.kind === 'allow') {
    return { ...reviewAnswer(req.uid, { allowed: true, warnings: decision.warnings, auditAnnotations: decision.auditAnnotations }), summary };
  }
  return {
    ...reviewAnswer(req.uid, {
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: `seb denied this request (${decision.error.code}): ${decision.error.message}` },
      auditAnnotations: decision.auditAnnotations,
    }),
    summary,
  };
}

/** The lookup, answering SEB_LEDGER_UNAVAILABLE if the ledger has not answered within ms. */
function bounded(lookup: ExecutionLookup, ms: number): ExecutionLookup {
  return (credentialId) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<LedgerResult<Execution | undefined>>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', `the ledger did not answer within ${ms} ms (webhook.decisionTimeoutMs)`) }), ms);
    });
    return Promise.race([lookup(credentialId), late]).finally(() => clearTimeout(timer));
  };
}
