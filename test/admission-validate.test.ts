// The validating admission decision, on the 16 AdmissionReview bodies a real kube-apiserver v1.33 sent to a webhook
// (rewritten per case: who asks, which seb annotations the objects carry), against a real ledger (embedded PGlite)
// holding executions recorded through the ledger API. Every answer is the full AdmissionReview the API server gets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../ledger/open.ts';
import type { Execution, Ledger } from '../ledger/types.ts';
import { validateReview, type ValidateReviewDeps } from '../admission/validate-review.ts';
import { disposePgliteTemplate, pristinePgliteDir } from './ledger/pglite-template.ts';
import { fixtureReview, jti, recordExecution, REVIEW_FILES, reviewFor, serviceAccountUser, stamped, type Json, type Stamp } from './helpers/admission.ts';

const NS = 'har-webhook';
const EXECUTOR = `system:serviceaccount:${NS}:seb-executor`;
const BROKER = 'system:serviceaccount:seb-system:seb';

let dir: string;
let ledger: Ledger;
let deps: ValidateReviewDeps;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'seb-admission-'));
  const opened = await openLedger({ dir: await pristinePgliteDir(dir), timeoutMs: 5_000, poolSize: 1 });
  if (!opened.ok) throw new Error(opened.error.message);
  ledger = opened.value;
  deps = { lookup: (id) => ledger.executionByCredential(id), now: () => Date.now() / 1000, brokerIdentities: [BROKER], decisionTimeoutMs: 5_000 };
});
afterAll(async () => {
  await ledger?.close();
  await rm(dir, { recursive: true, force: true });
  await disposePgliteTemplate();
});

interface Answer { status: number; response: Json; body: Json }
async function decide(review: unknown, d: ValidateReviewDeps = deps): Promise<Answer> {
  const out = await validateReview(review, d);
  const body = out.body as Json;
  return { status: out.status, response: body.response, body };
}

/** An executor identity with a recorded execution, as seb leaves it right before forwarding. */
async function executor(opts: { expiresAt?: number; principal?: string } = {}): Promise<{ execution: Execution; user: Json; stamp: Stamp }> {
  const credentialId = jti();
  const execution = await recordExecution(ledger, { principal: opts.principal ?? EXECUTOR, credentialId, ...(opts.expiresAt !== undefined ? { expiresAt: opts.expiresAt } : {}) });
  return { execution, user: serviceAccountUser(NS, 'seb-executor', credentialId), stamp: { cid: execution.cid, nonce: execution.nonce } };
}

const kindOf = (file: string): { op: string; sub: boolean; body: boolean } => {
  const r = fixtureReview(file).request;
  return { op: r.operation, sub: !!r.subResource, body: !!r.object };
};
const STAMPABLE = REVIEW_FILES.filter((f) => { const k = kindOf(f); return k.body && !k.sub; });
const CREDENTIAL_ONLY = REVIEW_FILES.filter((f) => !STAMPABLE.includes(f));

describe('the recorded reviews', () => {
  it('are the 16 files of the recording, covering CREATE, UPDATE (patch, replace, apply, label), scale, dry run and DELETE', () => {
    expect(REVIEW_FILES).toHaveLength(16);
    expect(STAMPABLE.map((f) => f.slice(17, 20))).toEqual(['001', '002', '003', '004', '005', '006', '007', '008', '009', '010', '011']);
    expect(CREDENTIAL_ONLY.map((f) => f.slice(17, 20))).toEqual(['012', '013', '014', '015', '016']);
  });
});

