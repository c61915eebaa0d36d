// @kubernetes/client-node 2.0.1 against the test server: reads, scale subresource, patch types, server-side
// apply, Watch, TokenRequest with a bound Secret (deleting the Secret makes the token fail).
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiServer } from '../kube-apiserver/index.ts';
import { request } from './helpers.ts';

let srv: KubeApiServer;
const ns = 'har-demo';
function config(token: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: srv.url, caData: Buffer.from(srv.caPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'test', token }], contexts: [{ name: 'test', cluster: 'test', user: 'test' }], currentContext: 'test',
  });
  return kc;
}
const deployment = (name: string, replicas = 2): k8s.V1Deployment => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] } } },
});

/** The ApiException of a call that must fail. */
const failure = (p: Promise<unknown>): Promise<k8s.ApiException<string>> =>
  p.then(() => { throw new Error('expected the call to fail'); }, (e: unknown) => e as k8s.ApiException<string>);

const AUTH_CACHE_MS = 1_000;
beforeAll(async () => { srv = await startKubeApiServer({ authCacheTtlMs: AUTH_CACHE_MS }); });
afterAll(async () => { await srv.close(); });

describe('@kubernetes/client-node against the test server', () => {
  it('creates, reads, lists by label and scales a deployment', async () => {
    const apps = config(srv.tokens.admin!).makeApiClient(k8s.AppsV1Api);
    const created = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web') });
    expect(created.metadata?.generation).toBe(1);
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    expect(d.spec?.template.spec?.containers[0]?.terminationMessagePolicy).toBe('File');
    const list = await apps.listNamespacedDeployment({ namespace: ns, labelSelector: 'app=web' });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['web']);
    const scale = await apps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 3 }] });
    expect(scale.spec?.replicas).toBe(3);
    const merged = await apps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { spec: { replicas: 4 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    expect(merged.spec?.replicas).toBe(4);
    const current = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: ns });
    const replaced = await apps.replaceNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { ...current, spec: { replicas: 2 } } });
    expect(replaced.spec?.replicas).toBe(2);
  });

  it('strategic merge patch merges containers by name; apply with force takes a field', async () => {
    const apps = config(srv.tokens.admin!).makeApiClient(k8s.AppsV1Api);
    const smp = await apps.patchNamespacedDeployment({ name: 'web', namespace: ns, fieldManager: 'seb-executor', body: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.36' }] } } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
    expect(smp.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['pause', 'sidecar']);
    const del = await apps.patchNamespacedDeployment({ name: 'web', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
    expect(del.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['pause']);
    const applied = await apps.patchNamespacedDeployment({ name: 'web', namespace: ns, fieldManager: 'seb-executor', force: true, body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns, labels: { 'managed-by': 'seb' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply));
    expect(applied.metadata?.labels).toEqual({ app: 'web', 'managed-by': 'seb' });
    expect(applied.metadata?.managedFields?.some((m) => m.manager === 'seb-executor' && m.operation === 'Apply')).toBe(true);
  });

  it('maps the recorded errors to ApiException (404, merge body with the json-patch default type -> 400)', async () => {
    const apps = config(srv.tokens.admin!).makeApiClient(k8s.AppsV1Api);
    const e404 = await failure(apps.readNamespacedDeployment({ name: 'does-not-exist', namespace: ns }));
    expect(e404.code).toBe(404);
    expect(JSON.parse(e404.body).message).toBe('deployments.apps "does-not-exist" not found');
    const e400 = await failure(apps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { spec: { replicas: 3 } } }));
    expect(e400.code).toBe(400);
    expect(JSON.parse(e400.body).message).toBe('error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp');
  });

  it('Watch streams MODIFIED events for scale changes and a BOOKMARK', async () => {
    const kc = config(srv.tokens.admin!);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const list = await apps.listNamespacedDeployment({ namespace: ns });
    const events: { type: string; replicas?: number; rv?: string }[] = [];
    let done: (e?: unknown) => void = () => {};
    const ended = new Promise((r) => { done = r; });
    const ctrl = await new k8s.Watch(kc).watch(`/apis/apps/v1/namespaces/${ns}/deployments`, { allowWatchBookmarks: true, resourceVersion: list.metadata?.resourceVersion, timeoutSeconds: 1 },
      (type: string, obj: k8s.V1Deployment) => events.push({ type, replicas: obj.spec?.replicas, rv: obj.metadata?.resourceVersion }), (err) => done(err));
    await apps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { spec: { replicas: 5 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await ended;
    ctrl.abort();
    expect(events.filter((e) => e.type === 'MODIFIED').map((e) => e.replicas)).toContain(5);
    expect(events.at(-1)?.type).toBe('BOOKMARK');
    const rvs = events.map((e) => Number(e.rv));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
  });

  it('TokenRequest: 600 s minimum, claims, and a Secret-bound token dies with its Secret', async () => {
    const kc = config(srv.tokens.admin!);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const short = await failure(core.createNamespacedServiceAccountToken({ name: 'executor', namespace: ns, body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 60 } } }));
    expect(short.code).toBe(422);
    expect(JSON.parse(short.body).message).toBe('TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes');
    const secret = await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'exec-binding' }, stringData: { purpose: 'token-binding' } } });
    const tr = await core.createNamespacedServiceAccountToken({ name: 'executor', namespace: ns, body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 600, boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 'exec-binding', uid: secret.metadata!.uid! } } } });
    const token = tr.status!.token!;
    const [h, p] = token.split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()));
    expect(h.alg).toBe('RS256');
    expect(p.iss).toBe('https://kubernetes.default.svc');
    expect(p.exp - p.iat).toBe(600);
    expect(p['kubernetes.io'].secret).toEqual({ name: 'exec-binding', uid: secret.metadata!.uid });
    expect(p.sub).toBe('system:serviceaccount:har-demo:executor');
    const authenticated = performance.now(); // the token's first use: the cache entry is made no earlier than this
    const scaled = await config(token).makeApiClient(k8s.AppsV1Api).patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { spec: { replicas: 2 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    expect(scaled.spec?.replicas).toBe(2);
    await core.deleteNamespacedSecret({ name: 'exec-binding', namespace: ns });
    // kube-apiserver caches successful token authentications (10 s; 1 s in this server): still valid right after
    // (checked only when the machine answered within the window, so a stalled test cannot flip it) ...
    const cached = (await request(srv, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`, { token })).status;
    if (performance.now() - authenticated < AUTH_CACHE_MS) expect(cached).toBe(200);
    await new Promise((r) => setTimeout(r, AUTH_CACHE_MS + 100)); // past any cache entry, even one the read renewed
    // ... and rejected once the cache entry expired.
    const gone = await request(srv, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`, { token });
    expect(gone.status).toBe(401);
    expect(gone.body).toBe('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n');
    expect(gone.headers['x-kubernetes-pf-flowschema-uid']).toBeUndefined();
  });

  it('a token for another audience, or never used before its Secret was deleted, fails at once', async () => {
    const aud = srv.createToken(ns, 'executor', { audiences: ['seb-broker'], expirationSeconds: 600 });
    expect((await request(srv, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`, { token: aud })).status).toBe(401);
    const core = config(srv.tokens.admin!).makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'exec-binding-2' }, stringData: { purpose: 'x' } } });
    const bound = srv.createToken(ns, 'executor', { expirationSeconds: 600, boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 'exec-binding-2' } });
    await core.deleteNamespacedSecret({ name: 'exec-binding-2', namespace: ns });
    expect((await request(srv, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`, { token: bound })).status).toBe(401);
  });
});
