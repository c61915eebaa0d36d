// The validating webhook end to end: two replicas of `seb webhook serve` (separate processes sharing a PostgreSQL
// ledger with seb) behind a Service of the Kubernetes API test server, registered as a real cluster registers it (a
// ValidatingWebhookConfiguration selecting namespaces by label, failurePolicy Fail). The agent was granted `edit`
// by mistake, so RBAC lets its writes through: only the webhook stands between it and the protected namespace.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrustStore, decodeAndVerify, generateSigningKey, newCid, newNonce, signCertificate, type Contract } from '../certs/sab/index.ts';
import { openLedger } from '../ledger/open.ts';
import type { Ledger } from '../ledger/types.ts';
import { kubeApi } from '../platforms/kube/api.ts';
import { createLogger } from '../ops/logger.ts';
import { startWebhookServer } from '../admission/server.ts';
import { validateReview } from '../admission/validate-review.ts';
import { generateServingCert } from './kube-apiserver/cert.ts';
import { mintExecutorToken } from '../platforms/kube/mint.ts';
import { NS, SEB_USER, spawnWebhook, startAdmissionCluster, type AdmissionCluster, type WebhookProcess } from './helpers/admission-world.ts';
import { fixtureReview, recordExecution, serviceAccountUser } from './helpers/admission.ts';
import { PROTECTED_LABEL } from '../admission/webhook-config.ts';
import { CM_PATH, KUBE_HOST, patchContract, proxyTo, SUBJECT } from './helpers/kube-world.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/pg.ts';
import { createTestSab, type TestSab } from './helpers/sab.ts';
import { startTestSeb, tempDir, type TestSeb } from './helpers/seb.ts';
import { requireCommand } from './helpers/services.ts';
import { run } from './helpers/run.ts';

const skipReason = await postgresSkipReason();
const DENIED_BY = 'admission webhook "validate.seb.openkedge.io" denied the request: seb denied this request';
const SCALE_PATH = `/apis/apps/v1/namespaces/${NS}/deployments/web/scale`;
const MERGE = 'application/merge-patch+json';

