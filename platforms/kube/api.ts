// seb's own small Kubernetes API client: JSON requests to the API server with seb's identity, bounded in time,
// failures as values. (Agent traffic never goes through here; this is for minting, cleanup and drift reads.)
import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';

export interface KubeApi {
  call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token?: string): Promise<{ ok: true; status: number; body: unknown } | { ok: false; message: string }>;
  /** seb's identity token, read from its file each time (projected tokens rotate). */
  identityToken(): Promise<string | undefined>;
}

export function kubeApi(deps: { dispatcher: Dispatcher; upstream: string | undefined; timeoutMs: number; identityTokenFile: string | undefined }): KubeApi {
  const identityToken = async () => (deps.identityTokenFile ? (await readFile(deps.identityTokenFile, 'utf8')).trim() : undefined);
  return {
    identityToken,
    async call(method, path, body, token) {
      if (!deps.upstream) return { ok: false, message: 'no Kubernetes API server configured (upstreams.kube)' };
      try {
        const bearer = token ?? (await identityToken());
        const res = await deps.dispatcher.request({
          origin: deps.upstream, path, method,
          headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          headersTimeout: deps.timeoutMs, bodyTimeout: deps.timeoutMs,
        });
        const text = await res.body.text();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* not JSON: kept as text for the message */
        }
        return { ok: true, status: res.statusCode, body: parsed };
      } catch (err) {
        return { ok: false, message: `${method} ${path}: ${(err as Error).message}` };
      }
    },
  };
}

/** The Status message of an error answer, for operator messages. */
export function statusMessage(body: unknown, status: number): string {
  const m = (body as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? `${status}: ${m}` : `status ${status}`;
}
