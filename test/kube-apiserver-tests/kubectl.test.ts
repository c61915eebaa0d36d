// The real kubectl (the machine's dispatcher picks kubectl 1.33.1 for a v1.33 server) against the test server:
// outputs are compared with what kubectl printed against the real kube-apiserver (transcripts/).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiServer } from '../kube-apiserver/index.ts';
import { FIXTURES, kubectl, tempDir, transcriptOutput } from './helpers.ts';

let srv: KubeApiServer;
let dir: string;
const admin = (...args: string[]) => kubectl(srv, srv.tokens.admin!, ['-n', 'har-demo', ...args], { dir });
const agent = (...args: string[]) => kubectl(srv, srv.tokens.agent!, ['-n', 'har-demo', ...args], { dir });
const input = (name: string): string => path.join(FIXTURES, 'inputs', name);

beforeAll(async () => {
  srv = await startKubeApiServer();
  dir = tempDir('kubectl-test-');
});
afterAll(async () => {
  await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('kubectl against the test server', () => {
  it('reports the recorded server version', async () => {
    const r = await admin('version', '-o', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).serverVersion.gitVersion).toBe('v1.33.5');
  });

  it('creates a deployment (protobuf body) and gets it as a table and as yaml', async () => {
    expect((await admin('create', 'deployment', 'web', '--image=registry.k8s.io/pause:3.10', '--replicas=2')).stdout).toBe('deployment.apps/web created\n');
    const table = await admin('get', 'deployment', 'web');
    expect(table.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+0\/2\s+2\s+0\s+\d+s\n$/);
    const y = await admin('get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].imagePullPolicy} {.spec.strategy.rollingUpdate.maxSurge} {.metadata.generation}');
    expect(y.stdout).toBe('IfNotPresent 25% 1');
    expect((await admin('get', 'deployments', '-l', 'app=web', '-o', 'name')).stdout).toBe('deployment.apps/web\n');
  });

  it('scales through the scale subresource', async () => {
    expect((await admin('scale', 'deploy', 'web', '--replicas=5')).stdout).toBe('deployment.apps/web scaled\n');
    expect((await admin('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}')).stdout).toBe('5');
    const bad = await admin('scale', 'deploy', 'web', '--current-replicas=99', '--replicas=4');
    expect(bad.stderr.trim()).toBe('error: Expected replicas to be 99, was 5');
  });

  it('applies merge, JSON and strategic merge patches, and label/annotate', async () => {
    expect((await admin('patch', 'deployment', 'web', '--type', 'merge', '-p', '{"metadata":{"labels":{"tier":"frontend"}},"spec":{"replicas":3}}')).stdout).toBe('deployment.apps/web patched\n');
    expect((await admin('patch', 'deployment', 'web', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/annotations/patched-by","value":"json-patch"}]')).code).toBe(0);
    expect((await admin('patch', 'deployment', 'web', '--type', 'strategic', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"pause","image":"registry.k8s.io/pause:3.9"}]}}}}')).code).toBe(0);
    expect((await admin('patch', 'deployment', 'web', '--type', 'merge', '-p', '{"spec":{"replicas":4}}')).stdout).toBe('deployment.apps/web patched (no change)\n');
    expect((await admin('label', 'deployment', 'web', 'env=dev')).stdout).toBe('deployment.apps/web labeled\n');
    expect((await admin('annotate', 'deployment', 'web', 'owner=team-a')).stdout).toBe('deployment.apps/web annotated\n');
    const r = await admin('get', 'deployment', 'web', '-o', 'jsonpath={.metadata.labels} {.metadata.annotations.patched-by} {.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].terminationMessagePath}');
    expect(r.stdout).toBe('{"app":"web","env":"dev","tier":"frontend"} json-patch 4 registry.k8s.io/pause:3.9 /dev/termination-log');
  });

  it('prints the recorded errors: failed json-patch test, invalid replicas, stale resourceVersion, bad patch', async () => {
    const cmds: [string, string[]][] = [
      [`kubectl -n har-demo patch deployment web --type json -p '[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":7}]'`, ['patch', 'deployment', 'web', '--type', 'json', '-p', '[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":7}]']],
      [`kubectl -n har-demo annotate deployment web owner=team-b --overwrite --resource-version=1`, ['annotate', 'deployment', 'web', 'owner=team-b', '--overwrite', '--resource-version=1']],
    ];
    for (const [recorded, args] of cmds) {
      const r = await admin(...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe(transcriptOutput('patch', recorded));
    }
    const neg = await admin('patch', 'deployment', 'web', '--type', 'merge', '-p', '{"spec":{"replicas":-1}}');
    expect(neg.stderr.trim()).toBe(transcriptOutput('errors-and-conflicts', `kubectl -n har-demo patch deployment web --type merge -p '{"spec":{"replicas":-1}}'`));
    const notJson = await admin('patch', 'deployment', 'web', '--type', 'merge', '-p', 'not json');
    expect(notJson.stderr.trim()).toBe(transcriptOutput('errors-and-conflicts', `kubectl -n har-demo patch deployment web --type merge -p 'not json'`));
    const invalid = await kubectl(srv, srv.tokens.admin!, ['create', '-f', input('invalid.yaml')], { dir });
    expect(invalid.stderr.trim()).toBe(transcriptOutput('errors-and-conflicts', 'kubectl create -f invalid.yaml'));
    const missing = await admin('get', 'deployment', 'does-not-exist');
    expect(missing.stderr.trim()).toBe(transcriptOutput('errors-and-conflicts', 'kubectl -n har-demo get deployment does-not-exist'));
    const noNs = await kubectl(srv, srv.tokens.admin!, ['-n', 'no-such-namespace', 'create', 'configmap', 'x', '--from-literal=a=b'], { dir });
    expect(noNs.stderr.trim()).toBe(transcriptOutput('errors-and-conflicts', 'kubectl -n no-such-namespace create configmap x --from-literal=a=b'));
  });

  it('server-side field validation: Strict -> 400 strict decoding error, Warn -> Warning header', async () => {
    const strict = await kubectl(srv, srv.tokens.admin!, ['create', '-f', input('unknown-field.yaml')], { dir });
    expect(strict.stderr.trim()).toBe(transcriptOutput('errors-and-conflicts', 'kubectl create -f unknown-field.yaml').replace('"unknown-field.yaml"', `"${input('unknown-field.yaml')}"`));
    const warn = await kubectl(srv, srv.tokens.admin!, ['create', '-f', input('unknown-field.yaml'), '--validate=warn', '--dry-run=server', '-o', 'name'], { dir });
    expect(`${warn.stderr}${warn.stdout}`.trim()).toBe(transcriptOutput('errors-and-conflicts', 'kubectl create -f unknown-field.yaml --validate=warn --dry-run=server -o name'));
  });

  it('replace with a stale resourceVersion gets 409 Conflict', async () => {
    const stale = (await admin('get', 'deploy', 'web', '-o', 'json')).stdout;
    const file = path.join(dir, 'web-stale.json');
    fs.writeFileSync(file, stale);
    expect((await admin('scale', 'deployment', 'web', '--replicas=2')).code).toBe(0);
    const r = await admin('replace', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`Error from server (Conflict): error when replacing "${file}": Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again`);
  });

  it('server-side apply: create, update, field-manager conflict, --force-conflicts', async () => {
    const run = (...a: string[]) => kubectl(srv, srv.tokens.admin!, a, { dir });
    expect((await run('apply', '--server-side', '-f', input('deploy.yaml'))).stdout).toBe('deployment.apps/api serverside-applied\n');
    expect((await run('apply', '--server-side', '-f', input('deploy-v2.yaml'))).stdout).toBe('deployment.apps/api serverside-applied\n');
    const c = await run('apply', '--server-side', '--field-manager=autoscaler-bot', '-f', input('deploy-other-manager.yaml'));
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('error: Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    expect((await run('apply', '--server-side', '--field-manager=autoscaler-bot', '--force-conflicts', '-f', input('deploy-other-manager.yaml'))).code).toBe(0);
    const back = await run('apply', '--server-side', '-f', input('deploy-v2.yaml'));
    expect(back.stderr).toContain('error: Apply failed with 1 conflict: conflict with "autoscaler-bot": .spec.replicas');
    const r = await admin('get', 'deployment', 'api', '-o', 'jsonpath={.spec.replicas} {.metadata.labels.tier}');
    expect(r.stdout).toBe('6 backend');
  });

  it('the agent (view) may read but not mutate: the recorded 403 messages', async () => {
    expect((await agent('get', 'deployment', 'web', '-o', 'name')).stdout).toBe('deployment.apps/web\n');
    const scale = await agent('scale', 'deployment', 'web', '--replicas=5');
    expect(scale.stderr.trim()).toBe(transcriptOutput('rbac-authn', 'kubectl --token="$AGENT_TOKEN" -n har-demo scale deployment web --replicas=5'));
    const patch = await agent('patch', 'deployment', 'web', '--type', 'merge', '-p', '{"spec":{"replicas":5}}');
    expect(patch.stderr.trim()).toBe(transcriptOutput('rbac-authn', `kubectl --token="$AGENT_TOKEN" -n har-demo patch deployment web --type merge -p '{"spec":{"replicas":5}}'`));
    expect((await agent('get', 'secrets')).stderr.trim()).toBe(transcriptOutput('rbac-authn', 'kubectl --token="$AGENT_TOKEN" -n har-demo get secrets'));
    const ns = await kubectl(srv, srv.tokens.agent!, ['get', 'namespaces'], { dir });
    expect(ns.stderr.trim()).toBe(transcriptOutput('rbac-authn', 'kubectl --token="$AGENT_TOKEN" get namespaces'));
    expect((await agent('auth', 'can-i', 'patch', 'deployments')).stdout.trim()).toBe('no');
    expect((await agent('auth', 'can-i', 'get', 'deployments')).stdout.trim()).toBe('yes');
  });

  it('auth whoami for a ServiceAccount token and for admin', async () => {
    const w = await agent('auth', 'whoami', '-o', 'json');
    const info = JSON.parse(w.stdout).status.userInfo;
    expect(info.username).toBe('system:serviceaccount:har-demo:agent');
    expect(info.groups).toEqual(['system:serviceaccounts', 'system:serviceaccounts:har-demo', 'system:authenticated']);
    expect(info.extra['authentication.kubernetes.io/credential-id'][0]).toMatch(/^JTI=[0-9a-f-]{36}$/);
    expect((await admin('auth', 'whoami')).stdout).toBe(`${transcriptOutput('rbac-authn', 'kubectl auth whoami')}\n`);
  });

  it('a bad token gets 401, which kubectl reports as not logged in', async () => {
    const r = await kubectl(srv, 'not-a-valid-token-0123456789', ['-n', 'har-demo', 'get', 'deployment', 'web'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(transcriptOutput('rbac-authn', 'kubectl --token="not-a-valid-token-0123456789" -n har-demo get deployment web'));
  });

  it('creates a token with kubectl create token and uses it', async () => {
    const t = await admin('create', 'token', 'executor', '--duration=10m');
    expect(t.code).toBe(0);
    const who = await kubectl(srv, t.stdout.trim(), ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { dir });
    expect(who.stdout).toBe('system:serviceaccount:har-demo:executor');
    const short = await admin('create', 'token', 'executor', '--duration=1m');
    expect(short.stderr.trim()).toBe(transcriptOutput('token-request', 'kubectl -n har-demo create token executor --duration=1m'));
  });

  it('deletes configmaps one by one and a namespace (Terminating, then gone)', async () => {
    for (const n of ['cm-a', 'cm-b']) expect((await admin('create', 'configmap', n, `--from-literal=k=${n}`)).code).toBe(0);
    const del = await admin('delete', 'configmap', 'cm-a', 'cm-b');
    expect(del.stdout).toBe('configmap "cm-a" deleted\nconfigmap "cm-b" deleted\n');
    expect((await admin('get', 'configmaps', '-o', 'name')).stdout).toBe('configmap/kube-root-ca.crt\n');
    expect((await kubectl(srv, srv.tokens.admin!, ['create', 'namespace', 'scratch'], { dir })).code).toBe(0);
    const nsDel = await kubectl(srv, srv.tokens.admin!, ['delete', 'namespace', 'scratch'], { dir });
    expect(nsDel.stdout).toBe('namespace "scratch" deleted\n');
    const gone = await kubectl(srv, srv.tokens.admin!, ['get', 'namespace', 'scratch'], { dir });
    expect(gone.stderr.trim()).toBe('Error from server (NotFound): namespaces "scratch" not found');
  });
});
