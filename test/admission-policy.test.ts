// Two things the webhook's guarantee rests on, checked against the Kubernetes API test server:
// 1. How the API server selects what is sent to a webhook (the test server follows kube-apiserver's matchers): an
//    objectSelector matches when the old OR the new object matches, so removing a label is sent; a namespaceSelector
//    on a Namespace sees the new labels; matchConditions (CEL) skip the webhook when false and fail the request on
//    an error under failurePolicy Fail.
// 2. The ValidatingAdmissionPolicy alternative (manifests/kubernetes/admission-policy), applied as written: only the
//    namespace's executor changes a protected namespace or the Namespace itself (removing its label included); seb's
//    minting housekeeping, the exact control-plane identities and a node's writes for its Pods pass; nothing else.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { Agent, request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiServer } from './kube-apiserver/index.ts';
import { startWebhook, type Webhook } from './kube-apiserver-tests/webhook-helpers.ts';
import { CelError, evaluate } from './kube-apiserver/cel.ts';
import { controlPlaneExclusion, NAMESPACE_CONTROLLER_EXCLUSION, NAMESPACE_RULES, PROTECTED_LABEL } from '../admission/webhook-config.ts';
import { REPO_ROOT } from './helpers/run.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const NS = 'har-demo';
const MERGE = 'application/merge-patch+json';
const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

