// Sends one request upstream through undici (pooled keep-alive connections) and streams the response back
// chunk by chunk, so long responses such as Kubernetes watches reach the agent as they are produced.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import type { Upstream } from './upstream.ts';

export type ForwardResult =
  /** `digest`: sha256 hex of the response body as relayed, when asked for (certified mutations' outcome records). */
  | { readonly kind: 'forwarded'; readonly status: number; readonly headers: IncomingHttpHeaders; readonly digest?: string }
  | { readonly kind: 'upstream_error'; readonly message: string }
  | { readonly kind: 'client_gone'; readonly status?: number; readonly headers?: IncomingHttpHeaders }
  /** The agent had already gone before anything was sent upstream. */
  | { readonly kind: 'not_sent' };

export interface ForwardOptions {
  readonly dispatcher: Dispatcher;
  readonly headersTimeoutMs: number;
  /** Hash the response body while relaying it. */
  readonly digest?: boolean;
}

/** `headers` are the request headers to send (the gate may have replaced the agent's credentials). */
export async function forward(opts: ForwardOptions, req: IncomingMessage, res: ServerResponse, upstream: Upstream, body: Buffer, headers: IncomingHttpHeaders | Record<string, string | string[]> = req.headers): Promise<ForwardResult> {
  // An agent that left while the gate decided gets nothing sent on its behalf (and no 'close' event would come).
  if (res.destroyed || res.writableEnded || req.socket?.destroyed) return { kind: 'not_sent' };
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
      headers: { ...upstreamRequestHeaders(headers), host: upstream.hostHeader },
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
  const upstreamHeaders = response.headers as IncomingHttpHeaders;
  const hash = opts.digest ? createHash('sha256') : undefined;
  if (hash) response.body.on('data', (chunk: Buffer) => hash.update(chunk));
  try {
    res.writeHead(status, downstreamResponseHeaders(response.headers));
    res.flushHeaders();
    await relayBody(response.body, res);
    return hash ? { kind: 'forwarded', status, headers: upstreamHeaders, digest: hash.digest('hex') } : { kind: 'forwarded', status, headers: upstreamHeaders };
  } catch {
    // The agent went away, or the upstream broke off mid-body: end both sides so neither waits for more.
    response.body.destroy();
    if (!res.writableFinished) res.destroy();
    return { kind: 'client_gone', status, headers: upstreamHeaders };
  } finally {
    res.off('close', onClientClose);
  }
}

/** pipe() with completion as a promise (stream.pipeline allocates an AbortController and a DOMException per call). */
function relayBody(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) return reject(new Error('the agent closed the connection'));
    const fail = (err?: Error) => reject(err ?? new Error('response closed early'));
    body.on('error', fail);
    res.once('close', () => (res.writableFinished ? resolve() : fail()));
    res.once('finish', () => resolve());
    body.pipe(res);
  });
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