describe('denied: the change did not come from an executor identity seb minted', () => {
  it.each(REVIEW_FILES)('%s as recorded (user admin, system:masters, no credential id)', async (file) => {
    const review = fixtureReview(file);
    const { status, response, body } = await decide(review);
    expect(status).toBe(200);
    expect(body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(response.uid).toBe(review.request.uid);
    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    const r = review.request;
    const resource = `${r.resource.resource}${r.resource.group ? `.${r.resource.group}` : ''}${r.subResource ? `/${r.subResource}` : ''}`;
    expect(response.status.message).toBe(`seb denied this request (SEB_ADMISSION_UNBROKERED): ${r.operation} of ${resource} "${r.name}" in namespace ${NS} by user "admin": its credentials carry no credential id, so it is not an executor identity minted by seb; this namespace is protected and only seb's executor identities may change it. Send the change through seb with a SAB certificate for it.`);
    expect(response.auditAnnotations).toEqual({ decision: 'denied', code: 'SEB_ADMISSION_UNBROKERED' });
  });

  it('the agent\'s own ServiceAccount token: its credential id is not one seb minted for an execution', async () => {
    const id = jti();
    const { response } = await decide(reviewFor(REVIEW_FILES[1]!, { user: serviceAccountUser(NS, 'agent', id) }));
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain('(SEB_ADMISSION_UNBROKERED): UPDATE of deployments.apps "web" in namespace har-webhook by user "system:serviceaccount:har-webhook:agent"');
    expect(response.status.message).toContain(`credential ${id} was not minted by seb for any recorded execution`);
    expect(response.auditAnnotations).toEqual({ decision: 'denied', code: 'SEB_ADMISSION_UNBROKERED', 'credential-id': id });
  });

  it('a forged annotation with an unreserved nonce, from a token seb did not mint: refused on the credential', async () => {
    const forged = { cid: '0b6f3c1e-5d2a-4c8e-9f10-3a7b2c4d5e6f', nonce: 'bm90LWEtcmVzZXJ2ZWQtbm9uY2UtYXQtYWxs' };
    const { response } = await decide(reviewFor('admission-review-008-create-configmap-cfg.json', { user: serviceAccountUser(NS, 'agent', jti()), object: forged }));
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain('SEB_ADMISSION_UNBROKERED');
  });

  it('two credential ids cannot be tied to one execution', async () => {
    const user = serviceAccountUser(NS, 'seb-executor');
    user.extra = { 'authentication.kubernetes.io/credential-id': [jti(), jti()] };
    const { response } = await decide(reviewFor(REVIEW_FILES[0]!, { user }));
    expect(response.status.message).toContain('its credentials carry 2 credential ids');
  });
});

describe('allowed: an executor identity seb minted for a recorded execution', () => {
  it.each(STAMPABLE)('%s with the execution\'s seb.openkedge.io/cid and /nonce on the object', async (file) => {
    const { execution, user, stamp } = await executor();
    const review = reviewFor(file, { user, object: stamp });
    const { status, response } = await decide(review);
    expect(status).toBe(200);
    expect(response).toEqual({
      uid: review.request.uid, allowed: true,
      auditAnnotations: { decision: 'allowed', basis: 'attested', cid: execution.cid, principal: EXECUTOR },
    });
  });

  it.each(CREDENTIAL_ONLY)('%s (scale subresource or DELETE: no annotations to check) on the credential alone, and the answer says so', async (file) => {
    const { execution, user } = await executor();
    const review = reviewFor(file, { user });
    const { response } = await decide(review);
    expect(response.allowed).toBe(true);
    expect(response.warnings).toBeUndefined();
    expect(response.auditAnnotations).toMatchObject({ decision: 'allowed', basis: 'credential', cid: execution.cid, principal: EXECUTOR });
    expect(response.auditAnnotations.note).toMatch(kindOf(file).sub
      ? /^the scale subresource carries no attestation annotations; admitted on the executor credential of certificate /
      : /^DELETE carries no attestation annotations; admitted on the executor credential of certificate /);
  });

  it('server dry run (009) is decided like the real thing', async () => {
    const file = 'admission-review-009-create-configmap-cfg-dry-dryrun.json';
    expect(fixtureReview(file).request.dryRun).toBe(true);
    const { user, stamp } = await executor();
    expect((await decide(reviewFor(file, { user, object: stamp }))).response.allowed).toBe(true);
    expect((await decide(reviewFor(file, { user }))).response.status.message).toContain('SEB_ADMISSION_ATTESTATION_MISSING');
  });

  it('CONNECT pods/exec (PodExecOptions, as the API server sends it) on the credential alone', async () => {
    const { execution, user } = await executor();
    const review = fixtureReview(REVIEW_FILES[0]!);
    review.request = {
      ...review.request, kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'exec',
      requestKind: { group: '', version: 'v1', kind: 'PodExecOptions' }, requestResource: { group: '', version: 'v1', resource: 'pods' }, requestSubResource: 'exec',
      name: 'web-0', operation: 'CONNECT', userInfo: user,
      object: { kind: 'PodExecOptions', apiVersion: 'v1', stdout: true, stderr: true, container: 'web', command: ['sh'] }, oldObject: null, options: null,
    };
    const { response } = await decide(review);
    expect(response.allowed).toBe(true);
    expect(response.auditAnnotations).toMatchObject({ basis: 'credential', cid: execution.cid });
    const unminted = await decide({ ...review, request: { ...review.request, userInfo: serviceAccountUser(NS, 'agent', jti()) } });
    expect(unminted.response.status.message).toContain('(SEB_ADMISSION_UNBROKERED): CONNECT of pods/exec "web-0" in namespace har-webhook');
  });
});

describe('the known gap: updates seb cannot stamp (JSON patches) leave the annotations as they were', () => {
  it('annotations of an earlier execution, untouched: admitted on the credential, with a warning and an audit note', async () => {
    const earlier = await executor();
    const { execution, user } = await executor();
    const file = 'admission-review-003-update-deployment-web.json'; // kubectl patch --type json
    const { response } = await decide(reviewFor(file, { user, object: earlier.stamp, oldObject: earlier.stamp }));
    expect(response.allowed).toBe(true);
    expect(response.auditAnnotations).toMatchObject({ decision: 'allowed', basis: 'credential', cid: execution.cid });
    expect(response.auditAnnotations.note).toBe(`the update leaves the seb annotations as they were (a JSON patch or a write seb cannot stamp); admitted on the executor credential of certificate ${execution.cid}`);
    expect(response.warnings).toEqual([`seb: UPDATE of deployments.apps "web" in namespace har-webhook: ${response.auditAnnotations.note}`]);
  });

  it('no annotations before or after (the recorded objects as they are): the same', async () => {
    const { user } = await executor();
    const { response } = await decide(reviewFor('admission-review-011-update-configmap-cfg.json', { user }));
    expect(response.allowed).toBe(true);
    expect(response.warnings).toHaveLength(1);
  });

  it('an update that removes seb\'s annotations is not "untouched": denied as missing', async () => {
    const earlier = await executor();
    const { user } = await executor();
    const { response } = await decide(reviewFor('admission-review-002-update-deployment-web.json', { user, object: null, oldObject: earlier.stamp }));
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain('(SEB_ADMISSION_ATTESTATION_MISSING)');
    expect(response.status.message).toContain('Leave seb.openkedge.io/* annotations alone in JSON patches');
  });
});

describe('denied: an executor identity, but not for this change', () => {
  it('an expired execution', async () => {
    const { execution, user, stamp } = await executor({ expiresAt: Math.floor(Date.now() / 1000) - 1 });
    const { response } = await decide(reviewFor('admission-review-008-create-configmap-cfg.json', { user, object: stamp }));
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain(`(SEB_ADMISSION_EXPIRED): CREATE of configmaps "cfg" in namespace har-webhook by user "${EXECUTOR}": its credential was minted for certificate ${execution.cid}, whose execution expired at `);
    expect(response.status.message).toContain('Ask the SAB for a new certificate');
    expect(response.auditAnnotations).toEqual({ decision: 'denied', code: 'SEB_ADMISSION_EXPIRED', cid: execution.cid });
  });

  it('a principal mismatch: the credential was minted for another identity', async () => {
    const other = 'system:serviceaccount:shop:seb-executor';
    const { execution, user, stamp } = await executor({ principal: other });
    const { response } = await decide(reviewFor('admission-review-004-update-deployment-web.json', { user, object: stamp }));
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain(`(SEB_ADMISSION_PRINCIPAL_MISMATCH)`);
    expect(response.status.message).toContain(`was minted by seb for "${other}" (certificate ${execution.cid}), not for this user`);
  });

  it('forged annotations with an unreserved nonce on a create', async () => {
    const { execution, user } = await executor();
    const forged = { cid: execution.cid, nonce: 'dW5yZXNlcnZlZC1ub25jZS1mb3JnZWQtYnktYWdlbnQ' };
    const { response } = await decide(reviewFor('admission-review-001-create-deployment-web.json', { user, object: forged }));
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain('(SEB_ADMISSION_ATTESTATION_FORGED)');
    expect(response.status.message).toContain(`seb.openkedge.io/nonce="${forged.nonce}", but its credential belongs to certificate ${execution.cid} with another nonce:`);
  });

  it('forged annotations naming another certificate, set by an update', async () => {
    const { user } = await executor();
    const someoneElse = await executor();
    const { response } = await decide(reviewFor('admission-review-005-update-deployment-web.json', { user, object: someoneElse.stamp, oldObject: null }));
    expect(response.status.message).toContain('(SEB_ADMISSION_ATTESTATION_FORGED)');
    expect(response.status.message).toContain('with another cid and nonce: seb did not set these annotations');
  });

  it('a create without the annotations', async () => {
    const { user } = await executor();
    const { response } = await decide(reviewFor('admission-review-010-create-configmap-bad.json', { user, object: null }));
    expect(response.status.message).toContain('(SEB_ADMISSION_ATTESTATION_MISSING): CREATE of configmaps "bad"');
  });
});

describe('denied: the ledger cannot answer', () => {
  it('a closed ledger', async () => {
    const d = await mkdtemp(path.join(tmpdir(), 'seb-admission-closed-'));
    const opened = await openLedger({ dir: await pristinePgliteDir(d), timeoutMs: 2_000, poolSize: 1 });
    if (!opened.ok) throw new Error(opened.error.message);
    const { user, stamp } = await executor();
    await opened.value.close();
    const { response } = await decide(reviewFor('admission-review-008-create-configmap-cfg.json', { user, object: stamp }), { ...deps, lookup: (id) => opened.value.executionByCredential(id) });
    await rm(d, { recursive: true, force: true });
    expect(response.allowed).toBe(false);
    expect(response.status.message).toMatch(/^seb denied this request \(SEB_LEDGER_UNAVAILABLE\): CREATE of configmaps "cfg" in namespace har-webhook by user "system:serviceaccount:har-webhook:seb-executor": seb could not look up credential JTI=[0-9a-f-]+ in the ledger \(.+\), and refuses changes in protected namespaces it cannot verify\. Check the ledger/);
  });

  it('a ledger that does not answer within webhook.decisionTimeoutMs', async () => {
    const { user, stamp } = await executor();
    const { response } = await decide(reviewFor('admission-review-008-create-configmap-cfg.json', { user, object: stamp }), { ...deps, lookup: () => new Promise(() => undefined), decisionTimeoutMs: 50 });
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain('the ledger did not answer within 50 ms (webhook.decisionTimeoutMs)');
  });

  it('a lookup that throws', async () => {
    const { user } = await executor();
    const { response } = await decide(reviewFor(REVIEW_FILES[14]!, { user }), { ...deps, lookup: () => Promise.reject(new Error('connection reset')) });
    expect(response.status.message).toContain('(SEB_LEDGER_UNAVAILABLE)');
    expect(response.status.message).toContain('connection reset');
  });
});

describe('seb\'s own identity: only the housekeeping of minting', () => {
  const broker = { ...serviceAccountUser('seb-system', 'seb', jti()) };
  const secretCreate = (mutate: (o: Json) => void = () => undefined): Json => {
    const review = reviewFor('admission-review-008-create-configmap-cfg.json', { user: broker });
    const r = review.request;
    r.kind = r.requestKind = { group: '', version: 'v1', kind: 'Secret' };
    r.resource = r.requestResource = { group: '', version: 'v1', resource: 'secrets' };
    r.name = 'seb-exec-0b6f3c1e-1a2b3c4d';
    r.object = { kind: 'Secret', apiVersion: 'v1', metadata: { name: r.name, namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'seb' }, annotations: { 'seb.openkedge.io/cid': '0b6f3c1e-5d2a-4c8e-9f10-3a7b2c4d5e6f' } }, type: 'Opaque' };
    mutate(r.object);
    return review;
  };

  it('creating and deleting an empty per-execution Secret is allowed', async () => {
    const { response } = await decide(secretCreate());
    expect(response).toMatchObject({ allowed: true, auditAnnotations: { decision: 'allowed', basis: 'broker-housekeeping', housekeeping: 'per-execution-secret-create' } });
    const del = secretCreate();
    del.request.operation = 'DELETE';
    del.request.oldObject = del.request.object;
    del.request.object = null;
    expect((await decide(del)).response.auditAnnotations.housekeeping).toBe('per-execution-secret-delete');
  });

  it('a Secret with data, of another type or name, or anything else is denied like anyone\'s', async () => {
    for (const change of [(o: Json) => { o.data = { token: 'c2VjcmV0' }; }, (o: Json) => { o.type = 'kubernetes.io/service-account-token'; }, (o: Json) => { o.metadata.name = 'app-credentials'; }, (o: Json) => { delete o.metadata.labels; }]) {
      const { response } = await decide(secretCreate(change));
      expect(response.allowed).toBe(false);
      expect(response.status.message).toContain('This is seb\'s own identity (webhook.brokerIdentities)');
    }
    const { response } = await decide(reviewFor('admission-review-008-create-configmap-cfg.json', { user: broker }));
    expect(response.status.message).toContain('(SEB_ADMISSION_UNBROKERED)');
  });

  const tokenRequest = (boundObjectRef: Json): Json => {
    const review = reviewFor('admission-review-008-create-configmap-cfg.json', { user: broker });
    const r = review.request;
    r.kind = r.requestKind = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
    r.resource = r.requestResource = { group: '', version: 'v1', resource: 'serviceaccounts' };
    r.subResource = r.requestSubResource = 'token';
    r.name = 'seb-executor';
    r.object = { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name: 'seb-executor', namespace: NS, creationTimestamp: null }, spec: { audiences: null, expirationSeconds: 600, boundObjectRef }, status: { token: '', expirationTimestamp: null } };
    return review;
  };

  it('requesting an executor token bound to a per-execution Secret is allowed; unbound or bound to anything else is not', async () => {
    const { response } = await decide(tokenRequest({ kind: 'Secret', apiVersion: 'v1', name: 'seb-exec-0b6f3c1e-1a2b3c4d', uid: 'u' }));
    expect(response).toMatchObject({ allowed: true, auditAnnotations: { basis: 'broker-housekeeping', housekeeping: 'executor-token' } });
    for (const ref of [null, { kind: 'Secret', apiVersion: 'v1', name: 'app-credentials' }, { kind: 'Pod', apiVersion: 'v1', name: 'seb-exec-0b6f3c1e-1a2b3c4d' }]) {
      const denied = await decide(tokenRequest(ref));
      expect(denied.response.allowed, JSON.stringify(ref)).toBe(false);
      expect(denied.response.status.message).toContain('(SEB_ADMISSION_UNBROKERED): CREATE of serviceaccounts/token "seb-executor"');
      expect(denied.response.status.message).toContain('request executor tokens bound to them');
    }
  });

  it('without the identity in webhook.brokerIdentities the same Secret is denied', async () => {
    const { response } = await decide(secretCreate(), { ...deps, brokerIdentities: [] });
    expect(response.allowed).toBe(false);
    expect(response.status.message).not.toContain('brokerIdentities');
  });
});

