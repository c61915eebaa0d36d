// The two agent-facing listeners. The forward proxy (HTTPS_PROXY) takes CONNECT and absolute-form requests and
// also parses the decrypted connections it intercepts, so one set of limits and timeouts covers every request.
// The endpoint listener is a TLS server for clients that ignore HTTPS_PROXY.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { handleConnect, type InterceptedSockets } from './connect.ts';
import type { Destination, ProxyContext } from './context.ts';
import { endpointDestination } from './endpoint.ts';
import { forward } from './forward.ts';
import { handleInterceptedRequest, originFormUrl } from './request.ts';
import { withoutCertificate } from '../pipeline/gate.ts';
import { sendRefusal, writeRawRefusal } from './respond.ts';
import { parseAuthority } from './routing.ts';
import { readBody } from './body.ts';
import { relayUpgrade } from './upgrade.ts';
import type { SebCode } from '../errors/codes.ts';

function serverOptions(ctx: ProxyContext): ServerOptions {
  const l = ctx.config.limits;
  return {
    maxHeaderSize: l.maxHeaderBytes,
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: Math.max(l.requestTimeoutMs, l.headersTimeoutMs),
    keepAliveTimeout: l.idleTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, l.headersTimeoutMs),
    requireHostHeader: true,
    joinDuplicateHeaders: false,
  };
}

/** Parser errors (conflicting framing, bad bytes, oversized heads, slow clients) get a 4xx and a log line. */
function onClientError(ctx: ProxyContext, listener: string) {
  return (err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Duplex): void => {
    const code = err.code ?? 'UNKNOWN';
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [sebCode, message]: [SebCode, string] =
      code === 'HPE_HEADER_OVERFLOW' ? ['SEB_HEADERS_TOO_LARGE', `request head exceeds limits.maxHeaderBytes (${ctx.config.limits.maxHeaderBytes} bytes)`]
      : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['SEB_TIMEOUT', 'the request was not received within limits.headersTimeoutMs / limits.requestTimeoutMs']
      : ['SEB_BAD_REQUEST', `malformed HTTP request (${code}): ${err.message}`];
    ctx.metrics.refusals.inc({ reason: sebCode });
    ctx.logger.warn({ event: 'client_error', listener, code: sebCode, parserCode: code }, message);
    writeRawRefusal(socket, sebCode, message);
  };
}

function trackConnections(ctx: ProxyContext, server: Server, listener: string): void {
  server.on('connection', (socket: Duplex) => {
    ctx.metrics.connections.inc({ listener });
    socket.once('close', () => ctx.metrics.connections.dec({ listener }));
  });
}

export function createForwardProxyServer(ctx: ProxyContext): Server {
  const intercepted: InterceptedSockets = new WeakMap();
  const server = createHttpServer(serverOptions(ctx));
  server.timeout = ctx.config.limits.idleTimeoutMs;
  trackConnections(ctx, server, 'proxy');
  server.on('clientError', onClientError(ctx, 'proxy'));
  server.on('connect', handleConnect(ctx, intercepted, (tls: TLSSocket) => server.emit('connection', tls)));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const dest = intercepted.get(req.socket) ?? absoluteFormDestination(ctx, req, res);
    if (dest) void handleInterceptedRequest(ctx, req, res, dest).catch((err) => failed(ctx, res, err));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy()); // the HTTP server no longer watches this socket
    const dest = intercepted.get(req.socket) ?? absoluteFormDestination(ctx, req, undefined, socket);
    if (dest) relayUpgrade(ctx, req, socket, head, dest);
  });
  return server;
}

/**
 * A plain-HTTP proxy request ("GET http://host/path"): routed like CONNECT. An intercepted host continues as an
 * intercepted request (the URL rewritten to origin form); a tunnelled host is relayed as is; others are refused.
 */
