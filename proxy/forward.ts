// Sends one request upstream through undici (pooled keep-alive connections) and streams the response back
// chunk by chunk, so long responses such as Kubernetes watches reach the agent as they are produced.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import type { Upstream } from './upstream.ts';

export type ForwardResult =
  | { readonly kind: 'forwarded'; readonly status: number }
  | { readonly kind: 'upstream_error'; readonly message: string }
  | { readonly kind: 'client_gone'; readonly status?: number };

export interface ForwardOptions {
  readonly dispatcher: Dispatcher;
  readonly headersTimeoutMs: number;
}

export async function forward(opts: ForwardOptions, req: IncomingMessage, res: ServerResponse, upstream: Upstream, body: Buffer): Promise<ForwardResult> {
  const abort = new AbortController();
  const onClientClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClientClose);
  let response: Dispatcher.ResponseData;
  try {
    response = await opts.dispatcher.request({
      origin: upstream.origin,
      path: req.url ?? '/',
      method: req.method as Dispatcher.HttpMethod,
      headers: { ...upstreamRequestHeaders(req.headers), host: upstream.hostHeader },
      body: body.length > 0 || !['GET', 'HEAD'].includes(req.method ?? '') ? body : null,
      signal: abort.signal,
      headersTimeout: opts.headersTimeoutMs,
      bodyTimeout: 0, // watches may be quiet for minutes; the agent closing the connection ends them
    });
  } catch (err) {
    res.off('close', onClientClose);
    if (abort.signal.aborted) return { kind: 'client_gone' };
    return { kind: 'upstream_error', message: describeError(err) };
  }
  const status = response.statusCode;
  try {
    res.writeHead(status, downstreamResponseHeaders(response.headers));
    res.flushHeaders();
    await pipeline(response.body, res);
    return { kind: 'forwarded', status };
  } catch {
    response.body.destroy();
    return { kind: 'client_gone', status };
  } finally {
    res.off('close', onClientClose);
  }
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
