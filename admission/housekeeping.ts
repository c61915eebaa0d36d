// The housekeeping seb's own identity does in protected namespaces to mint an executor (platforms/kube/mint.ts):
// create an empty Opaque Secret named seb-exec-* that the executor token is bound to, request the token, and delete
// the Secret after the call. Those requests come before the execution is on record, so they cannot be tied to it;
// they are recognised by their exact shape instead, and everything else seb's identity asks is decided like anyone
// else's. An empty Opaque Secret grants nothing; a token request must be bound to such a Secret (so the token dies
// with it, as mint.ts asks), and which ServiceAccounts' tokens seb may request is RBAC's business
// (serviceaccounts/token with resourceNames: the executor only).
import type { AdmissionRequest, KubeObject } from './review.ts';

const SECRET_PREFIX = 'seb-exec-';
const MANAGED_BY = 'app.kubernetes.io/managed-by';

/** Which chore this request is, or undefined when it is not one. */
export function brokerHousekeeping(req: AdmissionRequest): string | undefined {
  const core = req.resource.group === '' && req.resource.version === 'v1';
  if (!core) return undefined;
  if (req.resource.resource === 'serviceaccounts' && req.subResource === 'token') {
    return req.operation === 'CREATE' && req.kind.kind === 'TokenRequest' && req.object && boundToPerExecutionSecret(req.object) ? 'executor-token' : undefined;
  }
  if (req.resource.resource !== 'secrets' || req.subResource) return undefined;
  if (req.operation === 'CREATE' && req.object && isPerExecutionSecret(req.object) && isEmptyOpaque(req.object)) return 'per-execution-secret-create';
  if (req.operation === 'DELETE' && req.oldObject && isPerExecutionSecret(req.oldObject)) return 'per-execution-secret-delete';
  return undefined;
}

function isPerExecutionSecret(o: KubeObject): boolean {
  const name = o.metadata?.name ?? '';
  return name.startsWith(SECRET_PREFIX) && o.metadata?.labels?.[MANAGED_BY] === 'seb';
}

function isEmptyOpaque(o: KubeObject): boolean {
  const empty = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'object' && Object.keys(v as object).length === 0);
  return (o.type === undefined || o.type === 'Opaque') && empty(o.data) && empty(o.stringData);
}

/** A TokenRequest bound to a per-execution Secret (spec.boundObjectRef), as mint.ts requests it. */
function boundToPerExecutionSecret(o: KubeObject): boolean {
  const ref = (o as { spec?: { boundObjectRef?: { kind?: unknown; name?: unknown } | null } }).spec?.boundObjectRef;
  return ref?.kind === 'Secret' && typeof ref.name === 'string' && ref.name.startsWith(SECRET_PREFIX);
}
