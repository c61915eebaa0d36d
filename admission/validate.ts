// The validating decision. The webhook configuration's namespaceSelector sends seb every CREATE, UPDATE, DELETE and
// CONNECT in protected namespaces; each is denied unless the requesting user is an executor identity seb minted for a
// recorded execution:
//   1. the user's credential id (userInfo.extra["authentication.kubernetes.io/credential-id"], "JTI=..." for a
//      ServiceAccount token) names an execution in the ledger (seb records it before forwarding),
//   2. the user authenticated with that token, not by impersonation (a ServiceAccount token always carries its
//      ServiceAccount's uid; an Impersonate-Extra-... request without Impersonate-Uid carries none),
//   3. that execution has not expired, has not finished (seb recorded its outcome: the credential served its one
//      call), and was minted for this very user (its principal),
//   4. an object with a body carries seb.openkedge.io/cid and /nonce annotations equal to the execution's.
// A protected Namespace itself (the second webhook, selected on the old or the new object's label) is decided the
// same way: only an executor changes or deletes it. Adding the label to a namespace that does not carry it yet is
// the one change admitted from anyone (an administrator protecting a namespace).
// Known gap, decided deliberately: seb cannot stamp annotations into JSON patches or subresource writes (scale,
// eviction, exec ...), so a subresource, a DELETE (object null), a CONNECT, and an UPDATE that leaves the seb
// annotations exactly as they were are decided on the credential binding alone — and the answer says so in its
// audit annotations (and, for such UPDATEs, a warning). Annotations a request sets that are not its execution's are
// always a forgery.
import { sebError, type SebCode, type SebError } from '../errors/codes.ts';
import type { Execution, LedgerResult } from '../ledger/types.ts';
import { CID_ANNOTATION, NONCE_ANNOTATION } from '../platforms/kube/annotate.ts';
import { brokerHousekeeping } from './housekeeping.ts';
import { PROTECTED_LABEL } from './webhook-config.ts';
import type { AdmissionRequest, KubeObject } from './review.ts';

export const CREDENTIAL_ID_EXTRA = 'authentication.kubernetes.io/credential-id';

export type ExecutionLookup = (credentialId: string) => Promise<LedgerResult<Execution | undefined>>;

export interface ValidationDeps {
  /** The ledger's executionByCredential, bounded in time by the caller. */
  readonly lookup: ExecutionLookup;
  /** Seconds since the Unix epoch. */
  readonly now: () => number;
  /** seb's own identities, allowed the housekeeping of minting (housekeeping.ts). */
  readonly brokerIdentities: readonly string[];
}

/** How an allowed request was tied to its execution. */
export type AllowBasis = 'attested' | 'credential' | 'broker-housekeeping' | 'protecting-namespace';

export type ValidationDecision =
  | { readonly kind: 'allow'; readonly basis: AllowBasis; readonly execution?: Execution; readonly warnings: readonly string[]; readonly auditAnnotations: Readonly<Record<string, string>> }
  | { readonly kind: 'deny'; readonly error: SebError; readonly execution?: Execution; readonly auditAnnotations: Readonly<Record<string, string>> };

const THROUGH_SEB = 'Send the change through seb with a SAB certificate for it.';
const BREAK_GLASS = ` This is a protected Namespace: removing its ${PROTECTED_LABEL} label, changing or deleting it is refused like any change; the break-glass is a cluster administrator deleting the ValidatingWebhookConfiguration seb-validator (and the ValidatingAdmissionPolicyBinding seb-protected-namespaces where it is installed).`;