describe('malformed reviews: a clear error and a deny, never a crash', () => {
  const recorded = (): Json => fixtureReview(REVIEW_FILES[7]!);

  it.each([
    ['a string', 'not a review', /\(top level\): Invalid input: expected object, received string/],
    ['null', null, /\(top level\): Invalid input: expected object, received null/],
    ['an array', [1, 2], /\(top level\): Invalid input: expected object, received array/],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /request: Invalid input: expected object, received undefined/],
    ['another kind', { ...recorded(), kind: 'Status', request: { userInfo: {} } }, /kind: Invalid input: expected "AdmissionReview"/],
  ])('%s: 400 with a Status the API server quotes', async (_name, body, message) => {
    const { status, body: answer } = await decide(body);
    expect(status).toBe(400);
    expect(answer).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'BadRequest', code: 400 });
    expect(answer.message).toMatch(/^seb webhook \(SEB_ADMISSION_MALFORMED\): the AdmissionReview cannot be read, so the request is denied: /);
    expect(answer.message).toMatch(message);
  });

  it('admission.k8s.io/v1beta1: told to set admissionReviewVersions', async () => {
    const { status, body } = await decide({ ...recorded(), apiVersion: 'admission.k8s.io/v1beta1' });
    expect(status).toBe(200); // the uid is readable, so the answer is a denial the API server reports
    expect(body.response.status.message).toContain('seb speaks admission.k8s.io/v1 only: set admissionReviewVersions: ["v1"] in the webhook configuration');
  });

  const withRequest = (change: (r: Json) => void): Json => {
    const review = recorded();
    change(review.request);
    return review;
  };
  it.each([
    ['no userInfo', (r: Json) => { delete r.userInfo; }, 'request.userInfo: Invalid input: expected object, received undefined'],
    ['an unknown operation', (r: Json) => { r.operation = 'PATCH'; }, 'request.operation: Invalid option: expected one of "CREATE"|"UPDATE"|"DELETE"|"CONNECT"'],
    ['an unknown field', (r: Json) => { r.patchType = 'JSONPatch'; }, 'request: unknown field "patchType"'],
    ['a credential id that is not a list', (r: Json) => { r.userInfo.extra = { 'authentication.kubernetes.io/credential-id': 'JTI=x' }; }, 'request.userInfo.extra.authentication.kubernetes.io/credential-id: Invalid input: expected array, received string'],
    ['annotations that are not strings', (r: Json) => { r.object.metadata.annotations = { 'seb.openkedge.io/cid': 7 }; }, 'request.object.metadata.annotations.seb.openkedge.io/cid: Invalid input: expected string, received number'],
  ])('%s: denied with the uid echoed and the field named', async (_name, change, field) => {
    const review = withRequest(change);
    const { status, response } = await decide(review);
    expect(status).toBe(200);
    expect(response).toMatchObject({ uid: review.request.uid, allowed: false, status: { code: 400, reason: 'BadRequest' }, auditAnnotations: { decision: 'denied', code: 'SEB_ADMISSION_MALFORMED' } });
    expect(response.status.message).toContain(`seb denied this request (SEB_ADMISSION_MALFORMED): the AdmissionReview cannot be read, so the request is denied: ${field}`);
  });

  it('every recorded review with one field made wrong is still answered (no throw), and never allowed', async () => {
    const { user, stamp } = await executor();
    for (const file of REVIEW_FILES) {
      const good = reviewFor(file, { user, object: stamp });
      for (const key of Object.keys(good.request)) {
        for (const bad of [null, 42, 'x', [], {}]) {
          const review = structuredClone(good);
          review.request[key] = bad;
          const { status, body } = await decide(review);
          expect([200, 400]).toContain(status);
          if (status === 200 && body.response.allowed) {
            // Only fields the decision does not rest on may take such values (and then the review is still valid).
            expect(['object', 'oldObject', 'options', 'name', 'requestSubResource', 'subResource', 'namespace', 'uid'].includes(key), `${file} ${key}=${JSON.stringify(bad)}`).toBe(true);
          }
        }
      }
    }
  });
});

