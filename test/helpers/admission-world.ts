// A cluster with a protected namespace, for admission end-to-end tests: the Kubernetes API test server with
// har-demo labelled seb.openkedge.io/protected=true, seb's own ServiceAccount (seb-system/seb, allowed to manage
// per-execution Secrets and request executor tokens, and to read), an agent that was granted `edit` by mistake (so
// RBAC lets its writes through and only the webhook stands in the way), the webhook's Service, and replicas of
// `seb webhook serve` as separate processes behind that Service.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { generateServingCert } from '../kube-apiserver/cert.ts';
import { startKubeApiServer, type KubeApiServer, type RecordedRequest } from '../kube-apiserver/index.ts';
import { PROTECTED_LABEL, validatingWebhookConfiguration } from '../../admission/webhook-config.ts';
import { SEB_BIN } from './run.ts';

export const NS = 'har-demo';
export const SEB_USER = 'system:serviceaccount:seb-system:seb';
export const WEBHOOK_SERVICE = { namespace: 'seb-system', name: 'seb-webhook', port: 443 } as const;

export interface AdmissionCluster {
  readonly kube: KubeApiServer;
  /** seb's own token (seb-system/seb). */
  readonly sebToken: string;
  /** The webhook serving certificate files and the CA that signed them. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly caPem: string };
  /** host:port of the replicas the webhook Service sends to, in turn. */
  readonly replicas: string[];
  /** Registers the ValidatingWebhookConfiguration (after seeding: from then on, the namespace is protected). */
  protect(): Promise<void>;
  call(method: string, p: string, token: string, body?: unknown, contentType?: string, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
}

export async function startAdmissionCluster(dir: string, opts: { onRequest?: (r: RecordedRequest) => void } = {}): Promise<AdmissionCluster> {
  const replicas: string[] = [];
  let turn = 0;
  const kube = await startKubeApiServer({
    ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
    // The Service's endpoints: round robin over the live replicas, as kube-proxy would.
    webhookServiceAddress: (svc) => (svc.namespace === WEBHOOK_SERVICE.namespace && svc.name === WEBHOOK_SERVICE.name && replicas.length ? replicas[turn++ % replicas.length] : undefined),
  });
  const dispatcher = new Agent({ connect: { ca: kube.caPem } });
  const call = async (method: string, p: string, token: string, body?: unknown, contentType = 'application/json', headers: Record<string, string> = {}) => {
    const res = await request(`${kube.url}${p}`, {
      method: method as Dispatcher.HttpMethod, dispatcher,
      headers: { ...headers, authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const admin = kube.tokens.admin!;
  const must = async (method: string, p: string, body: unknown, contentType?: string) => {
    const r = await call(method, p, admin, body, contentType);
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  await must('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'seb-system' } });
  await must('POST', '/api/v1/namespaces/seb-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'seb' } });
  await must('POST', `${rbac}/clusterroles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'seb-broker' },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete'] }, { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: ['executor'] }],
  });
  for (const role of ['seb-broker', 'view']) {
    await must('POST', `${rbac}/clusterrolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `seb-${role}` },
      subjects: [{ kind: 'ServiceAccount', name: 'seb', namespace: 'seb-system' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    });
  }
  // The mistake the webhook exists for: the agent may write in the protected namespace as far as RBAC goes.
  await must('POST', `${rbac}/namespaces/${NS}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'agent-edit-by-mistake' },
    subjects: [{ kind: 'ServiceAccount', name: 'agent', namespace: NS }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
  });
  await must('POST', `/api/v1/namespaces/${WEBHOOK_SERVICE.namespace}/services`, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: WEBHOOK_SERVICE.name }, spec: { selector: { app: 'seb-webhook' }, ports: [{ port: 443, targetPort: 8443 }] },
  });
  await must('PATCH', `/api/v1/namespaces/${NS}`, { metadata: { labels: { [PROTECTED_LABEL]: 'true' } } }, 'application/merge-patch+json');

  const serving = await generateServingCert([`${WEBHOOK_SERVICE.name}.${WEBHOOK_SERVICE.namespace}.svc`]);
  const tls = { certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key'), caPem: serving.caPem };
  await writeFile(tls.certFile, serving.certPem);
  await writeFile(tls.keyFile, serving.keyPem, { mode: 0o600 });
  return {
    kube, sebToken: kube.createToken('seb-system', 'seb', { expirationSeconds: 3600 }), tls, replicas, call,
    protect: () => must('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', validatingWebhookConfiguration({ service: WEBHOOK_SERVICE, caPem: serving.caPem })),
  };
}

export interface WebhookProcess {
  /** host:port it listens on. */
  readonly address: string;
  /** Its JSON log lines so far. */
  readonly logs: Array<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

/** `seb webhook serve` as its own process (a replica), on a free loopback port. */
export async function spawnWebhook(args: readonly string[], env: NodeJS.ProcessEnv): Promise<WebhookProcess> {
  const child: ChildProcess = spawn(process.execPath, [SEB_BIN, 'webhook', 'serve', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...env } });
  const logs: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        if (!line) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.event === 'started') resolve(entry);
      }
    });
    child.once('exit', (code) => reject(new Error(`seb webhook serve exited ${code}: ${err}`)));
  });
  return {
    address: String(started.listen), logs,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}
