// An @kubernetes/client-node agent (which ignores HTTPS_PROXY) using the kubeconfig from `seb kubeconfig --mode
// endpoint`: reads pass, a patch without a certificate is refused with seb's Status, with a staged certificate it
// executes once.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, setHeaderOptions, PatchStrategy } from '@kubernetes/client-node';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';
import { startKubeWorld, type KubeWorld } from './helpers/kube-world.ts';
import { runSeb } from './helpers/run.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';

describe('@kubernetes/client-node through seb (endpoint mode)', () => {
  let world: KubeWorld;
  let seb: TestSeb;
  let core: CoreV1Api;

  beforeAll(async () => {
    world = await startKubeWorld();
    seb = await startTestSeb(world.sebConfig);
    const tokenFile = path.join(world.dir, 'agent.token');
    await writeFile(tokenFile, world.kube.tokens.executor!);
    const file = path.join(world.dir, 'endpoint.kubeconfig');
    const made = await runSeb(['kubeconfig', '--mode', 'endpoint', '--state-dir', seb.stateDir, '--endpoint-listen', `127.0.0.1:${seb.endpointPort}`, '--token-file', tokenFile, '--embed-token', '--out', file]);
    expect(made.code, made.stderr).toBe(0);
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await seb?.stop();
    await world?.close();
  });

  // client-node sends merge patches to the same URL as kubectl's, with its own fieldManager-less query.
  const patch = (mode: string) => core.patchNamespacedConfigMap({ name: 'settings', namespace: 'har-demo', body: { data: { mode } }, fieldManager: 'kubectl-patch' }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));

  it('reads pass', async () => {
    const cm = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'har-demo' });
    expect(cm.data?.mode).toBeTruthy();
  });

  it('a patch without a certificate is refused with seb\'s Status', async () => {
    const err = await patch('uncertified').then(() => undefined, (e: { code?: number; body?: string }) => e);
    expect(err?.code).toBe(403);
    expect(JSON.parse(String(err?.body))).toMatchObject({ kind: 'Status', reason: 'Forbidden', details: { causes: [{ reason: 'SEB_CERT_MISSING' }] } });
  });

  it('with a staged certificate the patch executes, once', async () => {
    const certFile = path.join(world.dir, 'client-node-cert.txt');
    await writeFile(certFile, await world.patchCertificate('client-node'));
    const staged = await runSeb(['cert', 'stage', certFile, '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')]);
    expect(staged.code, staged.stderr).toBe(0);
    const cm = await patch('client-node');
    expect(cm.data?.mode).toBe('client-node');
    const again = await patch('client-node').then(() => undefined, (e: { code?: number }) => e);
    expect(again?.code).toBe(403);
  });

  const causeOf = (e: { body?: string } | undefined) => (JSON.parse(String(e?.body)) as { details: { causes: Array<{ reason: string; message: string }> } }).details.causes[0]!;
  const stageFor = async (value: string) => {
    const certFile = path.join(world.dir, `client-node-${value}.txt`);
    await writeFile(certFile, await world.patchCertificate(value));
    const staged = await runSeb(['cert', 'stage', certFile, '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')]);
    expect(staged.code, staged.stderr).toBe(0);
    return certFile;
  };

  it('a patch other than the certified one is a contract mismatch; a target changed since certification is drift', async () => {
    await stageFor('certified-value');
    const mismatch = await patch('other-value').then(() => undefined, (e: { body?: string }) => e);
    expect(causeOf(mismatch)).toMatchObject({ reason: 'SEB_CONTRACT_MISMATCH', message: expect.stringContaining('/body/data/mode') });
    await patch('certified-value').then(() => undefined, () => undefined); // uses up the staged certificate
    await stageFor('late');
    // the target changes out of band, behind the SAB's back:
    const { Agent, request } = await import('undici');
    const direct = await request(`${world.kube.url}/api/v1/namespaces/har-demo/configmaps/settings`, { method: 'PATCH', dispatcher: new Agent({ connect: { ca: world.kube.caPem } }), headers: { authorization: `Bearer ${world.kube.tokens.admin}`, 'content-type': 'application/merge-patch+json' }, body: '{"data":{"mode":"moved"}}' });
    expect(direct.statusCode).toBe(200);
    await direct.body.dump();
    const drift = await patch('late').then(() => undefined, (e: { body?: string }) => e);
    expect(causeOf(drift).reason).toBe('SEB_DRIFT');
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(seb);
    expect(seb.audit.length).toBeGreaterThan(0);
  });
});
