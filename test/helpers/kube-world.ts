// A Kubernetes world for end-to-end tests: the API test server, a ConfigMap to change, a SAB, and helpers that
// send requests through seb's forward proxy the way kubectl does (CONNECT to the API server host).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ProxyAgent, request, type Dispatcher } from 'undici';
import { digestState, type Contract, type JsonValue } from '../../certs/sab/index.ts';
import { startKubeApiServer, type KubeApiServer, type RecordedRequest } from '../kube-apiserver/index.ts';
import { createTestSab, type TestSab } from './sab.ts';
import { tempDir } from './seb.ts';

export const KUBE_HOST = 'kubernetes.default.svc';
export const SUBJECT = 'system:serviceaccount:har-demo:agent';
export const CM_PATH = '/api/v1/namespaces/har-demo/configmaps/settings';

export interface KubeWorld {
  readonly kube: KubeApiServer;
  readonly sab: TestSab;
  readonly dir: string;
  readonly caFile: string;
  /** seb configuration pointing at this world (merge into startTestSeb overrides). */
  readonly sebConfig: Record<string, unknown>;
  /** Upstream PATCHes of the ConfigMap that the API server answered 200. */
  readonly executedPatches: () => number;
  /** A certificate for a merge patch of the ConfigMap, with the drift check on /data as the server has it now. */
  patchCertificate(value: string, opts?: { ttl?: number }): Promise<string>;
  close(): Promise<void>;
}

export function patchContract(value: string): Contract {
  // As kubectl patch --type merge sends it: the body, its field manager and the patch type.
  return { platform: 'kube', operation: 'patch', targets: [{ group: '', version: 'v1', resource: 'configmaps', namespace: 'har-demo', name: 'settings' }], params: { body: { data: { mode: value } }, query: { fieldManager: ['kubectl-patch'] }, patchType: 'merge' }, risk: 'low' };
}

export async function startKubeWorld(opts: { authCacheTtlMs?: number; onRequest?: (r: RecordedRequest) => void } = {}): Promise<KubeWorld> {
  let patches = 0;
  const kube = await startKubeApiServer({
    ...(opts.authCacheTtlMs !== undefined ? { authCacheTtlMs: opts.authCacheTtlMs } : {}),
    onRequest: (r) => {
      if (r.method === 'PATCH' && r.path === CM_PATH && r.status === 200) patches++;
      opts.onRequest?.(r);
    },
  });
  const admin = await fetchJson(kube, 'POST', '/api/v1/namespaces/har-demo/configmaps', kube.tokens.admin!, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'initial' } });
  if (admin.status !== 201) throw new Error(`could not create the ConfigMap: ${admin.status}`);
  const dir = await tempDir('seb-kube-world-');
  const caFile = path.join(dir, 'kube-ca.pem');
  await writeFile(caFile, kube.caPem);
  const sab = await createTestSab(dir, SUBJECT);
  return {
    kube, sab, dir, caFile,
    sebConfig: { intercept: { kube: [KUBE_HOST] }, upstreams: { kube: kube.url }, upstreamTls: { caFiles: [caFile] }, trust: { file: sab.trustFile }, agent: { subject: SUBJECT } },
    executedPatches: () => patches,
    async patchCertificate(value, opts = {}) {
      const current = await fetchJson(kube, 'GET', CM_PATH, kube.tokens.admin!);
      return sab.issue(patchContract(value), { admitted: { waived: false, state: digestState(current.body as JsonValue, ['/data']), epsilon: 0 }, ...(opts.ttl ? { ttl: opts.ttl } : {}) });
    },
    close: () => kube.close(),
  };
}

/** A request through seb's forward proxy, as kubectl would send it, with the executor's token (agent-credentials
 * mode) unless another token is given. */
export async function viaSeb(dispatcher: Dispatcher, world: KubeWorld, method: 'GET' | 'PATCH', certificate?: string, value = 'changed', token = world.kube.tokens.executor): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`https://${KUBE_HOST}${CM_PATH}${method === 'PATCH' ? '?fieldManager=kubectl-patch' : ''}`, {
    dispatcher,
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(method === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {}),
      ...(certificate ? { 'seb-certificate': certificate } : {}),
    },
    ...(method === 'PATCH' ? { body: JSON.stringify({ data: { mode: value } }) } : {}),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

export function proxyTo(proxyPort: number, sebCaPem: string, connections = 8): ProxyAgent {
  return new ProxyAgent({ uri: `http://127.0.0.1:${proxyPort}`, requestTls: { ca: sebCaPem }, connections });
}

export async function fetchJson(kube: KubeApiServer, method: string, p: string, token: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const { Agent } = await import('undici');
  const res = await request(`${kube.url}${p}`, {
    method: method as Dispatcher.HttpMethod,
    dispatcher: new Agent({ connect: { ca: kube.caPem } }),
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, body: await res.body.json() };
}
