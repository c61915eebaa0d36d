// The admin listener: liveness, readiness, Prometheus metrics, and the local API for staging certificates.
// Loopback by default.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Metrics } from './metrics.ts';
import { handleLocalApi, type LocalApiDeps } from './local-api.ts';

export interface AdminDeps {
  readonly metrics: Metrics;
  /** The local API (/v1/...): certificate staging. */
  readonly localApi?: LocalApiDeps;
  /** Ready means: listeners bound, CA loaded, not draining. */
  readonly isReady: () => boolean;
}

export function createAdminServer(deps: AdminDeps): Server {
  const server = createServer({ headersTimeout: 5_000, requestTimeout: 10_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (deps.localApi && handleLocalApi(deps.localApi, req, res, path)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { code: 'SEB_BAD_REQUEST', message: 'the admin endpoints accept GET only' });
    switch (path) {
      case '/healthz':
        return json(res, 200, { status: 'ok' });
      case '/readyz':
        return deps.isReady() ? json(res, 200, { status: 'ready' }) : json(res, 503, { status: 'not ready' });
      case '/metrics':
        return void deps.metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
            res.end(text);
          },
          () => json(res, 500, { code: 'SEB_INTERNAL', message: 'metrics collection failed' }),
        );
      default:
        return json(res, 404, { code: 'SEB_BAD_REQUEST', message: `no admin endpoint ${path}; try /healthz, /readyz or /metrics` });
    }
  });
  return server;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
