// Kubernetes mutation overhead: the same merge patch of a ConfigMap sent directly to the API test server and
// through seb with a certificate (all seven stages, drift read, TokenRequest minting with a per-execution
// Secret created and deleted), in one run; then certified mutations per second through one seb process.
import { freePort, waitForPort } from './ports.ts';
import { spawn } from 'node:child_process';
import { mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { digestState, generateSigningKey, newCid, newNonce, signCertificate, trustedKeyConfig, type JsonValue } from '../certs/sab/index.ts';
import { startKubeApiServer } from '../test/kube-apiserver/index.ts';
import { summarize, type LatencySummary } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SEQUENTIAL = Number(process.env.BENCH_KUBE_SEQUENTIAL ?? 300);
const CONCURRENT = Number(process.env.BENCH_KUBE_CONCURRENT ?? 400);
const CONCURRENCY = Number(process.env.BENCH_KUBE_CONCURRENCY ?? 16);
const HOST = 'kubernetes.default.svc';
const NS = 'har-demo';
const SUBJECT = 'bench-agent';

export async function benchKube(): Promise<Record<string, unknown>> {
  const kube = await startKubeApiServer({ namespace: NS });
  const admin = new Agent({ connect: { ca: kube.caPem }, connections: CONCURRENCY });
  const dir = await mkdtemp(path.join(tmpdir(), 'seb-bench-kube-'));
  const total = 2 * SEQUENTIAL + CONCURRENT + 40;
  for (let i = 0; i < total; i++) {
    const r = await call(admin, kube.url, 'POST', `/api/v1/namespaces/${NS}/configmaps`, kube.tokens.admin!, 'application/json', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { mode: 'initial' } });
    if (r !== 201) throw new Error(`creating cm-${i}: ${r}`);
  }
  const key = generateSigningKey();
  await writeFile(path.join(dir, 'trust.json'), JSON.stringify({ keys: [trustedKeyConfig(key)] }));
  await writeFile(path.join(dir, 'kube-ca.pem'), kube.caPem);
  await writeFile(path.join(dir, 'identity.token'), kube.tokens.admin!);
  const proxy = `127.0.0.1:${await freePort()}`;
  await writeFile(path.join(dir, 'seb.json'), JSON.stringify({
    stateDir: path.join(dir, 'state'), listen: { proxy, endpoint: 'off', admin: 'off' },
    intercept: { kube: [HOST] }, upstreams: { kube: kube.url }, upstreamTls: { caFiles: [path.join(dir, 'kube-ca.pem')] },
    trust: { file: path.join(dir, 'trust.json') }, agent: { subject: SUBJECT },
    kube: { identityTokenFile: path.join(dir, 'identity.token'), executorServiceAccount: 'executor', executorNamespace: NS },
  }));
  const log = await open(path.join(dir, 'seb.log'), 'w');
  const seb = spawn(process.execPath, [path.join(ROOT, 'bin', 'seb.ts'), 'serve', '--config', path.join(dir, 'seb.json')], { stdio: ['ignore', log.fd, 'inherit'] });
  await waitForPort(proxy);
  const sebCa = await (await import('node:fs/promises')).readFile(path.join(dir, 'state', 'ca', 'ca.crt'), 'utf8');
  const viaSeb = new ProxyAgent({ uri: `http://${proxy}`, requestTls: { ca: sebCa }, connections: CONCURRENCY });

  const now = Math.floor(Date.now() / 1000);
  const certFor = (i: number, value: string) => {
    const signed = signCertificate({
      v: 1, cid: newCid(), iss: 'bench', sub: SUBJECT,
      contract: { platform: 'kube', operation: 'patch', targets: [{ group: '', version: 'v1', resource: 'configmaps', namespace: NS, name: `cm-${i}` }], params: { body: { data: { mode: value } }, patchType: 'merge' }, risk: 'low' },
      admitted: { waived: false, state: digestState({ data: { mode: 'initial' } } as JsonValue, ['/data']), epsilon: 0 },
      nbf: now - 5, exp: now + 3600, policyEpoch: 0, revocationEpoch: 0, nonce: newNonce(),
    }, key);
    if (!signed.ok) throw new Error(signed.error.message);
    return signed.value;
  };
  const patchDirect = (i: number) => call(admin, kube.url, 'PATCH', `/api/v1/namespaces/${NS}/configmaps/cm-${i}`, kube.tokens.admin!, 'application/merge-patch+json', { data: { mode: 'direct' } });
  const patchViaSeb = (i: number, cert: string) => call(viaSeb, `https://${HOST}`, 'PATCH', `/api/v1/namespaces/${NS}/configmaps/cm-${i}`, kube.tokens.agent!, 'application/merge-patch+json', { data: { mode: 'seb' } }, cert);

  try {
    let next = 0;
    for (let w = 0; w < 20; w++) {
      await patchDirect(next++);
      const i = next++;
      if ((await patchViaSeb(i, certFor(i, 'seb'))) !== 200) throw new Error('warm-up mutation through seb was not executed');
    }
    const direct: number[] = [];
    const broker: number[] = [];
    for (let n = 0; n < SEQUENTIAL; n++) {
      const a = next++;
      let t = performance.now();
      if ((await patchDirect(a)) !== 200) throw new Error('direct patch failed');
      direct.push(performance.now() - t);
      const b = next++;
      const cert = certFor(b, 'seb');
      t = performance.now();
      if ((await patchViaSeb(b, cert)) !== 200) throw new Error('certified patch through seb failed');
      broker.push(performance.now() - t);
    }
    const certs = Array.from({ length: CONCURRENT }, (_, k) => ({ i: next + k, cert: certFor(next + k, 'seb') }));
    let cursor = 0;
    let executed = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (cursor < certs.length) {
        const { i, cert } = certs[cursor++]!;
        if ((await patchViaSeb(i, cert)) === 200) executed++;
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const d = summarize(direct);
    const s = summarize(broker);
    return {
      sequentialMutations: { n: SEQUENTIAL, direct: d, throughSeb: s, brokerOverheadP50Ms: round(s.p50 - d.p50), brokerOverheadP99Ms: round(s.p99 - d.p99) },
      certifiedMutationsPerSecond: { concurrency: CONCURRENCY, attempted: CONCURRENT, executed, perSecond: Math.round(executed / seconds) },
      paperReference: { brokerOverheadP50Ms: 28.2, brokerOverheadP99Ms: 47.1, tokenRequestAdapterReqPerSecond: 820 },
      note: 'one seb process, the Kubernetes API test server in the benchmark process, all on this machine; each certified mutation: seven stages, a drift GET, TokenRequest + Secret create, the PATCH, Secret delete after the response',
    };
  } finally {
    await viaSeb.close();
    await admin.close();
    seb.kill('SIGTERM');
    await new Promise((r) => seb.once('exit', r));
    await log.close();
    await kube.close();
  }
}

async function call(dispatcher: Dispatcher, origin: string, method: 'POST' | 'PATCH', p: string, token: string, contentType: string, body: unknown, cert?: string): Promise<number> {
  const res = await request(`${origin}${p}`, { dispatcher, method, headers: { authorization: `Bearer ${token}`, 'content-type': contentType, ...(cert ? { 'seb-certificate': cert } : {}) }, body: JSON.stringify(body) });
  await res.body.text();
  return res.statusCode;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

