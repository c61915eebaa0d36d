// Validating admission webhooks against the recording (scenario 11, admission-webhook*.har): the real kubectl replays
// the recorded commands against the test server with a local HTTPS webhook; kubectl's output is compared with the
// transcript and every AdmissionReview the webhook receives with the recorded admission-review-NNN-*.json.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiServer } from '../kube-apiserver/index.ts';
import { FIXTURES, kubectl, request, tempDir, transcriptOutput, type RunResult } from './helpers.ts';
import { normalizeReview, startWebhook, type Webhook } from './webhook-helpers.ts';

let srv: KubeApiServer;
let wh: Webhook;
let dir: string;
const serviceAddress = new Map<string, string>();
const k = (args: string[], stdin?: string): Promise<RunResult> => kubectl(srv, srv.tokens.admin!, args, { dir, ...(stdin !== undefined ? { stdin } : {}) });
const input = (name: string): string => fs.readFileSync(path.join(FIXTURES, 'inputs', name), 'utf8');
const lines = (s: string): string[] => s.trim().split('\n').sort();
const W = ['-n', 'har-webhook'];

/** A recorded webhook configuration pointing at `url` (and trusting `caBundle`). */
function config(name: string, url: string, caBundle: string): string {
  const file = path.join(dir, `${name}-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, input(name).replace('https://127.0.0.1:18443/validate', url).replace(/caBundle: .*/, `caBundle: ${caBundle}`));
  return file;
}

beforeAll(async () => {
  [srv, wh] = await Promise.all([startKubeApiServer({ execPods: true, webhookServiceAddress: (svc) => serviceAddress.get(`${svc.namespace}/${svc.name}:${svc.port}`) }), startWebhook()]);
  dir = tempDir('kube-admission-test-');
});
afterAll(async () => {
  await Promise.all([srv.close(), wh.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

// [command as in the transcript, kubectl arguments (or what the command does)]
type Step = [string, string[] | (() => Promise<RunResult>)];
const steps = (): Step[] => [
  ['kubectl create -f ns-webhook.yaml', ['create', '-f', path.join(FIXTURES, 'inputs/ns-webhook.yaml')]],
  ['kubectl create -f webhook-config.yaml', ['create', '-f', config('webhook-config.yaml', wh.url, wh.caBundle)]],
  ['kubectl -n har-webhook create deployment web --image=registry.k8s.io/pause:3.10 --replicas=1', [...W, 'create', 'deployment', 'web', '--image=registry.k8s.io/pause:3.10', '--replicas=1']],
  ['kubectl -n har-webhook scale deployment web --replicas=2', [...W, 'scale', 'deployment', 'web', '--replicas=2']],
  [`kubectl -n har-webhook patch deployment web --type merge -p '{"metadata":{"labels":{"tier":"frontend"}}}'`, [...W, 'patch', 'deployment', 'web', '--type', 'merge', '-p', '{"metadata":{"labels":{"tier":"frontend"}}}']],
  [`kubectl -n har-webhook patch deployment web --type json -p '[{"op":"replace","path":"/spec/replicas","value":3}]'`, [...W, 'patch', 'deployment', 'web', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/replicas","value":3}]']],
  [`kubectl -n har-webhook get deployment web -o json | jq '.spec.replicas=2' | kubectl replace -f -`, async () => {
    const d = JSON.parse((await k([...W, 'get', 'deployment', 'web', '-o', 'json'])).stdout);
    d.spec.replicas = 2;
    return k(['replace', '-f', '-'], JSON.stringify(d, null, 4));
  }],
  ['kubectl apply --server-side -f webhook-apply.yaml', ['apply', '--server-side', '-f', path.join(FIXTURES, 'inputs/webhook-apply.yaml')]],
  ['kubectl -n har-webhook label deployment web webhook-warn=true', [...W, 'label', 'deployment', 'web', 'webhook-warn=true']],
  ['kubectl -n har-webhook label deployment web webhook-deny=true', [...W, 'label', 'deployment', 'web', 'webhook-deny=true']],
  ['kubectl -n har-webhook create configmap cfg --from-literal=a=1', [...W, 'create', 'configmap', 'cfg', '--from-literal=a=1']],
  ['kubectl -n har-webhook create configmap cfg-dry --from-literal=a=1 --dry-run=server -o name', [...W, 'create', 'configmap', 'cfg-dry', '--from-literal=a=1', '--dry-run=server', '-o', 'name']],
  ['kubectl -n har-webhook create configmap bad --from-literal=deny=yes', [...W, 'create', 'configmap', 'bad', '--from-literal=deny=yes']],
  [`kubectl -n har-webhook patch configmap cfg --type merge -p '{"data":{"b":"2"}}'`, [...W, 'patch', 'configmap', 'cfg', '--type', 'merge', '-p', '{"data":{"b":"2"}}']],
  [`kubectl patch validatingwebhookconfiguration har-seb-validator --type json -p '[{"op":"replace","path":"/webhooks/0/rules/0/resources","value":["deployments","deployments/scale"]}]'`, ['patch', 'validatingwebhookconfiguration', 'har-seb-validator', '--type', 'json', '-p', '[{"op":"replace","path":"/webhooks/0/rules/0/resources","value":["deployments","deployments/scale"]}]']],
  ['kubectl -n har-webhook scale deployment web --replicas=3', [...W, 'scale', 'deployment', 'web', '--replicas=3']],
  ['kubectl -n har-webhook scale deployment web --replicas=20', [...W, 'scale', 'deployment', 'web', '--replicas=20']],
  [`curl -sS -X PATCH -H 'Content-Type: application/merge-patch+json' --data-binary '{"spec":{"replicas":1}}' $PROXY/apis/apps/v1/namespaces/har-webhook/deployments/web/scale`, async () => {
    const r = await request(srv, 'PATCH', '/apis/apps/v1/namespaces/har-webhook/deployments/web/scale', { token: srv.tokens.admin, headers: { 'Content-Type': 'application/merge-patch+json', 'User-Agent': 'curl/7.88.1' }, body: '{"spec":{"replicas":1}}' });
    return { code: 0, stdout: `HTTP ${r.status}`, stderr: '' };
  }],
  ['kubectl -n har-webhook delete configmap cfg', [...W, 'delete', 'configmap', 'cfg']],
  ['kubectl -n har-webhook delete deployment web', [...W, 'delete', 'deployment', 'web']],
];

describe('validating admission webhook (recorded scenario 11)', () => {
  it('kubectl prints what it printed against kube-apiserver: allowed, warned, denied with 403 / 400 / 422', async () => {
    for (const [cmd, args] of steps()) {
      const r = typeof args === 'function' ? await args() : await k(args);
      expect(lines(r.stdout + r.stderr), cmd).toEqual(lines(transcriptOutput('admission-webhook', cmd)));
    }
  });

  it('the webhook received the recorded AdmissionReviews (scale only once deployments/scale is in the rules)', () => {
    const files = fs.readdirSync(FIXTURES).filter((f) => /^admission-review-\d+/.test(f)).sort();
    expect(wh.reviews.map((r) => `${r.request.operation} ${r.request.kind.kind} ${r.request.name}`)).toEqual(files.map((f) => {
      const r = JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8')).request;
      return `${r.operation} ${r.kind.kind} ${r.name}`;
    }));
    files.forEach((f, i) => {
      expect(normalizeReview(wh.reviews[i]), f).toEqual(normalizeReview(JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8'))));
    });
    const first = wh.reviews[0]._http;
    expect(first.url).toBe('/validate?timeout=5s');
    expect(first.raw).toBe(`${JSON.stringify(JSON.parse(first.raw))}\n`);
    expect(first.headers).toMatchObject({ 'user-agent': 'kube-apiserver-admission', accept: 'application/json, */*', 'content-type': 'application/json', 'accept-encoding': 'gzip' });
  });

  it('webhook down: failurePolicy Fail gives the recorded 500, a list-replacing merge patch the recorded 422, Ignore lets requests through', async () => {
    await wh.close();
    const down = (s: string): string => s.replaceAll('18443', String(wh.port));
    for (const cmd of ['kubectl -n har-webhook create configmap while-down --from-literal=a=1', 'kubectl -n har-webhook create deployment web2 --image=registry.k8s.io/pause:3.10']) {
      const r = await k(cmd.split(' ').slice(1));
      expect(r.stderr.trim(), cmd).toBe(down(transcriptOutput('admission-webhook', cmd)));
    }
    const patch = `kubectl patch validatingwebhookconfiguration har-seb-validator --type merge -p '{"webhooks":[{"name":"workloads.validate.har.example","failurePolicy":"Ignore"}]}'`;
    const r = await k(['patch', 'validatingwebhookconfiguration', 'har-seb-validator', '--type', 'merge', '-p', '{"webhooks":[{"name":"workloads.validate.har.example","failurePolicy":"Ignore"}]}']);
    expect((r.stdout + r.stderr).trim()).toBe(transcriptOutput('admission-webhook', patch));
    const again = 'kubectl -n har-webhook create configmap while-down --from-literal=a=1';
    expect((await k(again.split(' ').slice(1))).stderr.trim()).toBe(down(transcriptOutput('admission-webhook', again, 1)));
    expect((await k(['delete', 'validatingwebhookconfiguration', 'har-seb-validator'])).code).toBe(0);
    expect((await k(['create', '-f', config('webhook-config-ignore.yaml', wh.url, wh.caBundle)])).code).toBe(0);
    for (const cmd of ['kubectl -n har-webhook create configmap while-down --from-literal=a=1', 'kubectl -n har-webhook create deployment web2 --image=registry.k8s.io/pause:3.10 --replicas=1', 'kubectl -n har-webhook scale deployment web2 --replicas=2']) {
      expect((await k(cmd.split(' ').slice(1))).stdout.trim(), cmd).toBe(transcriptOutput('admission-webhook', cmd, cmd.includes('while-down') ? 2 : 0));
    }
    expect((await k(['delete', 'validatingwebhookconfiguration', 'har-seb-validator'])).code).toBe(0);
  });
});

describe('webhook calls beyond the recording', () => {
  let hook: Webhook;
  beforeAll(async () => { hook = await startWebhook(); });
  afterAll(() => hook.close());
  const observer = (name: string, extra: string): string => {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: ${name}
webhooks:
- name: ${name}.validate.har.example
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    url: ${hook.url}
    caBundle: ${hook.caBundle}
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: har-demo
${extra}`);
    return file;
  };

  it('timeoutSeconds: a slow webhook fails the request (Fail: context deadline exceeded) or is skipped (Ignore)', async () => {
    expect((await k(['create', '-f', observer('slow', '  timeoutSeconds: 1\n  rules:\n  - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"]}\n')])).code).toBe(0);
    hook.delayMs = 1500;
    const fail = await k(['-n', 'har-demo', 'create', 'configmap', 'slow-1']);
    expect(fail.stderr.trim()).toBe(`error: failed to create configmap: Internal error occurred: failed calling webhook "slow.validate.har.example": failed to call webhook: Post "${hook.url}?timeout=1s": context deadline exceeded`);
    await k(['patch', 'validatingwebhookconfiguration', 'slow', '--type', 'json', '-p', '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]']);
    expect((await k(['-n', 'har-demo', 'create', 'configmap', 'slow-2'])).stdout).toBe('configmap/slow-2 created\n');
    hook.delayMs = 0;
    await k(['delete', 'validatingwebhookconfiguration', 'slow']);
  });

  it('ServiceAccount token: userInfo has the uid, groups and the credential-id extra; CONNECT pods/exec is admitted before the upgrade', async () => {
    expect((await k(['create', '-f', observer('observe', '  rules:\n  - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"]}\n  - {apiGroups: [""], apiVersions: ["v1"], operations: ["CONNECT"], resources: ["pods/exec"]}\n')])).code).toBe(0);
    hook.reviews.length = 0;
    const ex = await kubectl(srv, srv.tokens.executor!, ['-n', 'har-demo', 'create', 'configmap', 'by-executor'], { dir });
    expect(ex.stdout).toBe('configmap/by-executor created\n');
    const claims = JSON.parse(Buffer.from(srv.tokens.executor!.split('.')[1]!, 'base64url').toString());
    expect(hook.reviews[0].request.userInfo).toEqual({
      username: 'system:serviceaccount:har-demo:executor', uid: claims['kubernetes.io'].serviceaccount.uid,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:har-demo', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] },
    });
    expect((await k(['-n', 'har-demo', 'run', 'shell', '--image=registry.k8s.io/pause:3.10'])).code).toBe(0);
    hook.reviews.length = 0;
    const denied = await k(['-n', 'har-demo', 'exec', 'shell', '--', 'echo', 'hi']);
    expect(denied.stderr).toBe('Error from server (Forbidden): admission webhook "observe.validate.har.example" denied the request: exec must go through the broker\n');
    // kubectl tried the WebSocket (GET) and then SPDY (POST): both were admitted as CONNECT and denied.
    expect(hook.reviews).toHaveLength(2);
    const { uid: _uid, userInfo: _u, ...req } = hook.reviews[0].request;
    expect(req).toEqual({
      kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'exec',
      requestKind: { group: '', version: 'v1', kind: 'PodExecOptions' }, requestResource: { group: '', version: 'v1', resource: 'pods' }, requestSubResource: 'exec',
      name: 'shell', namespace: 'har-demo', operation: 'CONNECT',
      object: { kind: 'PodExecOptions', apiVersion: 'v1', stdout: true, stderr: true, container: 'shell', command: ['echo', 'hi'] },
      oldObject: null, dryRun: false, options: null,
    });
    await k(['delete', 'validatingwebhookconfiguration', 'observe']);
    expect((await k(['-n', 'har-demo', 'exec', 'shell', '--', 'echo', 'hi'])).stdout).toBe('hi\n');
  });

  it('clientConfig.service: the Service must exist; the call goes to https://NAME.NAMESPACE.svc:PORT/PATH', async () => {
    const svcHook = await startWebhook(() => ({ allowed: false, status: { message: 'seen through the service' } }), ['validator.har-demo.svc']);
    try {
      const file = observer('by-service', '  rules:\n  - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["secrets"]}\n');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/    url: .*\n    caBundle: .*\n/, `    service: {namespace: har-demo, name: validator, path: /check, port: 8443}\n    caBundle: ${svcHook.caBundle}\n`));
      expect((await k(['create', '-f', file])).code).toBe(0);
      const missing = await k(['-n', 'har-demo', 'create', 'secret', 'generic', 's1']);
      expect(missing.stderr.trim()).toBe('error: failed to create secret Internal error occurred: failed calling webhook "by-service.validate.har.example": failed to call webhook: Post "https://validator.har-demo.svc:8443/check?timeout=10s": service "validator" not found');
      expect((await k(['-n', 'har-demo', 'create', 'service', 'clusterip', 'validator', '--tcp=8443'])).code).toBe(0);
      serviceAddress.set('har-demo/validator:8443', `127.0.0.1:${svcHook.port}`);
      const denied = await k(['-n', 'har-demo', 'create', 'secret', 'generic', 's1']);
      expect(denied.stderr.trim()).toBe('error: failed to create secret admission webhook "by-service.validate.har.example" denied the request: seen through the service');
      expect(svcHook.reviews[0]._http.url).toBe('/check?timeout=10s');
      expect(svcHook.reviews[0]._http.headers.host).toBe('validator.har-demo.svc:8443');
      await k(['delete', 'validatingwebhookconfiguration', 'by-service']);
    } finally { await svcHook.close(); }
  });
});
