// kubectl verbs through seb with executor minting, the agent holding only a read-only token. Certificates are
// made the way a SAB fed by a dry rehearsal would: kubectl runs once against a twin API server, the request it
// sent is classified into the contract, and the SAB certifies that contract (with the live target state).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyKube } from '../parsers/kube/classify.ts';
import { digestState, type Contract, type JsonValue } from '../certs/sab/index.ts';
import { startKubeApiServer, type KubeApiServer, type RecordedRequest } from './kube-apiserver/index.ts';
import { spawnSeb, tempDir, type SebProcess } from './helpers/seb.ts';
import { createTestSab, type TestSab } from './helpers/sab.ts';
import { KUBE_HOST, SUBJECT } from './helpers/kube-world.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/pg.ts';
import { requireCommand } from './helpers/services.ts';
import { run, runSeb } from './helpers/run.ts';
import { auditProblems, trailOfOutput } from './helpers/audit-trail.ts';

const skipReason = requireCommand('kubectl', 'kubectl') ?? (await postgresSkipReason());
const DEPLOYMENT = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } } };

describe.skipIf(skipReason !== undefined)('kubectl verbs through seb, with executor minting', () => {
  let live: KubeApiServer;
  let twin: KubeApiServer;
  let twinLast: RecordedRequest | undefined;
  let db: TestDatabase;
  let seb: SebProcess;
  let sab: TestSab;
  let dir: string;
  let kubeconfig: string;
  let sebFlags: string[];

  const seed = async (kube: KubeApiServer) => {
    for (const [p, body] of [
      ['/apis/apps/v1/namespaces/har-demo/deployments', DEPLOYMENT],
      ['/api/v1/namespaces/har-demo/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } }],
      ['/api/v1/namespaces/har-demo/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-pod' }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } }],
    ] as const) {
      const r = await adminCall(kube, 'POST', p, body);
      if (r.status !== 201) throw new Error(`seeding ${p}: ${r.status}`);
    }
  };

  beforeAll(async () => {
    dir = await tempDir('seb-verbs-');
    live = await startKubeApiServer({ authCacheTtlMs: 0 });
    twin = await startKubeApiServer({ onRequest: (r) => { if (r.method !== 'GET') twinLast = r; } });
    await seed(live);
    await seed(twin);
    db = await createTestDatabase();
    sab = await createTestSab(dir, SUBJECT);
    await writeFile(path.join(dir, 'kube-ca.pem'), live.caPem);
    await writeFile(path.join(dir, 'identity.token'), live.tokens.admin!);
    seb = await spawnSeb({
      intercept: { kube: [KUBE_HOST] }, upstreams: { kube: live.url }, upstreamTls: { caFiles: [path.join(dir, 'kube-ca.pem')] },
      trust: { file: sab.trustFile }, agent: { subject: SUBJECT }, ledger: { databaseUrl: db.url() },
      listen: { admin: `unix:${path.join(dir, 'admin.sock')}` },
      kube: { identityTokenFile: path.join(dir, 'identity.token'), executorServiceAccount: 'executor', executorNamespace: 'har-demo' },
    });
    sebFlags = ['--state-dir', seb.stateDir, '--admin-listen', `unix:${path.join(dir, 'admin.sock')}`];
    const tokenFile = path.join(dir, 'agent.token');
    await writeFile(tokenFile, live.tokens.agent!); // the agent can only read
    kubeconfig = path.join(dir, 'kubeconfig');
    const made = await runSeb(['kubeconfig', ...sebFlags, '--proxy-listen', `127.0.0.1:${seb.proxyPort}`, '--server', `https://${KUBE_HOST}`, '--namespace', 'har-demo', '--token-file', tokenFile, '--out', kubeconfig]);
    expect(made.code, made.stderr).toBe(0);
  });
  afterAll(async () => {
    expect(await seb?.stop()).toBe(0);
    await live?.close();
    await twin?.close();
    await db?.drop();
  });

  const env = () => ({ PATH: process.env.PATH, HOME: dir });
  const viaSeb = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: env() });
  const onTwin = async (...args: string[]): Promise<Contract> => {
    twinLast = undefined;
    const out = await run('kubectl', ['--server', twin.url, '--certificate-authority', path.join(dir, 'twin-ca.pem'), '--token', twin.tokens.admin!, '-n', 'har-demo', ...args], { env: env() });
    expect(out.code, out.stderr).toBe(0);
    const r = twinLast!;
    const c = classifyKube({ host: KUBE_HOST, method: r.method, url: new URL(r.path + (r.query ? `?${r.query.replace(/^\?/, '')}` : ''), 'https://k'), headers: { 'content-type': r.contentType }, body: Buffer.from(r.body) });
    if (c.kind !== 'mutation') throw new Error(`rehearsal of ${args.join(' ')} did not classify as a mutation: ${c.kind}`);
    return { ...c.contract, risk: 'medium' } as Contract;
  };
  const liveReplicas = async () => ((await adminCall(live, 'GET', '/apis/apps/v1/namespaces/har-demo/deployments/web')).body as { spec: { replicas: number } }).spec.replicas;
  const certify = async (contract: Contract, drift = true) => {
    const state = drift ? (await adminCall(live, 'GET', '/apis/apps/v1/namespaces/har-demo/deployments/web')).body as JsonValue : undefined;
    return sab.issue(contract, drift ? { admitted: { waived: false, state: digestState(state!, ['/spec/replicas']), epsilon: 0 } } : { admitted: { waived: true, reason: 'test' } });
  };
  const stage = async (cert: string) => {
    const file = path.join(dir, `c-${Math.random()}.txt`);
    await writeFile(file, cert);
    const out = await runSeb(['cert', 'stage', file, ...sebFlags]);
    expect(out.code, out.stderr).toBe(0);
    return file;
  };

  beforeAll(async () => writeFile(path.join(dir, 'twin-ca.pem'), twin.caPem));

  it('get and list pass', async () => {
    expect((await viaSeb('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}')).stdout).toBe('2');
    expect((await viaSeb('get', 'configmaps')).stdout).toContain('cfg');
  });

  it('scale: refused without a certificate; executed with one; the same certificate again is a replay', async () => {
    const refused = await viaSeb('scale', 'deploy', 'web', '--replicas=5');
    expect(refused.stderr).toMatch(/SEB_CERT_MISSING/);
    const cert = await certify(await onTwin('scale', 'deploy', 'web', '--replicas=5'));
    const file = await stage(cert);
    const scaled = await viaSeb('scale', 'deploy', 'web', '--replicas=5');
    expect(scaled.code, scaled.stderr).toBe(0);
    expect(await liveReplicas()).toBe(5);
    expect((await runSeb(['cert', 'stage', file, ...sebFlags])).code).toBe(0);
    expect((await viaSeb('scale', 'deploy', 'web', '--replicas=5')).stderr).toContain('SEB_REPLAY');
  });

  it('scale: another replica count than certified is a contract mismatch', async () => {
    await stage(await certify(await onTwin('scale', 'deploy', 'web', '--replicas=5')));
    const out = await viaSeb('scale', 'deploy', 'web', '--replicas=6');
    expect(out.stderr).toMatch(/SEB_CONTRACT_MISMATCH\).*\/body\/spec\/replicas/);
    const list = JSON.parse((await runSeb(['cert', 'list', ...sebFlags])).stdout) as Array<{ cid: string }>;
    for (const c of list) await runSeb(['cert', 'withdraw', c.cid, ...sebFlags]);
  });

  it('scale: replicas changed out of band after certification is drift', async () => {
    await stage(await certify(await onTwin('scale', 'deploy', 'web', '--replicas=7')));
    expect((await adminCall(live, 'PATCH', '/apis/apps/v1/namespaces/har-demo/deployments/web/scale', { spec: { replicas: 3 } }, 'application/merge-patch+json')).status).toBe(200);
    expect((await viaSeb('scale', 'deploy', 'web', '--replicas=7')).stderr).toMatch(/SEB_DRIFT\).*\/spec\/replicas/);
  });

  it('scale: after seb revoke the certificate is refused', async () => {
    const cert = await certify(await onTwin('scale', 'deploy', 'web', '--replicas=8'));
    const file = await stage(cert);
    const cid = (JSON.parse((await runSeb(['cert', 'inspect', file, '--config', '/dev/null'])).stdout.split('\n').find((l) => l.startsWith('certificate id'))!.replace(/.*: /, '"') + '"')) as string;
    const revoked = await runSeb(['revoke', cid, '--reason', 'test: incident'], { env: { ...process.env, DATABASE_URL: db.url() } });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await viaSeb('scale', 'deploy', 'web', '--replicas=8')).stderr).toMatch(/SEB_REVOKED\).*test: incident/);
  });

  const certified = async (...args: string[]) => {
    const contract = await onTwin(...args);
    expect((await viaSeb(...args)).stderr, `${args.join(' ')} without a certificate`).toMatch(/SEB_CERT_MISSING/);
    await stage(await certify(contract, false));
    const out = await viaSeb(...args);
    expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(0);
  };

  it('patch (merge, json, strategic), label, server-side apply and delete: refused without, executed with a certificate', async () => {
    await certified('patch', 'configmap', 'cfg', '--type', 'merge', '-p', '{"data":{"b":"2"}}');
    await certified('patch', 'configmap', 'cfg', '--type', 'json', '-p', '[{"op":"add","path":"/data/c","value":"3"}]');
    await certified('patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}');
    await certified('label', 'configmap', 'cfg', 'team=ops');
    const manifest = path.join(dir, 'applied.yaml');
    await writeFile(manifest, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n');
    await certified('apply', '--server-side', '-f', manifest);
    await certified('delete', 'configmap', 'applied');
    const cm = (await adminCall(live, 'GET', '/api/v1/namespaces/har-demo/configmaps/cfg')).body as { data: Record<string, string>; metadata: { labels: Record<string, string> } };
    expect(cm.data).toMatchObject({ a: '1', b: '2', c: '3' });
    expect(cm.metadata.labels).toMatchObject({ team: 'ops' });
    expect((await adminCall(live, 'GET', '/api/v1/namespaces/har-demo/configmaps/applied')).status).toBe(404);
  });

  it('kubectl get -w streams events through seb as they happen', async () => {
    const { spawn } = await import('node:child_process');
    const watch = spawn('kubectl', ['--kubeconfig', kubeconfig, 'get', 'configmaps', '-w', '--output-watch-events', '-o', 'name'], { env: env() });
    let out = '';
    watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const until = async (text: string) => {
        const deadline = Date.now() + 10_000;
        while (!out.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        return out.includes(text);
      };
      expect(await until('configmap/cfg'), out).toBe(true); // the initial list
      expect((await adminCall(live, 'POST', '/api/v1/namespaces/har-demo/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' } })).status).toBe(201);
      expect(await until('configmap/watched'), out).toBe(true); // while the watch is still open
    } finally {
      watch.kill('SIGTERM');
    }
  });

  it('exec is refused without a certificate', async () => {
    const out = await viaSeb('exec', 'web-pod', '--', 'sh');
    expect(out.stderr).toMatch(/SEB_CERT_MISSING/);
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    const deadline = Date.now() + 10_000;
    let problems = auditProblems(trailOfOutput(seb.output()));
    while (problems.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      problems = auditProblems(trailOfOutput(seb.output()));
    }
    expect(problems).toEqual([]);
    expect(trailOfOutput(seb.output()).audit.length).toBeGreaterThan(0);
  });
});

async function adminCall(kube: KubeApiServer, method: 'GET' | 'POST' | 'PATCH', p: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: unknown }> {
  const { Agent, request } = await import('undici');
  const res = await request(`${kube.url}${p}`, { method, dispatcher: new Agent({ connect: { ca: kube.caPem } }), headers: { authorization: `Bearer ${kube.tokens.admin}`, ...(body ? { 'content-type': contentType } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.statusCode, body: await res.body.json() };
}