let kube: KubeApiServer;
let dispatcher: Agent;
let admin: string;
const call = async (method: string, p: string, token: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: Json }> => {
  const res = await request(`${kube.url}${p}`, {
    method: method as Dispatcher.HttpMethod, dispatcher,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': type } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, body: await res.body.json() };
};
const must = async (method: string, p: string, body?: unknown, type?: string): Promise<Json> => {
  const r = await call(method, p, admin, body, type);
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
const namespace = (name: string) => must('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const label = (name: string, value: string | null) => call('PATCH', `/api/v1/namespaces/${name}`, admin, { metadata: { labels: { [PROTECTED_LABEL]: value } } }, MERGE);

beforeAll(async () => {
  kube = await startKubeApiServer({ executors: ['seb-executor'] });
  dispatcher = new Agent({ connect: { ca: kube.caPem } });
  admin = kube.tokens.admin!;
});
afterAll(async () => {
  await dispatcher?.close();
  await kube?.close();
});

describe('the test server\'s CEL, on JSON as the API server hands it over', () => {
  const env = { request: { userInfo: { username: 'u', groups: ['a'] }, resource: { group: '', resource: 'pods' } }, object: { metadata: { labels: { k: 'v' } } }, oldObject: null };
  it.each([
    ["has(request.subResource)", false],
    ["has(request.subResource) ? request.subResource : ''", ''],
    ["'a' in request.userInfo.groups && 'k' in object.metadata.labels && !('x' in object.metadata.labels)", true],
    ["request.subResource == 'status' || request.userInfo.username == 'u'", true], // an error on one side, true on the other
    ["request.userInfo.username == 'x' && request.subResource == 'status'", false],
    ["oldObject == null && object.metadata.labels['k'] + '!' == 'v!'", true],
    ["size(request.userInfo.groups) == 1 && request.userInfo.username.startsWith('u')", true],
    ["request.userInfo.groups.exists(g, g == 'a') && [1, 2].all(x, x > 0)", true],
  ])('%s', (expression, value) => {
    expect(evaluate(expression, env)).toEqual(value);
  });
  it.each([
    ["request.subResource == ''", 'no such key: subResource'],
    ["request.subResource == '' || false", 'no such key: subResource'],
    ["oldObject.metadata", 'no such key: metadata (on a null)'],
    ["authorizer.group('')", "undeclared reference to 'authorizer'"],
    ["request.userInfo.username.lowerAscii()", "undeclared reference to 'lowerAscii'"],
    ["1 +", 'unexpected "" at 3'],
  ])('%s fails: %s', (expression, message) => {
    expect(() => evaluate(expression, env)).toThrow(CelError);
    expect(() => evaluate(expression, env)).toThrow(message);
  });
});

describe('what the API server sends to a webhook (the test server\'s matchers)', () => {
  let hook: Webhook;
  beforeAll(async () => {
    hook = await startWebhook(() => ({ allowed: true }));
    await namespace('sel-a');
    await namespace('sel-b');
  });
  afterAll(() => hook.close());
  const register = (name: string, webhook: Json) => must('POST', `${ADMISSION}/validatingwebhookconfigurations`, {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name },
    webhooks: [{ name: `${name}.observe.test`, admissionReviewVersions: ['v1'], sideEffects: 'None', clientConfig: { url: hook.url, caBundle: hook.caBundle }, ...webhook }],
  });
  const sent = async (action: () => Promise<unknown>): Promise<string[]> => {
    hook.reviews.length = 0;
    await action();
    return hook.reviews.map((r) => `${r.request.operation} ${r.request.resource.resource}${r.request.subResource ? `/${r.request.subResource}` : ''} ${r.request.name}`);
  };

  it('objectSelector on a Namespace UPDATE: the old or the new object may match, so adding and removing the label are both sent', async () => {
    await register('by-object', { objectSelector: { matchLabels: { [PROTECTED_LABEL]: 'true' } }, rules: [{ operations: ['UPDATE', 'DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], scope: 'Cluster' }] });
    expect(await sent(() => label('sel-a', 'true'))).toEqual(['UPDATE namespaces sel-a']);
    expect(await sent(() => call('PATCH', '/api/v1/namespaces/sel-a', admin, { metadata: { labels: { team: 'x' } } }, MERGE))).toEqual(['UPDATE namespaces sel-a']);
    expect(await sent(() => label('sel-a', null))).toEqual(['UPDATE namespaces sel-a']); // old object labelled
    expect(await sent(() => label('sel-a', 'false'))).toEqual([]); // neither
    await label('sel-b', 'true');
    expect(await sent(() => call('DELETE', '/api/v1/namespaces/sel-b', admin))).toEqual(['DELETE namespaces sel-b']); // object null, oldObject labelled
    await must('DELETE', `${ADMISSION}/validatingwebhookconfigurations/by-object`);
  });

  it('namespaceSelector on a Namespace UPDATE sees only the new labels: removing the label is NOT sent (the gap the objectSelector closes)', async () => {
    await namespace('sel-c');
    await register('by-namespace', { namespaceSelector: { matchLabels: { [PROTECTED_LABEL]: 'true' } }, rules: [{ operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], scope: 'Cluster' }] });
    expect(await sent(() => label('sel-c', 'true'))).toEqual(['UPDATE namespaces sel-c']);
    expect(await sent(() => label('sel-c', null))).toEqual([]);
    await must('DELETE', `${ADMISSION}/validatingwebhookconfigurations/by-namespace`);
  });

  it('an absent object (CREATE\'s oldObject) or one without metadata (PodExecOptions) never matches an objectSelector, even one an empty label set satisfies', async () => {
    await register('absent', { objectSelector: { matchExpressions: [{ key: 'keep-out', operator: 'DoesNotExist' }] }, rules: [{ operations: ['CREATE', 'CONNECT'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps', 'pods/exec'], scope: 'Namespaced' }] });
    expect(await sent(() => call('POST', `/api/v1/namespaces/${NS}/configmaps`, admin, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sel' } }))).toEqual(['CREATE configmaps sel']);
    expect(await sent(() => call('POST', `/api/v1/namespaces/${NS}/pods/nope/exec?command=sh&stdout=true`, admin))).toEqual([]);
    await must('DELETE', `${ADMISSION}/validatingwebhookconfigurations/absent`);
  });

  it('matchConditions: false skips the webhook; an evaluation error fails the request under Fail and skips the webhook under Ignore', async () => {
    const rules = [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], scope: 'Namespaced' }];
    await register('conditions', { rules, matchConditions: [{ name: 'not-admin', expression: "request.userInfo.username != 'admin'" }] });
    expect(await sent(() => call('POST', `/api/v1/namespaces/${NS}/configmaps`, admin, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' } }))).toEqual([]);
    expect(await sent(() => call('POST', `/api/v1/namespaces/${NS}/configmaps`, kube.tokens.executor!, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c2' } }))).toEqual(['CREATE configmaps c2']);
    await must('PATCH', `${ADMISSION}/validatingwebhookconfigurations/conditions`, [{ op: 'replace', path: '/webhooks/0/matchConditions/0/expression', value: "request.subResource == ''" }], 'application/json-patch+json');
    const failed = await call('POST', `/api/v1/namespaces/${NS}/configmaps`, admin, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c3' } });
    expect(failed.status).toBe(403);
    expect(failed.body.message).toBe('configmaps "c3" is forbidden: failed to evaluate match condition "not-admin": no such key: subResource');
    await must('PATCH', `${ADMISSION}/validatingwebhookconfigurations/conditions`, [{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' }], 'application/json-patch+json');
    expect(await sent(() => call('POST', `/api/v1/namespaces/${NS}/configmaps`, admin, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c4' } }))).toEqual([]);
    expect((await call('GET', `/api/v1/namespaces/${NS}/configmaps/c4`, admin)).status).toBe(200);
    await must('DELETE', `${ADMISSION}/validatingwebhookconfigurations/conditions`);
  });

  it('seb\'s control-plane exclusion, as CEL the test server evaluates: controllers and a node\'s own writes pass, nothing else', async () => {
    await register('exclusion', { rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'], scope: 'Namespaced' }], matchConditions: [controlPlaneExclusion()] });
    await must('POST', '/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'generic-garbage-collector' } });
    await must('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'exclusion-test' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'generic-garbage-collector', namespace: 'kube-system' }, { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'system:node:n1' }, { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'system:node:impostor' }],
    });
    const gc = kube.createToken('kube-system', 'generic-garbage-collector', { expirationSeconds: 3600 });
    const node = kube.addUser({ username: 'system:node:n1', groups: ['system:nodes'] });
    const notANode = kube.addUser({ username: 'system:node:impostor', groups: [] }); // the name without the group
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ex' }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } };
    expect(await sent(() => call('POST', `/api/v1/namespaces/${NS}/pods`, admin, pod))).toEqual(['CREATE pods ex']);
    expect(await sent(() => call('PATCH', `/api/v1/namespaces/${NS}/pods/ex/status`, node, { status: { phase: 'Running' } }, MERGE))).toEqual([]);
    expect(await sent(() => call('PATCH', `/api/v1/namespaces/${NS}/pods/ex/status`, notANode, { status: { phase: 'Running' } }, MERGE))).toEqual(['UPDATE pods/status ex']);
    expect(await sent(() => call('PATCH', `/api/v1/namespaces/${NS}/pods/ex`, node, { metadata: { labels: { a: 'b' } } }, MERGE))).toEqual(['UPDATE pods ex']);
    expect(await sent(() => call('POST', `/api/v1/namespaces/${NS}/serviceaccounts/agent/token`, node, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }))).toEqual([]);
    expect(await sent(() => call('POST', `/api/v1/namespaces/${NS}/serviceaccounts/agent/token`, admin, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }))).toEqual(['CREATE serviceaccounts/token agent']);
    expect(await sent(() => call('DELETE', `/api/v1/namespaces/${NS}/pods/ex`, gc))).toEqual([]);
    await must('DELETE', `${ADMISSION}/validatingwebhookconfigurations/exclusion`);
  });
});

describe('a controller\'s exemption is its own writes, with its own token', () => {
  let hook: Webhook;
  let tokens: Record<string, string>;
  const DEPLOY = `/apis/apps/v1/namespaces/${NS}/deployments/gc-web`;
  const impersonating = async (user: string, method: string, p: string, body: unknown, extra: Record<string, string> = {}) => {
    const res = await request(`${kube.url}${p}`, {
      method: method as Dispatcher.HttpMethod, dispatcher, body: JSON.stringify(body),
      headers: { authorization: `Bearer ${admin}`, 'content-type': MERGE, 'impersonate-user': user, ...extra },
    });
    return { status: res.statusCode, body: (await res.body.json()) as Json };
  };
  const sent = async (action: () => Promise<unknown>): Promise<string[]> => {
    hook.reviews.length = 0;
    await action();
    return hook.reviews.map((r) => `${r.request.operation} ${r.request.resource.resource}${r.request.subResource ? `/${r.request.subResource}` : ''} ${r.request.name} by ${r.request.userInfo.username}`);
  };
  const GC = 'system:serviceaccount:kube-system:generic-garbage-collector';
  const NSC = 'system:serviceaccount:kube-system:namespace-controller';
  const HPA = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';

  beforeAll(async () => {
    // The webhook denies whatever it is sent: what reaches it is what the exclusion lets through to seb.
    hook = await startWebhook(() => ({ allowed: false, status: { code: 403, reason: 'Forbidden', message: 'seb denied this request' } }));
    await namespace('ctl');
    expect((await label('ctl', 'true')).status).toBe(200); // before the webhook, which denies whatever it is sent
    await must('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gc-web', labels: { app: 'web' } }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] } } } });
    for (const sa of ['namespace-controller', 'horizontal-pod-autoscaler']) await must('POST', '/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } });
    await must('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'controllers-test' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: ['namespace-controller', 'horizontal-pod-autoscaler'].map((name) => ({ kind: 'ServiceAccount', name, namespace: 'kube-system' })),
    });
    tokens = {
      gc: kube.createToken('kube-system', 'generic-garbage-collector', { expirationSeconds: 3600 }),
      nsc: kube.createToken('kube-system', 'namespace-controller', { expirationSeconds: 3600 }),
      hpa: kube.createToken('kube-system', 'horizontal-pod-autoscaler', { expirationSeconds: 3600 }),
    };
    await must('POST', `${ADMISSION}/validatingwebhookconfigurations`, {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'controllers' },
      webhooks: [
        { name: 'controllers.observe.test', admissionReviewVersions: ['v1'], sideEffects: 'None', clientConfig: { url: hook.url, caBundle: hook.caBundle },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
          rules: [{ operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'], scope: 'Namespaced' }], matchConditions: [controlPlaneExclusion()] },
        { name: 'namespaces.observe.test', admissionReviewVersions: ['v1'], sideEffects: 'None', clientConfig: { url: hook.url, caBundle: hook.caBundle },
          objectSelector: { matchLabels: { [PROTECTED_LABEL]: 'true' } }, rules: structuredClone(NAMESPACE_RULES), matchConditions: [{ ...NAMESPACE_CONTROLLER_EXCLUSION }] },
      ],
    });
  });
  afterAll(async () => {
    await must('DELETE', `${ADMISSION}/validatingwebhookconfigurations/controllers`);
    await hook?.close();
  });

  it('an impersonated garbage collector (no uid) is sent to the webhook and denied, whatever it asks', async () => {
    const gcUpdate = () => impersonating(GC, 'PATCH', DEPLOY, { spec: { template: { spec: { containers: [{ name: 'web', image: 'evil.example/miner:1' }] } } } });
    expect(await sent(gcUpdate)).toEqual([`UPDATE deployments gc-web by ${GC}`]);
    const res = await gcUpdate();
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('seb denied this request');
    expect(await sent(() => impersonating(GC, 'DELETE', DEPLOY, {}))).toEqual([`DELETE deployments gc-web by ${GC}`]);
    expect(kube.getObject('apps', 'deployments', NS, 'gc-web')!.spec.template.spec.containers[0].image).toBe('registry.k8s.io/pause:3.10');
  });

  it('the garbage collector\'s own token: it orphans (ownerReferences only) without the webhook; a spec change or a label is sent', async () => {
    const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: '6d1f1a52-0c4e-4b8f-9a55-2f8c1f0e9b11' };
    expect(await sent(() => call('PATCH', DEPLOY, tokens.gc!, { metadata: { ownerReferences: [owner] } }, MERGE))).toEqual([]);
    expect(await sent(() => call('PATCH', DEPLOY, tokens.gc!, { metadata: { ownerReferences: null } }, MERGE))).toEqual([]);
    expect(await sent(() => call('PATCH', DEPLOY, tokens.gc!, { spec: { replicas: 7 } }, MERGE))).toEqual([`UPDATE deployments gc-web by ${GC}`]);
    expect(await sent(() => call('PATCH', DEPLOY, tokens.gc!, { metadata: { labels: { app: 'other' } } }, MERGE))).toEqual([`UPDATE deployments gc-web by ${GC}`]);
    expect(await sent(() => call('PATCH', `${DEPLOY}/scale`, tokens.gc!, { spec: { replicas: 7 } }, MERGE))).toEqual([`UPDATE deployments/scale gc-web by ${GC}`]);
  });

  it('the autoscaler scales (*/scale) without the webhook, with its own token only; anything else it asks is sent', async () => {
    expect(await sent(() => call('PATCH', `${DEPLOY}/scale`, tokens.hpa!, { spec: { replicas: 2 } }, MERGE))).toEqual([]);
    expect(await sent(() => impersonating(HPA, 'PATCH', `${DEPLOY}/scale`, { spec: { replicas: 3 } }))).toEqual([`UPDATE deployments/scale gc-web by ${HPA}`]);
    expect(await sent(() => call('PATCH', DEPLOY, tokens.hpa!, { spec: { replicas: 4 } }, MERGE))).toEqual([`UPDATE deployments gc-web by ${HPA}`]);
  });

  it('the namespace controller cannot remove the protect label, with its own token or impersonated', async () => {
    const removal = { metadata: { labels: { [PROTECTED_LABEL]: null } } };
    expect(await sent(() => call('PATCH', '/api/v1/namespaces/ctl', tokens.nsc!, removal, MERGE))).toEqual([`UPDATE namespaces ctl by ${NSC}`]);
    expect(await sent(() => impersonating(NSC, 'PATCH', '/api/v1/namespaces/ctl', removal))).toEqual([`UPDATE namespaces ctl by ${NSC}`]);
    expect(kube.getObject('', 'namespaces', '', 'ctl')!.metadata.labels[PROTECTED_LABEL]).toBe('true');
  });

  it('it finalizes only a Namespace already being deleted (the exclusion\'s CEL, as the test server evaluates it)', () => {
    const request = (operation: string, subResource?: string, uid?: string) => ({ operation, ...(subResource ? { subResource } : {}), userInfo: { username: NSC, ...(uid ? { uid } : {}), groups: ['system:serviceaccounts'] } });
    const ns = (deleting: boolean) => ({ metadata: { name: 'ctl', labels: { [PROTECTED_LABEL]: 'true' }, ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) } });
    const isSent = (req: Json, old: Json) => evaluate(NAMESPACE_CONTROLLER_EXCLUSION.expression, { request: req, object: old, oldObject: old });
    expect(isSent(request('UPDATE', 'finalize', 'u-1'), ns(true))).toBe(false);
    expect(isSent(request('UPDATE', 'status', 'u-1'), ns(true))).toBe(false);
    expect(isSent(request('DELETE', undefined, 'u-1'), ns(true))).toBe(false);
    expect(isSent(request('UPDATE', undefined, 'u-1'), ns(true))).toBe(true); // a label change, even while deleting
    expect(isSent(request('UPDATE', 'finalize', 'u-1'), ns(false))).toBe(true);
    expect(isSent(request('UPDATE', 'finalize'), ns(true))).toBe(true); // impersonated: no uid
    const kcm = { operation: 'UPDATE', userInfo: { username: 'system:kube-controller-manager', groups: ['system:authenticated'] } };
    expect(isSent(kcm, ns(false))).toBe(true);
    expect(isSent({ ...kcm, subResource: 'finalize' }, ns(true))).toBe(false);
  });
});

describe('the ValidatingAdmissionPolicy alternative, applied as written', () => {
  const POLICY_DENIED = "ValidatingAdmissionPolicy 'seb-executors-only' with binding 'seb-executors-only' denied request: seb (SEB_ADMISSION_UNBROKERED)";
  const NAMESPACE_DENIED = "ValidatingAdmissionPolicy 'seb-protected-namespaces' with binding 'seb-protected-namespaces' denied request: seb (SEB_ADMISSION_UNBROKERED)";
  const CM = `/api/v1/namespaces/${NS}/configmaps/settings`;
  let tokens: Record<string, string>;

  beforeAll(async () => {
    await namespace('seb-agents');
    await must('POST', '/api/v1/namespaces/seb-agents/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'agent' } });
    await must('POST', '/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'some-addon' } });
    await must('POST', '/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'replicaset-controller' } });
    // RBAC is not what is tested: everyone below may write as far as RBAC goes.
    await must('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'policy-test' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [
        { kind: 'ServiceAccount', name: 'agent', namespace: 'seb-agents' }, { kind: 'ServiceAccount', name: 'some-addon', namespace: 'kube-system' },
        { kind: 'ServiceAccount', name: 'replicaset-controller', namespace: 'kube-system' }, { kind: 'ServiceAccount', name: 'seb-executor', namespace: NS },
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'system:node:n2' },
      ],
    });
    await must('POST', `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'initial' } });
    await must('POST', `/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0' }, spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] } });
    const docs = YAML.parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'manifests/kubernetes/admission-policy/admission-policy.yaml'), 'utf8')).map((d) => d.toJSON() as Json);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'ValidatingAdmissionPolicy/seb-executors-only', 'ValidatingAdmissionPolicyBinding/seb-executors-only',
      'ValidatingAdmissionPolicy/seb-protected-namespaces', 'ValidatingAdmissionPolicyBinding/seb-protected-namespaces',
    ]);
    for (const d of docs) await must('POST', `${ADMISSION}/${d.kind === 'ValidatingAdmissionPolicy' ? 'validatingadmissionpolicies' : 'validatingadmissionpolicybindings'}`, d);
    expect((await label(NS, 'true')).status).toBe(200); // protecting: the Namespace was not protected before
    tokens = {
      executor: kube.tokens['seb-executor']!,
      broker: kube.createToken('seb-agents', 'agent', { expirationSeconds: 3600 }),
      addon: kube.createToken('kube-system', 'some-addon', { expirationSeconds: 3600 }),
      replicaset: kube.createToken('kube-system', 'replicaset-controller', { expirationSeconds: 3600 }),
      node: kube.addUser({ username: 'system:node:n2', groups: ['system:nodes'] }),
    };
  });

  it('an administrator\'s change in the protected namespace is refused; the namespace\'s executor\'s is not', async () => {
    const res = await call('PATCH', CM, admin, { data: { mode: 'admin' } }, MERGE);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ reason: 'Forbidden', code: 403 });
    expect(res.body.message).toBe(`configmaps "settings" is forbidden: ${POLICY_DENIED}: admin may not UPDATE configmaps in namespace ${NS}: the namespace is protected and only its seb executor identity may change it. Send the change through seb with a SAB certificate.`);
    expect((await call('PATCH', CM, tokens.executor!, { data: { mode: 'executor' } }, MERGE)).status).toBe(200);
  });

  it('removing the protect label, relabelling it or deleting the Namespace is refused (the binding\'s objectSelector sees the old object); adding it is not', async () => {
    for (const [method, body, type] of [
      ['PATCH', { metadata: { labels: { [PROTECTED_LABEL]: null } } }, MERGE],
      ['PATCH', { metadata: { labels: { [PROTECTED_LABEL]: 'false' } } }, MERGE],
      ['PATCH', [{ op: 'remove', path: '/metadata/labels/seb.openkedge.io~1protected' }], 'application/json-patch+json'],
    ] as const) {
      const res = await call(method, `/api/v1/namespaces/${NS}`, admin, body, type);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(res.body.message).toContain(`namespaces "${NS}" is forbidden: ${NAMESPACE_DENIED}: admin may not UPDATE the protected Namespace ${NS} (removing its seb.openkedge.io/protected label included)`);
      expect(res.body.message).toContain('Break-glass: a cluster administrator deletes the ValidatingAdmissionPolicyBinding seb-protected-namespaces');
    }
    expect((await call('DELETE', `/api/v1/namespaces/${NS}`, admin)).body.message).toContain(`${NAMESPACE_DENIED}: admin may not DELETE the protected Namespace ${NS}`);
    expect(kube.getObject('', 'namespaces', '', NS)!.metadata.labels[PROTECTED_LABEL]).toBe('true');
    await namespace('shop');
    expect((await label('shop', 'true')).status).toBe(200);
    expect((await label('shop', null)).status).toBe(403);
    // Still closed afterwards.
    expect((await call('PATCH', CM, admin, { data: { mode: 'after' } }, MERGE)).body.message).toContain(POLICY_DENIED);
  });

  it('seb\'s minting housekeeping passes: the empty per-execution Secret and a token bound to it; an unbound token or another Secret does not', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'seb-exec-0b6f3c1e-1a2b3c4d', labels: { 'app.kubernetes.io/managed-by': 'seb' } } };
    const created = await call('POST', `/api/v1/namespaces/${NS}/secrets`, tokens.broker!, secret);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const token = (boundObjectRef?: Json) => call('POST', `/api/v1/namespaces/${NS}/serviceaccounts/seb-executor/token`, tokens.broker!, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600, ...(boundObjectRef ? { boundObjectRef } : {}) } });
    expect((await token({ kind: 'Secret', apiVersion: 'v1', name: secret.metadata.name, uid: created.body.metadata.uid })).status).toBe(201);
    const unbound = await token();
    expect(unbound.status).toBe(403);
    expect(unbound.body.message).toContain(`${POLICY_DENIED}: system:serviceaccount:seb-agents:agent may not CREATE serviceaccounts/token in namespace ${NS}`);
    const other = await call('POST', `/api/v1/namespaces/${NS}/secrets`, tokens.broker!, { ...secret, metadata: { name: 'app-credentials' } });
    expect(other.status).toBe(403);
    expect((await call('DELETE', `/api/v1/namespaces/${NS}/secrets/${secret.metadata.name}`, tokens.broker!)).status).toBe(200);
  });

  it('the control plane passes by exact identity; another kube-system ServiceAccount, or a node writing anything but its Pods\' status, does not', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'rs-pod' }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } };
    expect((await call('POST', `/api/v1/namespaces/${NS}/pods`, tokens.replicaset!, pod)).status).toBe(201);
    const addon = await call('POST', `/api/v1/namespaces/${NS}/pods`, tokens.addon!, { ...pod, metadata: { name: 'addon-pod' } });
    expect(addon.body.message).toContain(`${POLICY_DENIED}: system:serviceaccount:kube-system:some-addon may not CREATE pods in namespace ${NS}`);
    expect((await call('PATCH', `/api/v1/namespaces/${NS}/pods/rs-pod/status`, tokens.node!, { status: { phase: 'Running' } }, MERGE)).status).toBe(200);
    expect((await call('PATCH', CM, tokens.node!, { data: { mode: 'node' } }, MERGE)).body.message).toContain(`${POLICY_DENIED}: system:node:n2 may not UPDATE configmaps`);
    const status = await call('PATCH', `/api/v1/namespaces/${NS}/pods/web-0/status`, admin, { status: { phase: 'Failed' } }, MERGE);
    expect(status.body.message).toContain(`${POLICY_DENIED}: admin may not UPDATE pods/status in namespace ${NS}`);
  });
});
