// metav1.Status bodies, worded exactly as kube-apiserver v1.33 words them (see errors-and-conflicts.har,
// rbac-authn.har, patch.har, token-request.har, discovery.har).
export interface StatusCause { reason?: string; message: string; field?: string }
export interface StatusDetails { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number }
export interface KubeStatus {
  kind: 'Status'; apiVersion: 'v1'; metadata: Record<string, never>; status: 'Failure' | 'Success';
  message?: string; reason?: string; details?: StatusDetails; code: number;
}

/** Thrown anywhere in a handler; the router turns it into the Status response. */
export class StatusError extends Error {
  readonly status: KubeStatus;
  constructor(status: KubeStatus) {
    super(status.message ?? status.reason ?? 'error');
    this.status = status;
  }
}

export function failure(code: number, reason: string | undefined, message: string, details?: StatusDetails): KubeStatus {
  const s: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code };
  if (reason) s.reason = reason;
  if (details) s.details = details;
  // Keep the field order of the apiserver: ..., message, reason, details, code
  const { code: c, ...rest } = s;
  return { ...rest, code: c };
}

export interface GR { group: string; resource: string }
const qualified = (gr: GR): string => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);
const grDetails = (gr: GR, name?: string): StatusDetails => ({ ...(name ? { name } : {}), ...(gr.group ? { group: gr.group } : {}), kind: gr.resource });

export const notFound = (gr: GR, name: string): KubeStatus =>
  failure(404, 'NotFound', `${qualified(gr)} "${name}" not found`, grDetails(gr, name));

export const pathNotFound = (): KubeStatus =>
  failure(404, 'NotFound', 'the server could not find the requested resource', {});

export const alreadyExists = (gr: GR, name: string): KubeStatus =>
  failure(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, grDetails(gr, name));

export const conflict = (gr: GR, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): KubeStatus =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, grDetails(gr, name));

export const unauthorized = (): KubeStatus => failure(401, 'Unauthorized', 'Unauthorized');

export function forbidden(user: string, verb: string, gr: GR, subresource: string, namespace: string, name: string): KubeStatus {
  const res = subresource ? `${gr.resource}/${subresource}` : gr.resource;
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  const subject = name ? `${qualified(gr)} "${name}"` : qualified(gr);
  return failure(403, 'Forbidden', `${subject} is forbidden: User "${user}" cannot ${verb} resource "${res}" in API group "${gr.group}" ${scope}`, grDetails(gr, name));
}

export const forbiddenPath = (user: string, verb: string, path: string): KubeStatus =>
  failure(403, 'Forbidden', `forbidden: User "${user}" cannot ${verb} path "${path}"`, {});

/** `Kind.group "name" is invalid: ...` with one cause per field error. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): KubeStatus {
  const q = group ? `${kind}.${group}` : kind;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const msg = parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
  return failure(422, 'Invalid', `${q} "${name}" is invalid: ${msg}`, { ...(name ? { name } : {}), ...(group ? { group } : {}), kind, causes });
}

export const badRequest = (message: string): KubeStatus => failure(400, 'BadRequest', message);
export const methodNotSupported = (gr: GR, verb: string): KubeStatus =>
  failure(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${qualified(gr)}"`, grDetails(gr));
export const unsupportedMediaType = (): KubeStatus => failure(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});
export const notAcceptable = (): KubeStatus =>
  failure(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf');
export const expired = (message: string): KubeStatus => failure(410, 'Expired', message);
export const internalError = (message: string): KubeStatus =>
  failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });

export function success(gr: GR, name: string, uid: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...grDetails(gr, name), uid } };
}