describe('stamped()', () => {
  it('sets and removes only seb\'s annotations', () => {
    const o = { metadata: { annotations: { keep: 'me' } } };
    expect(stamped(o, { cid: 'c', nonce: 'n' }).metadata.annotations).toEqual({ keep: 'me', 'seb.openkedge.io/cid': 'c', 'seb.openkedge.io/nonce': 'n' });
    expect(stamped(stamped(o, { cid: 'c', nonce: 'n' }), undefined).metadata.annotations).toEqual({ keep: 'me' });
  });
});

describe('protecting a namespace', () => {
  const PROTECTED = 'seb.openkedge.io/protected';
  const namespaceReview = (oldLabels: Record<string, string> | null, newLabels: Record<string, string> | null, user?: Json, operation = 'UPDATE') => {
    const base = fixtureReview(REVIEW_FILES[0]!);
    const ns = (labels: Record<string, string> | null) => (labels ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels } } : null);
    return {
      ...base,
      request: {
        ...base.request, kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' },
        requestKind: { group: '', version: 'v1', kind: 'Namespace' }, requestResource: { group: '', version: 'v1', resource: 'namespaces' },
        name: NS, namespace: NS, operation, object: ns(newLabels), oldObject: ns(oldLabels), ...(user ? { userInfo: user } : {}),
      },
    };
  };

  it('an administrator adds the protect label to an unprotected namespace: admitted (the API server sends it because the new object is labelled)', async () => {
    for (const old of [{}, { [PROTECTED]: 'false' }, { [PROTECTED]: 'True' }] as Array<Record<string, string>>) {
      const { response } = await decide(namespaceReview(old, { ...old, [PROTECTED]: 'true' }));
      expect(response.allowed, JSON.stringify(old)).toBe(true);
      expect(response.auditAnnotations).toEqual({ decision: 'allowed', basis: 'protecting-namespace' });
    }
  });

  it('only old-without, new-with "true" is protecting: an update that does not protect is decided like any change', async () => {
    for (const [old, now] of [[{}, {}], [{}, { [PROTECTED]: 'yes' }], [{ [PROTECTED]: 'false' }, { [PROTECTED]: 'false', team: 'x' }]] as Array<[Record<string, string>, Record<string, string>]>) {
      const { response } = await decide(namespaceReview(old, now));
      expect(response.allowed, `${JSON.stringify(old)} -> ${JSON.stringify(now)}`).toBe(false);
      expect(response.status.message).toContain('(SEB_ADMISSION_UNBROKERED)');
    }
  });

  it('removing the label, changing it, relabelling or deleting a protected namespace: denied, and the message names the break-glass', async () => {
    const cases: Array<[Record<string, string> | null, string]> = [[{}, 'UPDATE'], [{ [PROTECTED]: 'false' }, 'UPDATE'], [{ [PROTECTED]: 'true', team: 'x' }, 'UPDATE'], [null, 'DELETE']];
    for (const [labels, operation] of cases) {
      const { response } = await decide(namespaceReview({ [PROTECTED]: 'true' }, labels, undefined, operation));
      expect(response.allowed, JSON.stringify(labels)).toBe(false);
      expect(response.status.message).toContain(`(SEB_ADMISSION_UNBROKERED): ${operation} of namespaces "${NS}" in namespace ${NS} by user "admin"`);
      expect(response.status.message).toContain('removing its seb.openkedge.io/protected label, changing or deleting it is refused like any change; the break-glass is a cluster administrator deleting the ValidatingWebhookConfiguration seb-validator');
    }
  });

  it('the agent removing the label with its own token, or seb\'s own identity: denied the same', async () => {
    for (const user of [serviceAccountUser(NS, 'agent', jti()), serviceAccountUser('seb-system', 'seb', jti())]) {
      const { response } = await decide(namespaceReview({ [PROTECTED]: 'true' }, {}, user));
      expect(response.allowed).toBe(false);
      expect(response.status.message).toContain('(SEB_ADMISSION_UNBROKERED)');
    }
  });

  it('an executor of a recorded execution may change a protected namespace the way it changes anything (attested)', async () => {
    const { execution, user, stamp } = await executor();
    const review = namespaceReview({ [PROTECTED]: 'true' }, { [PROTECTED]: 'true', team: 'x' }, user);
    review.request.object = stamped(review.request.object, stamp);
    const { response } = await decide(review);
    expect(response).toMatchObject({ allowed: true, auditAnnotations: { basis: 'attested', cid: execution.cid } });
  });
});

