// Executor minting on Kubernetes: with seb's own identity configured, a certified mutation executes under a
// TokenRequest token of the executor ServiceAccount, bound to a per-execution Secret that seb deletes after the
// call; the agent's token never reaches the upstream on a mutation and is refused there directly; the write
// carries the attestation annotations; the ledger records the token's credential id.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';
import { CM_PATH, proxyTo, startKubeWorld, viaSeb, type KubeWorld } from './helpers/kube-world.ts';
import { kubeApi } from '../platforms/kube/api.ts';
import { mintExecutorToken } from '../platforms/kube/mint.ts';
import { createTrustStore, decodeAndVerify, generateSigningKey, newCid, newNonce, signCertificate } from '../certs/sab/index.ts';
import type { RecordedRequest } from './kube-apiserver/index.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';

const CACHE_MS = 300;

describe('Kubernetes executor minting (TokenRequest bound to a per-execution Secret)', () => {
  let world: KubeWorld;
  let seb: TestSeb;
  const seen: RecordedRequest[] = [];

  beforeAll(async () => {
    world = await startKubeWorld({ authCacheTtlMs: CACHE_MS, onRequest: (r) => seen.push(r) });
    const identity = path.join(world.dir, 'seb-identity.token');
    await writeFile(identity, world.kube.tokens.admin!); // seb's own ServiceAccount in a real cluster
    seb = await startTestSeb({ ...world.sebConfig, kube: { identityTokenFile: identity, executorServiceAccount: 'executor', executorNamespace: 'har-demo' } });
  });
  afterAll(async () => {
    await seb?.stop();
    await world?.close();
  });

  it('the agent\'s own (read-only) token is refused for mutations sent straight to the API server', async () => {
    const res = await new Agent({ connect: { ca: world.kube.caPem } }).request({ origin: world.kube.url, path: CM_PATH, method: 'PATCH', headers: { authorization: `Bearer ${world.kube.tokens.agent}`, 'content-type': 'application/merge-patch+json' }, body: '{"data":{"mode":"direct"}}' });
    expect(res.statusCode).toBe(403);
    expect(((await res.body.json()) as { message: string }).message).toContain('cannot patch resource "configmaps"');
  });

  it('a certified patch from the read-only agent executes as the executor, stamped, and the Secret is gone afterwards', async () => {
    const cert = await world.patchCertificate('minted');
    const dispatcher = proxyTo(seb.proxyPort, seb.caPem);
    seen.length = 0;
    const res = await viaSeb(dispatcher, world, 'PATCH', cert, 'minted', world.kube.tokens.agent);
    await dispatcher.close();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const patch = seen.find((r) => r.method === 'PATCH' && r.path === CM_PATH)!;
    expect(patch.user).toBe('system:serviceaccount:har-demo:executor');
    const annotations = (res.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
    expect(annotations['seb.openkedge.io/cid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(annotations['seb.openkedge.io/nonce']).toBeTruthy();
    expect(seen.some((r) => r.method === 'POST' && r.path.endsWith('/serviceaccounts/executor/token') && r.status === 201)).toBe(true);
    // seb deletes the Secret right after relaying the response: wait for it, boundedly.
    const deadline = Date.now() + 3000;
    while (!seen.some((r) => r.method === 'DELETE' && r.path.includes('/secrets/seb-exec-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen.find((r) => r.method === 'DELETE' && r.path.includes('/secrets/seb-exec-'))?.status).toBe(200);
    const log = seb.logs.find((l) => l.msg === 'request' && l.outcome === 'executed')!;
    expect(log.principal).toBe('system:serviceaccount:har-demo:executor');
    expect(log.credentialId).toMatch(/^JTI=/);
    const execution = await seb.seb.ledger.executionByCredential(String(log.credentialId));
    expect(execution.ok && execution.value).toMatchObject({ cid: log.cid, principal: 'system:serviceaccount:har-demo:executor' });
  });

  it('an agent holding only seb\'s placeholder token: reads go out with seb\'s identity, certified writes with a minted one', async () => {
    const placeholder = 'seb-placeholder-token-for-agents';
    const direct = await new Agent({ connect: { ca: world.kube.caPem } }).request({ origin: world.kube.url, path: CM_PATH, method: 'GET', headers: { authorization: `Bearer ${placeholder}` } });
    expect(direct.statusCode).toBe(401); // worthless at the API server
    await direct.body.dump();
    const dispatcher = proxyTo(seb.proxyPort, seb.caPem);
    seen.length = 0;
    const read = await viaSeb(dispatcher, world, 'GET', undefined, undefined, placeholder);
    expect(read.status).toBe(200);
    expect(seen.find((r) => r.method === 'GET' && r.path === CM_PATH)?.user).toBe('admin'); // seb's identity in this test
    const write = await viaSeb(dispatcher, world, 'PATCH', await world.patchCertificate('placeholder'), 'placeholder', placeholder);
    expect(write.status).toBe(200);
    expect(seen.find((r) => r.method === 'PATCH' && r.path === CM_PATH)?.user).toBe('system:serviceaccount:har-demo:executor');
    await dispatcher.close();
  });

  it('a minted token works until its bound Secret is deleted, and is refused after the cache window', async () => {
    const key = generateSigningKey();
    const trust = createTrustStore([{ kid: key.kid, publicKey: key.publicKey }]);
    if (!trust.ok) throw new Error(trust.error);
    const now = Math.floor(Date.now() / 1000);
    const signed = signCertificate({ v: 1, cid: newCid(), iss: 'i', sub: 's', contract: { platform: 'kube', operation: 'delete', targets: [{ group: '', version: 'v1', resource: 'configmaps', namespace: 'har-demo', name: 'x' }], params: {}, risk: 'low' }, admitted: { waived: true, reason: 'r' }, nbf: now, exp: now + 60, policyEpoch: 0, revocationEpoch: 0, nonce: newNonce() }, key);
    if (!signed.ok) throw new Error(signed.error.message);
    const cert = decodeAndVerify(signed.value, trust.value);
    if (!cert.ok) throw new Error(cert.error.message);
    const api = kubeApi({ dispatcher: new Agent({ connect: { ca: world.kube.caPem } }), upstream: world.kube.url, timeoutMs: 5000, identityTokenFile: path.join(world.dir, 'seb-identity.token') });
    const minted = await mintExecutorToken(api, { serviceAccount: 'executor', executorNamespace: 'har-demo', tokenSeconds: 600, onReleaseError: (m) => { throw new Error(m); } }, cert.value);
    if (!minted.ok) throw new Error(minted.error.message);
    const token = (minted.value.credentials as { token: string }).token;
    expect(minted.value.credentialId).toMatch(/^JTI=/);
    const before = await api.call('GET', '/api/v1/namespaces/har-demo/configmaps', undefined, token);
    expect(before.ok && before.status).toBe(200);
    await minted.value.release!();
    await new Promise((r) => setTimeout(r, CACHE_MS + 200));
    const after = await api.call('GET', '/api/v1/namespaces/har-demo/configmaps', undefined, token);
    expect(after.ok && after.status).toBe(401);
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(seb);
    expect(seb.audit.length).toBeGreaterThan(0);
  });
});

