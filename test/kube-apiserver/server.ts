// startKubeApiServer: an in-process HTTPS (HTTP/1.1) Kubernetes API server, faithful to the recorded
// kube-apiserver v1.33, for tests that drive it with the real kubectl and @kubernetes/client-node.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { generateServingCert } from './cert.ts';
import { generateSigningKeys } from './token.ts';
import { createStore, getObject, putObject, type Obj, type Store } from './store.ts';
import { bootstrapRbac } from './rbac.ts';
import { initMetadata, orderMetadata } from './objects.ts';
import { resources } from './resources.ts';
import { populateNamespace } from './crud.ts';
import { issueToken } from './reviews.ts';
import { route } from './router.ts';
import { ANONYMOUS } from './auth.ts';
import type { Ctx, KubeApiServerOptions, ServerState, UserInfo } from './types.ts';

export interface KubeApiServer {
  /** https://127.0.0.1:<port> */
  url: string;
  port: number;
  /** PEM of the CA that signed the serving certificate (kubeconfig certificate-authority-data = base64 of it). */
  caPem: string;
  /** Bearer tokens: admin (system:masters), alice (no grants), agent (SA, ClusterRole view), executor (SA, ClusterRole edit) and any extra executors. */
  tokens: Record<string, string>;
  namespace: string;
  store: Store;
  state: ServerState;
  /** Adds a static token for `user` (like a line of --token-auth-file) and returns it: e.g. a node or a control-plane user. */
  addUser(user: UserInfo): string;
  /** Issues a ServiceAccount token like POST .../serviceaccounts/<name>/token. */
  createToken(namespace: string, serviceAccount: string, spec?: { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: { kind: string; apiVersion?: string; name: string; uid?: string } }): string;
  /** Reads a stored object (group '' for the core group). */
  getObject(group: string, resource: string, namespace: string, name: string): Obj | undefined;
  /** Writes a kubeconfig for `token` and returns its path (use with kubectl --kubeconfig). */
  kubeconfig(token: string, file: string): string;
  close(): Promise<void>;
}

function systemObject(state: ServerState, group: string, resource: string, obj: Obj): Obj {
  const info = [...resources().values()].find((r) => r.group === group && r.resource === resource)!;
  initMetadata(info, obj);
  return putObject(state.store, group, resource, orderMetadata(obj));
}

function ensureNamespace(state: ServerState, name: string): void {
  if (getObject(state.store, '', 'namespaces', '', name)) return;
  systemObject(state, '', 'namespaces', { kind: 'Namespace', apiVersion: 'v1', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  populateNamespace(state, name);
}

function serviceAccountWithBinding(state: ServerState, ns: string, name: string, clusterRole: string): void {
  systemObject(state, '', 'serviceaccounts', { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name, namespace: ns } });
  systemObject(state, 'rbac.authorization.k8s.io', 'rolebindings', {
    kind: 'RoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { name: `${name}-${clusterRole}`, namespace: ns },
    subjects: [{ kind: 'ServiceAccount', name, namespace: ns }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
  });
}

export async function startKubeApiServer(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const [cert, keys] = await Promise.all([generateServingCert(), Promise.resolve(generateSigningKeys())]);
  const namespace = opts.namespace ?? 'har-demo';
  const token = (): string => randomBytes(24).toString('base64url');
  const tokens: Record<string, string> = { admin: token(), alice: token() };
  const staticTokens = new Map<string, UserInfo>([
    [tokens.admin!, { username: 'admin', uid: 'admin-uid', groups: ['system:masters', 'system:authenticated'] }],
    [tokens.alice!, { username: 'alice', uid: 'alice-uid', groups: ['developers', 'system:authenticated'] }],
  ]);
  const state: ServerState = {
    store: createStore(), opts: { ...opts, namespace, authCacheTtlMs: opts.authCacheTtlMs ?? 10_000, podsReady: opts.podsReady ?? false, execPods: opts.execPods ?? false },
    staticTokens, ...keys, caPem: cert.caPem, authCache: new Map(), closers: new Set(),
    issuer: 'https://kubernetes.default.svc', apiAudiences: ['https://kubernetes.default.svc'],
  };
  bootstrapRbac(state.store);
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', namespace]) ensureNamespace(state, ns);
  serviceAccountWithBinding(state, namespace, 'agent', 'view');
  for (const ex of ['executor', ...(opts.executors ?? [])]) serviceAccountWithBinding(state, namespace, ex, 'edit');
  state.store.compactedRv = state.store.rv;
  for (const sa of ['agent', 'executor', ...(opts.executors ?? [])]) tokens[sa] = issueToken(state, namespace, sa, { expirationSeconds: 3600 }).token;

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, upgrade?: { socket: Duplex; head: Buffer; detach: () => void }): void => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const ctx: Ctx = { state, req, res, method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body, user: ANONYMOUS, authenticatedUser: ANONYMOUS, warnings: [] };
    const report = (status: number): void => opts.onRequest?.({ method: ctx.method, path: ctx.path, query: url.search, user: ctx.user.username, status, contentType: String(req.headers['content-type'] ?? ''), body: ctx.body.toString('utf8') });
    if (upgrade) ctx.upgrade = { socket: upgrade.socket, head: upgrade.head, upgraded: () => { upgrade.detach(); report(101); } };
    if (opts.onRequest) res.once('finish', () => report(res.statusCode));
    void route(ctx);
  };
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  // Upgrade requests (exec/attach: WebSocket, SPDY/3.1) get a normal HTTP response written on the raw socket unless
  // the exec handler takes the connection over.
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false; // the socket is not handed back to the HTTP parser: say so (Connection: close)
    res.assignSocket(socket as Socket);
    res.once('finish', () => { res.detachSocket(socket as Socket); socket.end(); });
    handle(req, res, Buffer.alloc(0), { socket, head, detach: () => res.detachSocket(socket as Socket) });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, opts.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  const kube: KubeApiServer = {
    url, port, caPem: cert.caPem, tokens, namespace, store: state.store, state,
    addUser(user) {
      const t = token();
      staticTokens.set(t, { ...user, groups: user.groups.includes('system:authenticated') ? user.groups : [...user.groups, 'system:authenticated'] });
      return t;
    },
    createToken: (ns, sa, spec = {}) => issueToken(state, ns, sa, spec).token,
    getObject: (group, resource, ns, name) => getObject(state.store, group, resource, ns, name),
    kubeconfig(tok, file) {
      const yaml = `apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: ${url}\n    certificate-authority-data: ${Buffer.from(cert.caPem).toString('base64')}\nusers:\n- name: test\n  user:\n    token: ${tok}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: ${namespace}\ncurrent-context: test\n`;
      return writeFileSyncReturning(file, yaml);
    },
    async close() {
      for (const c of [...state.closers]) c();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return kube;
}

function writeFileSyncReturning(file: string, text: string): string {
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}