function absoluteFormDestination(ctx: ProxyContext, req: IncomingMessage, res?: ServerResponse, socket?: Duplex): Destination | undefined {
  const refuse = (code: SebCode, message: string) => {
    ctx.metrics.refusals.inc({ reason: code });
    ctx.logger.info({ event: 'proxy_request', outcome: 'refused', code, message }, 'request');
    if (res) sendRefusal(res, code, message);
    else if (socket) writeRawRefusal(socket, code, message);
    return undefined;
  };
  let url: URL;
  try {
    url = new URL(req.url ?? '');
  } catch {
    return refuse('SEB_BAD_REQUEST', 'this is seb\'s forward proxy port: send absolute-form requests (http://host/path) or CONNECT host:port; the admin API is on listen.admin');
  }
  if (url.protocol !== 'http:') return refuse('SEB_BAD_REQUEST', `absolute-form requests must use http://, got ${url.protocol}; use CONNECT for https`);
  const authority = parseAuthority(url.host, 80);
  if (!authority) return refuse('SEB_BAD_REQUEST', `cannot parse the host of ${url.host.slice(0, 120)}`);
  const route = ctx.router(authority);
  req.url = url.pathname + url.search;
  if (route.kind === 'refuse') return refuse('SEB_HOST_NOT_ALLOWED', route.message);
  if (route.kind === 'intercept') return { platform: route.platform, authority, scheme: 'http', via: 'absolute' };
  if (res) void relayPlain(ctx, req, res, url);
  else if (socket) writeRawRefusal(socket, 'SEB_BAD_REQUEST', 'upgrades to tunnelled hosts must use CONNECT');
  return undefined;
}

/** A tunnelled host reached over plain HTTP: relayed without interpretation. */
async function relayPlain(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const done = ctx.tracker.begin();
  res.once('close', done);
  const body = await readBody(req, ctx.config.limits.maxBodyBytes);
  if (!body.ok) {
    if (body.reason === 'too_large') sendRefusal(res, 'SEB_BODY_TOO_LARGE', `request body exceeds limits.maxBodyBytes (${ctx.config.limits.maxBodyBytes} bytes)`, { close: true });
    return;
  }
  const result = await forward({ dispatcher: ctx.dispatcher, headersTimeoutMs: ctx.config.limits.upstreamHeadersTimeoutMs }, req, res, { origin: url.origin, hostHeader: url.host }, body.body, withoutCertificate(req.headers));
  ctx.metrics.requests.inc({ platform: 'tunnel', host: url.host, outcome: result.kind });
  ctx.logger.info({ platform: 'tunnel', via: 'absolute', host: url.host, method: req.method, outcome: result.kind }, 'request');
  if (result.kind === 'upstream_error') sendRefusal(res, 'SEB_UPSTREAM_UNAVAILABLE', `cannot reach ${url.origin}: ${result.message}`);
}

export function createEndpointServer(ctx: ProxyContext, leaf: { certPem: string; keyPem: string }): Server {
  const server = createHttpsServer({ ...serverOptions(ctx), cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] });
  server.timeout = ctx.config.limits.idleTimeoutMs;
  trackConnections(ctx, server, 'endpoint');
  server.on('clientError', onClientError(ctx, 'endpoint'));
  server.on('tlsClientError', (err: Error) => ctx.logger.warn({ event: 'tls', listener: 'endpoint', error: err.message }, 'TLS error'));
  const resolve = (req: IncomingMessage): ReturnType<typeof endpointDestination> => {
    const url = originFormUrl(req.url);
    if (!url) return { ok: false, code: 'SEB_BAD_REQUEST', message: 'the request target is not a normalised origin-form path' };
    return endpointDestination(ctx.config.upstreams, req, url);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const r = resolve(req);
    if (!r.ok) {
      ctx.metrics.refusals.inc({ reason: r.code });
      ctx.logger.info({ event: 'endpoint_request', outcome: 'refused', code: r.code, message: r.message }, 'request');
      return sendRefusal(res, r.code, r.message);
    }
    void handleInterceptedRequest(ctx, req, res, r.dest).catch((err) => failed(ctx, res, err));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy()); // the HTTP server no longer watches this socket
    const r = resolve(req);
    if (!r.ok) return writeRawRefusal(socket, r.code, r.message);
    relayUpgrade(ctx, req, socket, head, r.dest);
  });
  return server;
}

function failed(ctx: ProxyContext, res: ServerResponse, err: unknown): void {
  // A bug, not bad input: log it and fail this request closed; the process keeps serving.
  ctx.logger.error({ event: 'internal_error', err: err instanceof Error ? err.stack : String(err) }, 'request handler failed');
  sendRefusal(res, 'SEB_INTERNAL', 'seb could not process this request and refused it; see the seb log for details', { close: true });
}

