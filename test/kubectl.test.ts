// The real kubectl through seb's forward proxy (kubeconfig proxy-url), against the Kubernetes API test server:
// reads pass; a patch without a certificate is refused and kubectl prints seb's reason; with a staged
// certificate it executes once; a target changed since certification is refused as drift.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';
import { KUBE_HOST, startKubeWorld, type KubeWorld } from './helpers/kube-world.ts';
import { requireCommand } from './helpers/services.ts';
import { run, runSeb } from './helpers/run.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';

const skipReason = requireCommand('kubectl', 'kubectl');

describe.skipIf(skipReason !== undefined)('kubectl through seb', () => {
  let world: KubeWorld;
  let seb: TestSeb;
  let kubeconfig: string;

  beforeAll(async () => {
    world = await startKubeWorld();
    seb = await startTestSeb(world.sebConfig);
    // The agent's kubeconfig comes from `seb kubeconfig` (proxy mode); its token is the agent's own.
    kubeconfig = path.join(world.dir, 'kubeconfig');
    const tokenFile = path.join(world.dir, 'agent.token');
    await writeFile(tokenFile, world.kube.tokens.executor!);
    const made = await runSeb(['kubeconfig', '--state-dir', seb.stateDir, '--proxy-listen', seb.proxyUrl.replace('http://', ''), '--server', `https://${KUBE_HOST}`, '--namespace', 'har-demo', '--token-file', tokenFile, '--out', kubeconfig]);
    expect(made.code, made.stderr).toBe(0);
  });
  afterAll(async () => {
    await seb?.stop();
    await world?.close();
  });

  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { PATH: process.env.PATH, HOME: world.dir } });
  const stage = async (cert: string) => {
    const file = path.join(world.dir, `cert-${Math.random()}.txt`);
    await writeFile(file, cert);
    const out = await runSeb(['cert', 'stage', file, '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')]);
    expect(out.code, out.stderr).toBe(0);
  };

  it('reads pass', async () => {
    const out = await kubectl('get', 'configmap', 'settings', '-o', 'jsonpath={.data.mode}');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe('initial');
  });

  it('a patch without a certificate is refused, and kubectl says why', async () => {
    const out = await kubectl('patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"mode":"uncertified"}}');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/Error from server \(Forbidden\): seb denied this request \(SEB_CERT_MISSING\)/);
  });

  it('with a staged certificate the patch executes, once', async () => {
    await stage(await world.patchCertificate('certified'));
    const out = await kubectl('patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"mode":"certified"}}');
    expect(out.code, out.stderr).toBe(0);
    expect((await kubectl('get', 'configmap', 'settings', '-o', 'jsonpath={.data.mode}')).stdout).toBe('certified');
    const again = await kubectl('patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"mode":"certified"}}');
    expect(again.stderr).toContain('SEB_CERT_MISSING');
  });

  it('kubectl create (a protobuf body) is decoded: refused without a certificate, executed with one', async () => {
    const refused = await kubectl('create', 'configmap', 'made', '--from-literal=a=b');
    expect(refused.stderr).toContain('SEB_CERT_MISSING');
    await stage(world.sab.issue({
      platform: 'kube', operation: 'create', targets: [{ group: '', version: 'v1', resource: 'configmaps', namespace: 'har-demo', name: 'made' }],
      params: { body: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'made' }, data: { a: 'b' } }, query: { fieldManager: ['kubectl-create'], fieldValidation: ['Strict'] } },
      risk: 'low',
    }));
    const created = await kubectl('create', 'configmap', 'made', '--from-literal=a=b');
    expect(created.code, created.stderr).toBe(0);
    const annotations = JSON.parse((await kubectl('get', 'configmap', 'made', '-o', 'json')).stdout).metadata.annotations as Record<string, string>;
    expect(annotations['seb.openkedge.io/cid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('two staged certificates matching one request: refused, naming both', async () => {
    const [a, b] = [await world.patchCertificate('twice'), await world.patchCertificate('twice')];
    await stage(a);
    await stage(b);
    const out = await kubectl('patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"mode":"twice"}}');
    expect(out.stderr).toMatch(/SEB_CERT_AMBIGUOUS\): 2 staged certificates match this mutation \([0-9a-f-]{36}, [0-9a-f-]{36}\)/);
    const list = await runSeb(['cert', 'list', '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')]);
    for (const c of JSON.parse(list.stdout) as Array<{ cid: string }>) await runSeb(['cert', 'withdraw', c.cid, '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')]);
  });

  it('seb sab issue --observe certifies digests of the live state, read through the platform adapter', async () => {
    const contract = path.join(world.dir, 'observe.yaml');
    await writeFile(contract, JSON.stringify({ platform: 'kube', operation: 'patch', targets: [{ group: '', version: 'v1', resource: 'configmaps', namespace: 'har-demo', name: 'settings' }], params: { body: { data: { mode: 'observed' } }, query: { fieldManager: ['kubectl-patch'] }, patchType: 'merge' }, risk: 'low' }));
    const tokenFile = path.join(world.dir, 'reader.token');
    await writeFile(tokenFile, world.kube.tokens.agent!);
    const keyDir = path.join(world.dir, 'observe-sab');
    expect((await runSeb(['sab', 'keygen', '--out', keyDir])).code).toBe(0);
    const issued = await runSeb(['sab', 'issue', '--key', path.join(keyDir, 'sab.key'), '--contract', contract, '--sub', 'system:serviceaccount:har-demo:agent', '--observe', '--paths', '/data,/metadata/labels', '--kube-server', world.kube.url, '--kube-ca', world.caFile, '--token-file', tokenFile]);
    expect(issued.code, issued.stderr).toBe(0);
    const { decodeCertificate } = await import('../certs/sab/index.ts');
    const decoded = decodeCertificate(issued.stdout.trim());
    expect(decoded.ok && decoded.value.payload.admitted).toMatchObject({ waived: false, state: { '/data': expect.stringMatching(/^sha256:/), '/metadata/labels': 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' } });
  });

  it('a target changed after certification is refused as drift', async () => {
    await stage(await world.patchCertificate('late'));
    const direct = await run('kubectl', ['--server', world.kube.url, '--certificate-authority', world.caFile, '--token', world.kube.tokens.admin!, '-n', 'har-demo', 'patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"mode":"changed-behind-the-sab"}}'], { env: { PATH: process.env.PATH, HOME: world.dir } });
    expect(direct.code, direct.stderr).toBe(0);
    const out = await kubectl('patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"mode":"late"}}');
    expect(out.stderr).toMatch(/SEB_DRIFT\).*\/data/);
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(seb);
    expect(seb.audit.length).toBeGreaterThan(0);
  });
});