export async function decideValidation(req: AdmissionRequest, deps: ValidationDeps): Promise<ValidationDecision> {
  const who = `user ${JSON.stringify(req.userInfo.username ?? '')}`;
  const what = describeRequest(req);
  const deny = (code: SebCode, why: string, execution?: Execution, extra: Record<string, string> = {}): ValidationDecision => ({
    kind: 'deny',
    error: sebError(code, `${what} by ${who}: ${why}`),
    ...(execution ? { execution } : {}),
    auditAnnotations: { decision: 'denied', code, ...(execution ? { cid: execution.cid } : {}), ...extra },
  });

  // Protecting a namespace is an administrator's act on a namespace that is not protected yet: the old object lacks
  // the label and the new one has it "true". Removing the label, changing it, or any other change of a protected
  // Namespace is decided like every change below (executors only).
  const namespace = isNamespace(req);
  if (namespace && req.operation === 'UPDATE' && labelOf(req.oldObject, PROTECTED_LABEL) !== 'true' && labelOf(req.object, PROTECTED_LABEL) === 'true') {
    return { kind: 'allow', basis: 'protecting-namespace', warnings: [], auditAnnotations: { decision: 'allowed', basis: 'protecting-namespace' } };
  }
  const username = req.userInfo.username ?? '';
  if (deps.brokerIdentities.includes(username)) {
    const chore = brokerHousekeeping(req);
    if (chore) return { kind: 'allow', basis: 'broker-housekeeping', warnings: [], auditAnnotations: { decision: 'allowed', basis: 'broker-housekeeping', housekeeping: chore } };
  }

  const broker = (deps.brokerIdentities.includes(username)
    ? ' This is seb\'s own identity (webhook.brokerIdentities): in protected namespaces it may only create and delete its empty per-execution Secrets (seb-exec-*) and request executor tokens bound to them.'
    : '') + (namespace ? BREAK_GLASS : '');
  const ids = req.userInfo.extra?.[CREDENTIAL_ID_EXTRA] ?? [];
  if (ids.length !== 1 || !ids[0]) {
    const why = ids.length > 1 ? `its credentials carry ${ids.length} credential ids, so they cannot be tied to one execution` : 'its credentials carry no credential id, so it is not an executor identity minted by seb';
    return deny('SEB_ADMISSION_UNBROKERED', `${why}; this namespace is protected and only seb's executor identities may change it.${broker} ${THROUGH_SEB}`);
  }
  const credentialId = ids[0];

  let found: LedgerResult<Execution | undefined>;
  try {
    found = await deps.lookup(credentialId);
  } catch (err) {
    found = { ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', err instanceof Error ? err.message : String(err)) };
  }
  if (!found.ok) {
    return deny('SEB_LEDGER_UNAVAILABLE', `seb could not look up credential ${credentialId} in the ledger (${found.error.message}), and refuses changes in protected namespaces it cannot verify. Check the ledger (ledger.databaseUrl) and retry once it answers.`);
  }
  const execution = found.value;
  if (!execution) {
    return deny('SEB_ADMISSION_UNBROKERED', `credential ${credentialId} was not minted by seb for any recorded execution (an agent's or person's own token, or a token minted outside seb); this namespace is protected and only seb's executor identities may change it.${broker} ${THROUGH_SEB}`, undefined, { 'credential-id': credentialId });
  }
  const cert = `certificate ${execution.cid}`;
  if (!req.userInfo.uid) {
    return deny('SEB_ADMISSION_IMPERSONATED', `it claims credential ${credentialId} of ${cert} without the uid every ServiceAccount token authenticates with: the user is impersonated (Impersonate-User with Impersonate-Extra-authentication.kubernetes.io%2fcredential-id), not presenting the token seb minted. Find who holds impersonate on userextras/authentication.kubernetes.io/credential-id and revoke it.`, execution);
  }
  if (deps.now() >= execution.expiresAt) {
    return deny('SEB_ADMISSION_EXPIRED', `its credential was minted for ${cert}, whose execution expired at ${new Date(execution.expiresAt * 1000).toISOString()}. Ask the SAB for a new certificate and send the change through seb again.`, execution);
  }
  if (execution.finished === true) {
    return deny('SEB_ADMISSION_EXECUTION_FINISHED', `its credential was minted for ${cert}, whose execution has finished (seb recorded its outcome): an executor credential serves the one call seb made with it, and a later use is a replay of a copied token. Ask the SAB for a new certificate and send the change through seb again.`, execution);
  }
  if (execution.principal !== username) {
    return deny('SEB_ADMISSION_PRINCIPAL_MISMATCH', `credential ${credentialId} was minted by seb for ${JSON.stringify(execution.principal)} (${cert}), not for this user. Check for impersonation (Impersonate-Extra-* headers) or an executor ServiceAccount that does not match kube.executorServiceAccount.`, execution);
  }

  const allowed = (basis: AllowBasis, note?: string, warning?: string): ValidationDecision => ({
    kind: 'allow', basis, execution,
    warnings: warning ? [warning] : [],
    auditAnnotations: { decision: 'allowed', basis, cid: execution.cid, principal: execution.principal, ...(note ? { note } : {}) },
  });

  if (req.operation === 'DELETE' || req.operation === 'CONNECT' || req.subResource || !req.object) {
    const kind = req.subResource ? `the ${req.subResource} subresource` : req.operation === 'DELETE' || req.operation === 'CONNECT' ? req.operation : 'a request without an object';
    return allowed('credential', `${kind} carries no attestation annotations; admitted on the executor credential of ${cert}`);
  }

  const stamped = attestation(req.object);
  if (stamped.cid === execution.cid && stamped.nonce === execution.nonce) return allowed('attested');
  if (req.operation === 'UPDATE' && req.oldObject && sameAttestation(stamped, attestation(req.oldObject))) {
    const note = `the update leaves the seb annotations as they were (a JSON patch or a write seb cannot stamp); admitted on the executor credential of ${cert}`;
    return allowed('credential', note, `seb: ${what}: ${note}`);
  }
  if (stamped.cid !== undefined || stamped.nonce !== undefined) {
    return deny('SEB_ADMISSION_ATTESTATION_FORGED', `the object is annotated ${CID_ANNOTATION}=${JSON.stringify(stamped.cid ?? '')}, ${NONCE_ANNOTATION}=${JSON.stringify(stamped.nonce ?? '')}, but its credential belongs to ${cert} with ${differs(stamped, execution)}: seb did not set these annotations for this execution, so they are refused as forged. Do not copy or edit seb.openkedge.io/* annotations. ${THROUGH_SEB}`, execution);
  }
  return deny('SEB_ADMISSION_ATTESTATION_MISSING', `the object lacks seb's attestation annotations (${CID_ANNOTATION}, ${NONCE_ANNOTATION}) for ${cert}, which seb stamps on every create, update and patch it forwards, and the request removes or never had them. Leave seb.openkedge.io/* annotations alone in JSON patches; if this recurs, the request did not reach the API server as seb forwarded it.`, execution);
}

interface Attestation { readonly cid: string | undefined; readonly nonce: string | undefined }

function attestation(o: KubeObject): Attestation {
  const a = o.metadata?.annotations ?? {};
  return { cid: a[CID_ANNOTATION], nonce: a[NONCE_ANNOTATION] };
}

function differs(a: Attestation, execution: Execution): string {
  const cid = a.cid !== execution.cid;
  const nonce = a.nonce !== execution.nonce;
  return cid && nonce ? 'another cid and nonce' : cid ? 'another cid' : 'another nonce';
}

const sameAttestation = (a: Attestation, b: Attestation): boolean => a.cid === b.cid && a.nonce === b.nonce;

/** "UPDATE of deployments.apps/scale "web" in namespace har-demo" */
export function describeRequest(req: AdmissionRequest): string {
  const r = req.resource;
  const resource = `${r.resource}${r.group ? `.${r.group}` : ''}${req.subResource ? `/${req.subResource}` : ''}`;
  const name = req.name || req.object?.metadata?.name || '';
  return `${req.operation} of ${resource}${name ? ` ${JSON.stringify(name)}` : ''}${req.namespace ? ` in namespace ${req.namespace}` : ''}`;
}

const isNamespace = (req: AdmissionRequest): boolean => req.resource.group === '' && req.resource.resource === 'namespaces';

function labelOf(object: KubeObject | null | undefined, name: string): string | undefined {
  const labels = (object as { metadata?: { labels?: Record<string, unknown> } } | null | undefined)?.metadata?.labels;
  const v = labels?.[name];
  return typeof v === 'string' ? v : undefined;
}