describe('an executor credential is good for its one call', () => {
  it('once seb has recorded the execution\'s outcome, a later use of the credential is refused (SEB_ADMISSION_EXECUTION_FINISHED)', async () => {
    const { execution, user, stamp } = await executor();
    const review = reviewFor('admission-review-008-create-configmap-cfg.json', { user, object: stamp });
    expect((await decide(review)).response.allowed).toBe(true);
    expect((await ledger.finishExecution({ cid: execution.cid, nonce: execution.nonce, result: 'completed' })).ok).toBe(true);
    const looked = await ledger.executionByCredential(execution.credentialId!);
    expect(looked.ok && looked.value?.finished).toBe(true);
    const { response } = await decide(review);
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain(`(SEB_ADMISSION_EXECUTION_FINISHED): CREATE of configmaps "cfg" in namespace ${NS} by user "${EXECUTOR}": its credential was minted for certificate ${execution.cid}, whose execution has finished (seb recorded its outcome)`);
    expect(response.status.message).toContain('Ask the SAB for a new certificate');
    expect(response.auditAnnotations).toEqual({ decision: 'denied', code: 'SEB_ADMISSION_EXECUTION_FINISHED', cid: execution.cid });
    // The same for a subresource or a DELETE decided on the credential alone.
    expect((await decide(reviewFor(CREDENTIAL_ONLY[0]!, { user }))).response.status.message).toContain('(SEB_ADMISSION_EXECUTION_FINISHED)');
  });
});

describe('impersonation', () => {
  it('a credential id of a live execution without the uid a ServiceAccount token carries is impersonation: refused', async () => {
    const { execution, user, stamp } = await executor();
    const impersonated = { username: user.username, groups: user.groups, extra: user.extra }; // what Impersonate-User + Impersonate-Extra-* give
    const { response } = await decide(reviewFor('admission-review-008-create-configmap-cfg.json', { user: impersonated, object: stamp }));
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain(`(SEB_ADMISSION_IMPERSONATED): CREATE of configmaps "cfg" in namespace ${NS} by user "${EXECUTOR}": it claims credential ${execution.credentialId} of certificate ${execution.cid} without the uid`);
    expect(response.status.message).toContain('revoke it');
    expect(response.auditAnnotations).toEqual({ decision: 'denied', code: 'SEB_ADMISSION_IMPERSONATED', cid: execution.cid });
  });

  it('a credential id seb never minted, without a uid (a person\'s client certificate), stays unbrokered', async () => {
    const { response } = await decide(reviewFor(REVIEW_FILES[0]!, { user: { username: 'alice', groups: ['system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=abc'] } } }));
    expect(response.status.message).toContain('(SEB_ADMISSION_UNBROKERED)');
  });
});
