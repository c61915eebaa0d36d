// Shared types of the Kubernetes API test server.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { KeyObject } from 'node:crypto';
import type { ResourceInfo } from './resources.ts';
import type { Obj, Store } from './store.ts';

export interface UserInfo { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> }

export interface KubeApiServerOptions {
  /** Namespace created at start with the `agent` (ClusterRole view) and `executor` (ClusterRole edit) ServiceAccounts. Default `har-demo`. */
  namespace?: string;
  /** Extra executor ServiceAccounts (RoleBinding to ClusterRole edit) in `namespace`; tokens appear under their names. */
  executors?: string[];
  /** How long a successful token authentication is cached (a bound token outlives its bound object that long). Default 10 000 ms, as kube-apiserver; 0 disables. */
  authCacheTtlMs?: number;
  /** Deployment pods become ready (status.readyReplicas/availableReplicas = replicas). Default false: like the recording (no kubelet), pods stay Pending. */
  podsReady?: boolean;
  /** Pods are treated as running (bound to a node, status Running) and `exec` over WebSocket runs a tiny built-in command
   * set (echo, cat, true, false, sh -c 'exit N'). Default false: like the recording (no kubelet), exec/attach get 400
   * "pod NAME does not have a host assigned". */
  execPods?: boolean;
  /** Resolves a webhook `clientConfig.service` to the `host:port` to dial (the service's cluster IP in a real cluster).
   * Without it, a service reference fails like a Service without endpoints. */
  webhookServiceAddress?: (service: { namespace: string; name: string; port: number }) => string | undefined;
  /** Host to listen on. Default 127.0.0.1. */
  host?: string;
  /** Called for every request after it is answered (for tests that assert what reached the server). */
  onRequest?: (r: RecordedRequest) => void;
}

export interface RecordedRequest { method: string; path: string; query: string; user: string; status: number; contentType: string; body: string }

export interface ServerState {
  store: Store;
  opts: Required<Pick<KubeApiServerOptions, 'namespace' | 'authCacheTtlMs' | 'podsReady'>> & KubeApiServerOptions;
  staticTokens: Map<string, UserInfo>;
  signingKey: KeyObject;
  verifyKey: KeyObject;
  keyId: string;
  caPem: string;
  authCache: Map<string, { user: UserInfo; until: number }>;
  /** Watches and namespace finalisation timers, closed on shutdown. */
  closers: Set<() => void>;
  issuer: string;
  apiAudiences: string[];
}

export interface Target {
  info: ResourceInfo;
  namespace: string; // '' for cluster-scoped or all namespaces
  name: string; // '' for collections
  subresource: string;
}

export interface Ctx {
  state: ServerState;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  body: Buffer;
  user: UserInfo;
  /** The user before impersonation (for SubjectAccessReview-like checks). */
  authenticatedUser: UserInfo;
  /** Response header Warning values. */
  warnings: string[];
  /** Set for HTTP/1.1 upgrade requests (exec/attach): the raw socket and the bytes read after the headers. */
  upgrade?: { socket: Duplex; head: Buffer; upgraded: () => void };
}

export type { Obj };