describe.skipIf(skipReason !== undefined)('validating admission webhook, end to end', () => {
  let dir: string;
  let cluster: AdmissionCluster;
  let db: TestDatabase;
  let ledger: Ledger;
  let replicas: WebhookProcess[] = [];
  let seb: TestSeb;
  let sab: TestSab;
  let dispatcher: Dispatcher;
  let agentToken: string;
  const reviews = () => replicas.flatMap((r) => r.logs.filter((l) => l.event === 'review'));
  /** Where each replica's log is now; reviewsSince(mark) lists the reviews logged after it, in time order. */
  const mark = () => replicas.map((r) => r.logs.length);
  const reviewsSince = (m: number[]) => replicas.flatMap((r, i) => r.logs.slice(m[i]).filter((l) => l.event === 'review'))
    .sort((a, b) => String(a.time).localeCompare(String(b.time)));
  const configMap = async () => (await cluster.call('GET', CM_PATH, cluster.kube.tokens.admin!)).body as { data: Record<string, string>; metadata: { annotations?: Record<string, string> } };

  beforeAll(async () => {
    dir = await tempDir('seb-admission-e2e-');
    cluster = await startAdmissionCluster(dir);
    const admin = cluster.kube.tokens.admin!;
    agentToken = cluster.kube.tokens.agent!;
    // Seeded before the namespace is protected (afterwards even an admin needs seb).
    for (const [p, body] of [
      [`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'initial' } }],
      [`/apis/apps/v1/namespaces/${NS}/deployments`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] } } } }],
      [`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0' }, spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] } }],
    ] as const) expect((await cluster.call('POST', p, admin, body)).status).toBe(201);

    db = await createTestDatabase();
    const opened = await openLedger({ databaseUrl: db.url(), dir: '', timeoutMs: 5_000, poolSize: 2 }); // migrates before the replicas start
    if (!opened.ok) throw new Error(opened.error.message);
    ledger = opened.value;
    // The injector refuses to inject a pod without a shared ledger for it (inject.ledgerSecret).
    await writeFile(path.join(dir, 'webhook.json'), JSON.stringify({ inject: { ledgerSecret: 'seb-ledger' } }));
    const args = ['--config', path.join(dir, 'webhook.json'), '--tls-cert', cluster.tls.certFile, '--tls-key', cluster.tls.keyFile, '--broker-identity', SEB_USER, '--state-dir', dir];
    replicas = await Promise.all([0, 1].map(() => spawnWebhook(args, { DATABASE_URL: db.url() })));
    cluster.replicas.push(...replicas.map((r) => r.address));
    await cluster.protect();

    sab = await createTestSab(dir, SUBJECT);
    await writeFile(path.join(dir, 'kube-ca.pem'), cluster.kube.caPem);
    await writeFile(path.join(dir, 'seb.token'), cluster.sebToken);
    seb = await startTestSeb({
      intercept: { kube: [KUBE_HOST] }, upstreams: { kube: cluster.kube.url }, upstreamTls: { caFiles: [path.join(dir, 'kube-ca.pem')] },
      trust: { file: sab.trustFile }, agent: { subject: SUBJECT }, ledger: { databaseUrl: db.url() },
      kube: { identityTokenFile: path.join(dir, 'seb.token'), executorServiceAccount: 'executor', executorNamespace: NS },
    });
    dispatcher = proxyTo(seb.proxyPort, seb.caPem);
  });
  afterAll(async () => {
    await dispatcher?.close();
    await seb?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    await ledger?.close();
    await cluster?.kube.close();
    await db?.drop();
  });

  /** A request through seb's forward proxy, as kubectl sends it, with the agent's own token. */
  const viaSeb = async (method: 'PATCH', p: string, body: unknown, certificate: string) => {
    const res = await request(`https://${KUBE_HOST}${p}`, {
      dispatcher, method, body: JSON.stringify(body),
      headers: { authorization: `Bearer ${agentToken}`, 'content-type': MERGE, 'seb-certificate': certificate },
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> & { message?: string; metadata?: { annotations?: Record<string, string> } } };
  };

  describe('straight to the API server, without seb', () => {
    it('the agent\'s own token: RBAC would allow the patch, the webhook denies it and says why', async () => {
      const res = await cluster.call('PATCH', `${CM_PATH}?fieldManager=kubectl-patch`, agentToken, { data: { mode: 'direct' } }, MERGE);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 });
      expect(res.body.message).toMatch(new RegExp(`^${esc(DENIED_BY)} \\(SEB_ADMISSION_UNBROKERED\\): UPDATE of configmaps "settings" in namespace ${NS} by user "system:serviceaccount:${NS}:agent": credential JTI=[0-9a-f-]{36} was not minted by seb for any recorded execution .*Send the change through seb with a SAB certificate for it\\.$`));
      expect((await configMap()).data.mode).toBe('initial');
    });

    it('every kind of change is sent to the webhook and denied: create, delete, scale, eviction, exec', async () => {
      const attempts: Array<[string, string, string, unknown?, string?]> = [
        ['CREATE of configmaps "other"', 'POST', `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' } }],
        ['DELETE of configmaps "settings"', 'DELETE', CM_PATH],
        ['UPDATE of deployments.apps/scale "web"', 'PATCH', SCALE_PATH, { spec: { replicas: 5 } }, MERGE],
        ['CREATE of pods/eviction "web-0"', 'POST', `/api/v1/namespaces/${NS}/pods/web-0/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0', namespace: NS } }],
        ['CONNECT of pods/exec "web-0"', 'POST', `/api/v1/namespaces/${NS}/pods/web-0/exec?command=sh&stdout=true`],
      ];
      for (const [what, method, p, body, type] of attempts) {
        const res = await cluster.call(method, p, agentToken, body, type);
        expect(res.status, what).toBe(403);
        expect(res.body.message, what).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): ${what} in namespace ${NS} by user "system:serviceaccount:${NS}:agent"`);
      }
      expect(cluster.kube.getObject('', 'pods', NS, 'web-0')).toBeDefined();
    });

    it('nor may an administrator, or a token of the executor ServiceAccount that seb did not mint', async () => {
      const admin = await cluster.call('PATCH', CM_PATH, cluster.kube.tokens.admin!, { data: { mode: 'admin' } }, MERGE);
      expect(admin.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): UPDATE of configmaps "settings" in namespace ${NS} by user "admin": its credentials carry no credential id`);
      const executor = await cluster.call('PATCH', CM_PATH, cluster.kube.tokens.executor!, { data: { mode: 'executor' } }, MERGE);
      expect(executor.body.message).toContain(`by user "system:serviceaccount:${NS}:executor": credential JTI=`);
      expect((await configMap()).data.mode).toBe('initial');
    });

    it.skipIf(requireCommand('kubectl', 'kubectl') !== undefined)('kubectl shows the operator the webhook\'s reason', async () => {
      const kubeconfig = cluster.kube.kubeconfig(agentToken, path.join(dir, 'agent.kubeconfig'));
      const out = await run('kubectl', ['--kubeconfig', kubeconfig, 'patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"mode":"kubectl"}}'], { env: { PATH: process.env.PATH, HOME: dir } });
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(new RegExp(`^Error from server \\(Forbidden\\): ${esc(DENIED_BY)} \\(SEB_ADMISSION_UNBROKERED\\): UPDATE of configmaps "settings" in namespace ${NS} by user "system:serviceaccount:${NS}:agent"`));
    });
  });

  describe('through seb, with a certificate', () => {
    it('the same change is admitted: stamped, executed under a minted executor identity the ledger knows', async () => {
      const cert = sab.issue(patchContract('certified'));
      const before = mark();
      const res = await viaSeb('PATCH', `${CM_PATH}?fieldManager=kubectl-patch`, { data: { mode: 'certified' } }, cert);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const cid = res.body.metadata!.annotations!['seb.openkedge.io/cid']!;
      expect((await configMap()).data.mode).toBe('certified');
      // The webhook saw seb's housekeeping (the per-execution Secret and the executor token bound to it, admitted by
      // shape) and the write itself,
      // admitted on the execution's credential and annotations; seb deletes the Secret right after the call.
      await until(() => reviewsSince(before).some((r) => r.basis === 'broker-housekeeping' && String(r.request).startsWith('DELETE of secrets')));
      const seen = reviewsSince(before).map((r) => `${r.request} by ${r.user}: ${r.allowed ? r.basis : r.code}`);
      expect(seen).toEqual([
        expect.stringMatching(new RegExp(`^CREATE of secrets "seb-exec-${cid.slice(0, 8)}-[0-9a-f]{8}" in namespace ${NS} by ${SEB_USER}: broker-housekeeping$`)),
        `CREATE of serviceaccounts/token "executor" in namespace ${NS} by ${SEB_USER}: broker-housekeeping`, // bound to that Secret
        `UPDATE of configmaps "settings" in namespace ${NS} by system:serviceaccount:${NS}:executor: attested`,
        expect.stringMatching(new RegExp(`^DELETE of secrets "seb-exec-${cid.slice(0, 8)}-[0-9a-f]{8}" in namespace ${NS} by ${SEB_USER}: broker-housekeeping$`)),
      ]);
      expect(reviewsSince(before).find((r) => r.basis === 'attested')?.cid).toBe(cid);
    });

    it('a scale (a subresource seb cannot stamp) is admitted on the executor credential alone', async () => {
      const contract: Contract = { platform: 'kube', operation: 'patch', targets: [{ group: 'apps', version: 'v1', resource: 'deployments', namespace: NS, name: 'web', subresource: 'scale' }], params: { body: { spec: { replicas: 3 } }, patchType: 'merge' }, risk: 'low' };
      const before = mark();
      const res = await viaSeb('PATCH', SCALE_PATH, { spec: { replicas: 3 } }, sab.issue(contract));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect((cluster.kube.getObject('apps', 'deployments', NS, 'web') as { spec: { replicas: number } }).spec.replicas).toBe(3);
      await until(() => reviewsSince(before).some((r) => String(r.request).includes('deployments.apps/scale'))); // the replica's log line may trail the answer
      expect(reviewsSince(before).find((r) => String(r.request).includes('deployments.apps/scale'))).toMatchObject({ allowed: true, basis: 'credential' });
    });

    it('the replicas share nothing but the ledger, and both decided', () => {
      for (const r of replicas) expect(r.logs.filter((l) => l.event === 'review').length).toBeGreaterThan(0);
    });
  });

  describe('forged attestation', () => {
    it('the agent stamps its own write with a certificate id and an unreserved nonce: denied', async () => {
      const cid = (await configMap()).metadata.annotations!['seb.openkedge.io/cid']!;
      const forged = { 'seb.openkedge.io/cid': cid, 'seb.openkedge.io/nonce': newNonce() };
      const res = await cluster.call('POST', `/api/v1/namespaces/${NS}/configmaps`, agentToken, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'forged', annotations: forged }, data: { mode: 'forged' } });
      expect(res.status).toBe(403);
      expect(res.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): CREATE of configmaps "forged"`);
      expect(cluster.kube.getObject('', 'configmaps', NS, 'forged')).toBeUndefined();
    });

    it('even a real executor credential of a recorded execution cannot carry a nonce that is not its own', async () => {
      // A minted executor token for an execution on record, used outside seb (as if stolen from a sidecar).
      const key = generateSigningKey();
      const trust = createTrustStore([{ kid: key.kid, publicKey: key.publicKey }]);
      if (!trust.ok) throw new Error(trust.error);
      const now = Math.floor(Date.now() / 1000);
      const signed = signCertificate({ v: 1, cid: newCid(), iss: 'test', sub: SUBJECT, contract: patchContract('stolen'), admitted: { waived: true, reason: 'test' }, nbf: now, exp: now + 120, policyEpoch: 0, revocationEpoch: 0, nonce: newNonce() }, key);
      if (!signed.ok) throw new Error(signed.error.message);
      const cert = decodeAndVerify(signed.value, trust.value);
      if (!cert.ok) throw new Error(cert.error.message);
      const api = kubeApi({ dispatcher: new Agent({ connect: { ca: cluster.kube.caPem } }), upstream: cluster.kube.url, timeoutMs: 5000, identityTokenFile: path.join(dir, 'seb.token') });
      const minted = await mintExecutorToken(api, { serviceAccount: 'executor', executorNamespace: NS, tokenSeconds: 600, onReleaseError: (m) => { throw new Error(m); } }, cert.value);
      if (!minted.ok) throw new Error(minted.error.message);
      const execution = await recordExecution(ledger, { principal: minted.value.principal, credentialId: minted.value.credentialId! });
      const token = (minted.value.credentials as { token: string }).token;
      const write = (nonce: string) => cluster.call('PATCH', CM_PATH, token, { metadata: { annotations: { 'seb.openkedge.io/cid': execution.cid, 'seb.openkedge.io/nonce': nonce } }, data: { mode: 'stolen' } }, MERGE);
      const forged = await write(newNonce());
      expect(forged.status).toBe(403);
      expect(forged.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_ATTESTATION_FORGED): UPDATE of configmaps "settings" in namespace ${NS} by user "system:serviceaccount:${NS}:executor": the object is annotated seb.openkedge.io/cid="${execution.cid}"`);
      expect((await configMap()).data.mode).toBe('certified');
      expect((await write(execution.nonce)).status).toBe(200); // the same credential with its own attestation
      await minted.value.release!();
    });
  });

  describe('a protected namespace stays protected', () => {
    const NAMESPACES_DENIED_BY = 'admission webhook "namespaces.validate.seb.openkedge.io" denied the request: seb denied this request';
    const labels = () => (cluster.kube.getObject('', 'namespaces', '', NS) as { metadata: { labels: Record<string, string> } }).metadata.labels;

    it('the administrator removes the protect label: the Namespace webhook is sent it (old object labelled) and denies it; the agent\'s patch afterwards is still denied', async () => {
      const admin = cluster.kube.tokens.admin!;
      const removals: Array<[string, string, unknown, string?]> = [
        ['merge patch', 'PATCH', { metadata: { labels: { [PROTECTED_LABEL]: null } } }, MERGE],
        ['JSON patch', 'PATCH', [{ op: 'remove', path: '/metadata/labels/seb.openkedge.io~1protected' }], 'application/json-patch+json'],
        ['relabel to "false"', 'PATCH', { metadata: { labels: { [PROTECTED_LABEL]: 'false' } } }, MERGE],
        ['replace without the label', 'PUT', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'kubernetes.io/metadata.name': NS } } }],
      ];
      for (const [how, method, body, type] of removals) {
        const res = await cluster.call(method, `/api/v1/namespaces/${NS}`, admin, body, type);
        expect(res.status, how).toBe(403);
        expect(res.body.message, how).toContain(`${NAMESPACES_DENIED_BY} (SEB_ADMISSION_UNBROKERED): UPDATE of namespaces "${NS}" in namespace ${NS} by user "admin": its credentials carry no credential id`);
        expect(res.body.message, how).toContain('the break-glass is a cluster administrator deleting the ValidatingWebhookConfiguration seb-validator');
      }
      expect(labels()[PROTECTED_LABEL]).toBe('true');
      const deleted = await cluster.call('DELETE', `/api/v1/namespaces/${NS}`, admin);
      expect(deleted.body.message).toContain(`${NAMESPACES_DENIED_BY} (SEB_ADMISSION_UNBROKERED): DELETE of namespaces "${NS}"`);
      const agent = await cluster.call('PATCH', CM_PATH, agentToken, { data: { mode: 'after-unprotect' } }, MERGE);
      expect(agent.status).toBe(403);
      expect(agent.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): UPDATE of configmaps "settings" in namespace ${NS} by user "system:serviceaccount:${NS}:agent"`);
      expect((await configMap()).data.mode).toBe('stolen');
    });

    it.skipIf(requireCommand('kubectl', 'kubectl') !== undefined)('kubectl label namespace … seb.openkedge.io/protected- is refused, with the reason', async () => {
      const kubeconfig = cluster.kube.kubeconfig(cluster.kube.tokens.admin!, path.join(dir, 'admin.kubeconfig'));
      const out = await run('kubectl', ['--kubeconfig', kubeconfig, 'label', 'namespace', NS, `${PROTECTED_LABEL}-`], { env: { PATH: process.env.PATH, HOME: dir } });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain(`Error from server (Forbidden): ${NAMESPACES_DENIED_BY} (SEB_ADMISSION_UNBROKERED): UPDATE of namespaces "${NS}"`);
      expect(labels()[PROTECTED_LABEL]).toBe('true');
    });

    it('protecting another namespace is admitted, and from then on its label stays too', async () => {
      const admin = cluster.kube.tokens.admin!;
      expect((await cluster.call('POST', '/api/v1/namespaces', admin, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } })).status).toBe(201);
      const before = mark();
      expect((await cluster.call('PATCH', '/api/v1/namespaces/shop', admin, { metadata: { labels: { [PROTECTED_LABEL]: 'true' } } }, MERGE)).status).toBe(200);
      await until(() => reviewsSince(before).length > 0);
      expect(reviewsSince(before)).toEqual([expect.objectContaining({ request: 'UPDATE of namespaces "shop" in namespace shop', allowed: true, basis: 'protecting-namespace' })]);
      const removed = await cluster.call('PATCH', '/api/v1/namespaces/shop', admin, { metadata: { labels: { [PROTECTED_LABEL]: null } } }, MERGE);
      expect(removed.status).toBe(403);
      expect(removed.body.message).toContain('(SEB_ADMISSION_UNBROKERED): UPDATE of namespaces "shop"');
    });
  });

  describe('who is left alone: the exact control-plane identities, nothing else', () => {
    const POD = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] } });
    const podsPath = `/api/v1/namespaces/${NS}/pods`;
    let tokens: Record<string, string>;
    beforeAll(async () => {
      const admin = cluster.kube.tokens.admin!;
      // The control plane's RBAC is not what is tested here: every identity below may write as far as RBAC goes.
      for (const sa of ['replicaset-controller', 'some-addon']) {
        expect((await cluster.call('POST', '/api/v1/namespaces/kube-system/serviceaccounts', admin, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } })).status).toBe(201);
      }
      const subjects = [
        { kind: 'ServiceAccount', name: 'replicaset-controller', namespace: 'kube-system' }, { kind: 'ServiceAccount', name: 'some-addon', namespace: 'kube-system' },
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'system:node:node-1' },
      ];
      expect((await cluster.call('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'control-plane-for-test' }, subjects, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' } })).status).toBe(201);
      tokens = {
        replicaset: cluster.kube.createToken('kube-system', 'replicaset-controller', { expirationSeconds: 3600 }),
        addon: cluster.kube.createToken('kube-system', 'some-addon', { expirationSeconds: 3600 }),
        node: cluster.kube.addUser({ username: 'system:node:node-1', groups: ['system:nodes'] }),
      };
    });

    it('the ReplicaSet controller creates a Pod without the webhook; another kube-system ServiceAccount is refused', async () => {
      expect((await cluster.call('POST', podsPath, tokens.replicaset!, POD('web-rs-1'))).status).toBe(201);
      const addon = await cluster.call('POST', `/api/v1/namespaces/${NS}/configmaps`, tokens.addon!, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'addon' } });
      expect(addon.status).toBe(403);
      expect(addon.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): CREATE of configmaps "addon" in namespace ${NS} by user "system:serviceaccount:kube-system:some-addon"`);
    });

    it('a node reports a Pod\'s status and deletes its terminated Pod; anything else it asks is refused', async () => {
      const status = await cluster.call('PATCH', `${podsPath}/web-rs-1/status`, tokens.node!, { status: { phase: 'Running' } }, MERGE);
      expect(status.status, JSON.stringify(status.body)).toBe(200);
      const mirror = await cluster.call('POST', podsPath, tokens.node!, POD('mirror'));
      expect(mirror.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): CREATE of pods "mirror" in namespace ${NS} by user "system:node:node-1"`);
      const cm = await cluster.call('PATCH', CM_PATH, tokens.node!, { data: { mode: 'node' } }, MERGE);
      expect(cm.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): UPDATE of configmaps "settings"`);
      expect((await cluster.call('DELETE', `${podsPath}/web-rs-1`, tokens.node!)).status).toBe(200);
    });

    it('subresources are changes too: status, a token request, seb\'s identity asking for an unbound token', async () => {
      const admin = cluster.kube.tokens.admin!;
      const podStatus = await cluster.call('PATCH', `${podsPath}/web-0/status`, admin, { status: { phase: 'Failed' } }, MERGE);
      expect(podStatus.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): UPDATE of pods/status "web-0" in namespace ${NS} by user "admin"`);
      const deployStatus = await cluster.call('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/web/status`, admin, { status: { replicas: 9 } }, MERGE);
      expect(deployStatus.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): UPDATE of deployments.apps/status "web"`);
      // The agent's `edit` lets it request executor tokens as far as RBAC goes: an unbound, long-lived executor token.
      const tokenPath = `/api/v1/namespaces/${NS}/serviceaccounts/executor/token`;
      const agent = await cluster.call('POST', tokenPath, agentToken, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
      expect(agent.status).toBe(403);
      expect(agent.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_UNBROKERED): CREATE of serviceaccounts/token "executor" in namespace ${NS} by user "system:serviceaccount:${NS}:agent"`);
      const seb = await cluster.call('POST', tokenPath, cluster.sebToken, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
      expect(seb.status).toBe(403);
      expect(seb.body.message).toContain('This is seb\'s own identity (webhook.brokerIdentities)');
    });
  });

  describe('an executor credential outside its one call', () => {
    /** A minted executor token for an execution on record, used straight against the API server (copied from a sidecar). */
    const mintRecorded = async () => {
      const key = generateSigningKey();
      const trust = createTrustStore([{ kid: key.kid, publicKey: key.publicKey }]);
      if (!trust.ok) throw new Error(trust.error);
      const now = Math.floor(Date.now() / 1000);
      const signed = signCertificate({ v: 1, cid: newCid(), iss: 'test', sub: SUBJECT, contract: patchContract('copied'), admitted: { waived: true, reason: 'test' }, nbf: now, exp: now + 120, policyEpoch: 0, revocationEpoch: 0, nonce: newNonce() }, key);
      if (!signed.ok) throw new Error(signed.error.message);
      const cert = decodeAndVerify(signed.value, trust.value);
      if (!cert.ok) throw new Error(cert.error.message);
      const api = kubeApi({ dispatcher: new Agent({ connect: { ca: cluster.kube.caPem } }), upstream: cluster.kube.url, timeoutMs: 5000, identityTokenFile: path.join(dir, 'seb.token') });
      const minted = await mintExecutorToken(api, { serviceAccount: 'executor', executorNamespace: NS, tokenSeconds: 600, onReleaseError: (m) => { throw new Error(m); } }, cert.value);
      if (!minted.ok) throw new Error(minted.error.message);
      const execution = await recordExecution(ledger, { principal: minted.value.principal, credentialId: minted.value.credentialId! });
      return { execution, token: (minted.value.credentials as { token: string }).token, release: minted.value.release! };
    };

    it('once seb has recorded the execution\'s outcome, the credential is refused (SEB_ADMISSION_EXECUTION_FINISHED), well before the token expires', async () => {
      const { execution, token, release } = await mintRecorded();
      const annotations = { 'seb.openkedge.io/cid': execution.cid, 'seb.openkedge.io/nonce': execution.nonce };
      const created = await cluster.call('POST', `/api/v1/namespaces/${NS}/configmaps`, token, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one-call', annotations }, data: { n: '1' } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect((await ledger.finishExecution({ cid: execution.cid, nonce: execution.nonce, result: 'completed' })).ok).toBe(true);
      const again = await cluster.call('PATCH', `/api/v1/namespaces/${NS}/configmaps/one-call`, token, { metadata: { annotations }, data: { n: '2' } }, MERGE);
      expect(again.status).toBe(403);
      expect(again.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_EXECUTION_FINISHED): UPDATE of configmaps "one-call" in namespace ${NS} by user "system:serviceaccount:${NS}:executor": its credential was minted for certificate ${execution.cid}, whose execution has finished`);
      await release();
    });

    it('an administrator impersonating the executor with a live execution\'s credential id is refused (SEB_ADMISSION_IMPERSONATED)', async () => {
      const { execution, release } = await mintRecorded();
      const headers = { 'Impersonate-User': `system:serviceaccount:${NS}:executor`, 'Impersonate-Extra-authentication.kubernetes.io%2fcredential-id': execution.credentialId! };
      const annotations = { 'seb.openkedge.io/cid': execution.cid, 'seb.openkedge.io/nonce': execution.nonce };
      const res = await cluster.call('PATCH', CM_PATH, cluster.kube.tokens.admin!, { metadata: { annotations }, data: { mode: 'impersonated' } }, MERGE, headers);
      expect(res.status).toBe(403);
      expect(res.body.message).toContain(`${DENIED_BY} (SEB_ADMISSION_IMPERSONATED): UPDATE of configmaps "settings" in namespace ${NS} by user "system:serviceaccount:${NS}:executor": it claims credential ${execution.credentialId} of certificate ${execution.cid} without the uid`);
      expect((await configMap()).data.mode).toBe('stolen');
      await release();
    });
  });

  describe('the webhook server', () => {
    const replica = (address: string) => {
      const agent = new Agent({ connect: { ca: cluster.tls.caPem, servername: 'seb-webhook.seb-system.svc' } });
      return async (method: string, p: string, body?: string | Buffer, type = 'application/json') => {
        const res = await request(`https://${address}${p}`, { dispatcher: agent, method: method as Dispatcher.HttpMethod, ...(body !== undefined ? { body, headers: { 'content-type': type } } : {}) });
        const text = await res.body.text();
        return { status: res.statusCode, body: JSON.parse(text) as Record<string, unknown> & { message?: string; response?: Record<string, unknown> } };
      };
    };

    it('/healthz and /readyz answer; anything but an AdmissionReview is refused with a Status', async () => {
      const call = replica(replicas[0]!.address);
      expect(await call('GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await call('GET', '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
      const notJson = await call('POST', '/validate?timeout=5s', '{"kind":');
      expect(notJson.status).toBe(400);
      expect(notJson.body.message).toMatch(/^seb webhook \(SEB_ADMISSION_MALFORMED\): the body is not UTF-8 JSON/);
      expect((await call('POST', '/validate', 'hello', 'text/plain')).status).toBe(415);
      expect((await call('GET', '/validate')).status).toBe(405);
      expect((await call('GET', '/nothing')).status).toBe(404);
    });

    it('/mutate is the injection webhook: a pod that opts in gets a JSONPatch adding seb, anything else passes unchanged', async () => {
      const call = replica(replicas[1]!.address);
      const configMap = fixtureReview('admission-review-008-create-configmap-cfg.json');
      expect((await call('POST', '/mutate?timeout=5s', JSON.stringify(configMap))).body.response).toEqual({ uid: configMap.request.uid, allowed: true });
      const pod = fixtureReview('admission-review-008-create-configmap-cfg.json');
      Object.assign(pod.request, {
        kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
        requestKind: { group: '', version: 'v1', kind: 'Pod' }, requestResource: { group: '', version: 'v1', resource: 'pods' }, name: 'agent',
        object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent', namespace: 'agents', labels: { 'seb.openkedge.io/inject': 'true' } }, spec: { containers: [{ name: 'agent', image: 'agent:1' }] } },
      });
      const res = await call('POST', '/mutate?timeout=5s', JSON.stringify(pod));
      expect(res.status).toBe(200);
      expect(res.body.response).toMatchObject({ uid: pod.request.uid, allowed: true, patchType: 'JSONPatch' });
      const patch = JSON.parse(Buffer.from(String(res.body.response!.patch), 'base64').toString('utf8')) as Array<{ op: string; path: string }>;
      expect(patch.length).toBeGreaterThan(0);
      expect((await call('POST', '/mutate', '[]')).status).toBe(400);
    });

    it('a replica whose ledger is down starts, reports not ready, and denies what it cannot verify; bodies are bounded', async () => {
      const config = path.join(dir, 'small.json');
      await writeFile(config, JSON.stringify({ webhook: { maxBodyBytes: 4096 } }));
      const down = await spawnWebhook(['--config', config, '--tls-cert', cluster.tls.certFile, '--tls-key', cluster.tls.keyFile, '--state-dir', dir], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' });
      try {
        const call = replica(down.address);
        expect((await call('GET', '/healthz')).status).toBe(200);
        const ready = await call('GET', '/readyz');
        expect(ready.status).toBe(503);
        expect(String(ready.body.reason)).toContain('the ledger does not answer');
        const review = fixtureReview('admission-review-011-update-configmap-cfg.json');
        review.request.userInfo = serviceAccountUser(NS, 'executor', 'JTI=2db30323-c331-4180-8b67-d2670b93d2f1');
        const res = await call('POST', '/validate?timeout=5s', JSON.stringify(review));
        expect(res.body.response).toMatchObject({ uid: review.request.uid, allowed: false, status: { code: 403 } });
        expect(String((res.body.response!.status as { message: string }).message)).toContain('(SEB_LEDGER_UNAVAILABLE)');
        const big = await call('POST', '/validate', Buffer.alloc(8192, 0x20));
        expect(big.status).toBe(413);
        expect(big.body.message).toBe('seb webhook (SEB_BODY_TOO_LARGE): the review is 8192 bytes, more than webhook.maxBodyBytes (4096)');
      } finally {
        await down.stop();
      }
    });

    it('a rotated serving certificate (cert-manager renewing its Secret) is served without a restart', async () => {
      const [a, b] = await Promise.all([generateServingCert(['seb-webhook.seb-system.svc']), generateServingCert(['seb-webhook.seb-system.svc'])]);
      const certFile = path.join(dir, 'rotating.crt');
      const keyFile = path.join(dir, 'rotating.key');
      await writeFile(certFile, a.certPem);
      await writeFile(keyFile, a.keyPem);
      const server = await startWebhookServer({
        listen: '127.0.0.1:0', tlsCertFile: certFile, tlsKeyFile: keyFile, maxBodyBytes: 4096, requestTimeoutMs: 5000, logger: createLogger('silent'),
        validate: (body) => validateReview(body, { lookup: async () => ({ ok: true, value: undefined }), now: () => Date.now() / 1000, brokerIdentities: [], decisionTimeoutMs: 1000 }),
        mutate: () => ({ status: 200, body: {} }), notReady: async () => undefined, tlsReloadIntervalMs: 3_600_000,
      });
      const healthy = async (caPem: string) => {
        const agent = new Agent({ connect: { ca: caPem, servername: 'seb-webhook.seb-system.svc' } });
        try {
          return (await request(`https://${server.address}/healthz`, { dispatcher: agent })).statusCode === 200;
        } catch {
          return false;
        } finally {
          await agent.close();
        }
      };
      try {
        expect([await healthy(a.caPem), await healthy(b.caPem)]).toEqual([true, false]);
        await writeFile(certFile, b.certPem);
        await writeFile(keyFile, b.keyPem);
        expect(await server.reloadTls()).toBe(true);
        expect([await healthy(a.caPem), await healthy(b.caPem)]).toEqual([false, true]);
        expect(await server.reloadTls()).toBe(false); // unchanged files
        await writeFile(keyFile, 'half-written');
        expect(await server.reloadTls()).toBe(false); // a bad pair keeps the previous certificate
        expect(await healthy(b.caPem)).toBe(true);
      } finally {
        await server.close();
      }
    });

    it('no replica answering: failurePolicy Fail keeps the namespace closed, even to seb', async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      const res = await cluster.call('PATCH', CM_PATH, agentToken, { data: { mode: 'while-down' } }, MERGE);
      expect(res.status).toBe(500);
      expect(res.body.message).toMatch(/^Internal error occurred: failed calling webhook "validate\.seb\.openkedge\.io": failed to call webhook: Post "https:\/\/seb-webhook\.seb-system\.svc:443\/validate\?timeout=5s": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/);
      const viaSebDown = await viaSeb('PATCH', `${CM_PATH}?fieldManager=kubectl-patch`, { data: { mode: 'while-down' } }, sab.issue(patchContract('while-down')));
      // seb cannot even create the per-execution Secret its executor token is bound to: nothing is forwarded.
      expect(viaSebDown.status).toBe(502);
      expect(viaSebDown.body.message).toContain('(SEB_MINT_FAILED): could not mint an executor identity: creating the per-execution Secret');
      expect(viaSebDown.body.message).toContain('failed calling webhook "validate.seb.openkedge.io"');
      expect((await configMap()).data.mode).toBe('stolen'); // the last write that was admitted
    });
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
