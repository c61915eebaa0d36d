// AdmissionReview v1 (admission.k8s.io/v1) as kube-apiserver sends it to a webhook, parsed strictly: the shape of
// the recorded bodies (../shared/fixtures/kube-apiserver-v1.33/admission-review-*.json), every field typed, unknown
// fields refused. A review seb cannot read is denied, never guessed at: with a 200 AdmissionReview answer when the
// request's uid can be recovered (the API server then reports seb's message), with a 400 Status otherwise.
import { z } from 'zod';
import { sebError, type SebError } from '../errors/codes.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const groupVersionKind = z.strictObject({ group: z.string(), version: z.string(), kind: z.string() });
const groupVersionResource = z.strictObject({ group: z.string(), version: z.string(), resource: z.string() });

const userInfo = z.strictObject({
  username: z.string().optional(),
  uid: z.string().optional(),
  groups: z.array(z.string()).optional(),
  extra: z.record(z.string(), z.array(z.string())).optional(),
});

// Objects are whatever the API server stores; seb reads only metadata.name, labels, annotations (and a Secret's
// type and data), so those are typed and the rest passes through.
const objectMeta = z.looseObject({
  name: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const kubeObject = z.looseObject({ metadata: objectMeta.optional() });

const admissionRequest = z.strictObject({
  uid: z.string().min(1),
  kind: groupVersionKind,
  resource: groupVersionResource,
  subResource: z.string().optional(),
  requestKind: groupVersionKind.optional(),
  requestResource: groupVersionResource.optional(),
  requestSubResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
  userInfo,
  object: kubeObject.nullable().optional(),
  oldObject: kubeObject.nullable().optional(),
  dryRun: z.boolean().optional(),
  options: z.record(z.string(), z.unknown()).nullable().optional(),
});

const admissionReview = z.strictObject({
  apiVersion: z.literal(ADMISSION_API_VERSION),
  kind: z.literal('AdmissionReview'),
  request: admissionRequest,
});

export type AdmissionRequest = z.infer<typeof admissionRequest>;
export type KubeObject = z.infer<typeof kubeObject>;

export type ParsedReview =
  | { readonly ok: true; readonly request: AdmissionRequest }
  | { readonly ok: false; readonly error: SebError; /** The request's uid, when one could be read. */ readonly uid?: string };

export function parseReview(body: unknown): ParsedReview {
  const parsed = admissionReview.safeParse(body);
  if (parsed.success) return { ok: true, request: parsed.data.request };
  const uid = recoverUid(body);
  return { ok: false, error: sebError('SEB_ADMISSION_MALFORMED', explainIssues(body, parsed.error.issues)), ...(uid ? { uid } : {}) };
}

/** The uid of a review that failed to parse, if it has a plausible one: the answer must echo it to be accepted. */
function recoverUid(body: unknown): string | undefined {
  const uid = (body as { request?: { uid?: unknown } } | null)?.request?.uid;
  return typeof uid === 'string' && /^[\x21-\x7e]{1,128}$/.test(uid) ? uid : undefined;
}

function explainIssues(body: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const apiVersion = (body as { apiVersion?: unknown } | null)?.apiVersion;
  if (typeof apiVersion === 'string' && apiVersion !== ADMISSION_API_VERSION && apiVersion.startsWith('admission.k8s.io/')) {
    return `the AdmissionReview is ${apiVersion}; seb speaks ${ADMISSION_API_VERSION} only: set admissionReviewVersions: ["v1"] in the webhook configuration`;
  }
  const described = issues.slice(0, 3).map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return `${where}: ${issue.message}`;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return `the AdmissionReview cannot be read, so the request is denied: ${described.join('; ')}${more}. seb expects an ${ADMISSION_API_VERSION} AdmissionReview as kube-apiserver sends it; a newer API server with fields seb does not know needs a newer seb`;
}

export interface ReviewAnswer {
  /** HTTP status of the webhook's answer. */
  readonly status: number;
  readonly body: object;
}

export interface AdmissionResponseFields {
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly reason?: string; readonly message: string };
  readonly warnings?: readonly string[];
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

/** The AdmissionReview answer the API server expects: 200, the request's uid, allowed, and why. */
export function reviewAnswer(uid: string, fields: AdmissionResponseFields): ReviewAnswer {
  const response: Record<string, unknown> = { uid, allowed: fields.allowed };
  if (fields.status) response.status = fields.status;
  if (fields.warnings?.length) response.warnings = fields.warnings;
  if (fields.auditAnnotations && Object.keys(fields.auditAnnotations).length) response.auditAnnotations = fields.auditAnnotations;
  return { status: 200, body: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response } };
}

/** A refusal as the API server reads a failed webhook call: a Status it quotes in its own error. */
export function statusAnswer(status: number, error: SebError): ReviewAnswer {
  const reasons: Record<number, string> = { 400: 'BadRequest', 404: 'NotFound', 405: 'MethodNotAllowed', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 500: 'InternalError', 503: 'ServiceUnavailable' };
  return {
    status,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `seb webhook (${error.code}): ${error.message}`, reason: reasons[status] ?? 'BadRequest', code: status },
  };
}

/** A malformed review: denied with the uid when it is known, else a 400 (the API server then fails the call). */
export function malformedAnswer(parsed: Extract<ParsedReview, { ok: false }>): ReviewAnswer {
  if (parsed.uid === undefined) return statusAnswer(400, parsed.error);
  return reviewAnswer(parsed.uid, {
    allowed: false,
    status: { code: 400, reason: 'BadRequest', message: `seb denied this request (${parsed.error.code}): ${parsed.error.message}` },
    auditAnnotations: { decision: 'denied', code: parsed.error.code },
  });
}
