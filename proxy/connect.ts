// CONNECT on the forward proxy listener: route the destination, then intercept (terminate TLS with a leaf for
// that host and hand the decrypted connection to the HTTP server), tunnel (blind TCP relay), or refuse.
import type { IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Destination, ProxyContext } from './context.ts';
import { writeRawRefusal } from './respond.ts';
import { formatAuthority, parseAuthority, type Authority } from './routing.ts';

/** Decrypted sockets and the CONNECT destination they belong to; requests on them are read by `emitDecrypted`. */
export type InterceptedSockets = WeakMap<Duplex, Destination>;

export function handleConnect(ctx: ProxyContext, intercepted: InterceptedSockets, emitDecrypted: (s: TLSSocket) => void) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy()); // the HTTP server no longer watches this socket
    const refuse = (code: Parameters<typeof writeRawRefusal>[1], message: string, target = req.url ?? '') => {
      ctx.metrics.refusals.inc({ reason: code });
      ctx.logger.info({ event: 'connect', target: target.slice(0, 300), outcome: 'refused', code, message }, 'connect');
      writeRawRefusal(socket, code, message);
    };
    if (intercepted.has(socket)) return refuse('SEB_BAD_REQUEST', 'CONNECT inside an intercepted connection is not allowed');
    if (ctx.tracker.draining) return refuse('SEB_SHUTTING_DOWN', 'seb is shutting down; retry against the restarted sidecar');
    const authority = parseAuthority(req.url ?? '');
    if (!authority) return refuse('SEB_BAD_REQUEST', `CONNECT target "${(req.url ?? '').slice(0, 120)}" is not host:port`);
    const route = ctx.router(authority);
    switch (route.kind) {
      case 'refuse':
        return refuse('SEB_HOST_NOT_ALLOWED', route.message, formatAuthority(authority));
      case 'tunnel':
        return tunnel(ctx, authority, socket, head);
      case 'intercept':
        return void intercept(ctx, { platform: route.platform, authority, scheme: 'https', via: 'connect' }, socket, head, intercepted, emitDecrypted)
          .catch((err: unknown) => {
            ctx.logger.error({ event: 'intercept', host: authority.host, err: String(err) }, 'interception failed');
            refuse('SEB_INTERNAL', `seb could not prepare a TLS certificate for ${authority.host}; see the seb log`, formatAuthority(authority));
          });
    }
  };
}

function tunnel(ctx: ProxyContext, authority: Authority, client: Duplex, head: Buffer): void {
  const target = formatAuthority(authority);
  const upstream: Socket = netConnect({ host: authority.host, port: authority.port });
  let established = false;
  upstream.once('connect', () => {
    established = true;
    ctx.logger.info({ event: 'connect', target, outcome: 'tunnelled' }, 'connect');
    ctx.metrics.requests.inc({ platform: 'tunnel', host: target, outcome: 'tunnelled' });
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', (err) => {
    if (!established) {
      ctx.metrics.refusals.inc({ reason: 'SEB_UPSTREAM_UNAVAILABLE' });
      writeRawRefusal(client, 'SEB_UPSTREAM_UNAVAILABLE', `cannot reach tunnelled host ${target}: ${err.message}`);
    } else client.destroy();
  });
  client.on('error', () => upstream.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  upstream.setTimeout(ctx.config.limits.tunnelIdleTimeoutMs, () => upstream.destroy());
  ctx.tracker.adopt(client);
  ctx.tracker.adopt(upstream);
}

async function intercept(ctx: ProxyContext, dest: Destination, socket: Duplex, head: Buffer, intercepted: InterceptedSockets, emitDecrypted: (s: TLSSocket) => void): Promise<void> {
  // Mint (or fetch) the leaf before answering 200, so a failure is a clean 502 rather than a broken handshake.
  const context = await ctx.tlsContexts.get(dest.authority.host);
  if (socket.destroyed) return;
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) socket.unshift(head);
  const tls = new TLSSocket(socket, {
    isServer: true,
    secureContext: context,
    ALPNProtocols: ['http/1.1'],
    // The TLS server name must be the CONNECT host (or absent): seb routes and certifies by that one name.
    SNICallback: (servername, cb) => {
      if (servername.toLowerCase() === dest.authority.host) cb(null, context);
      else cb(new Error(`TLS server name ${servername} differs from CONNECT destination ${dest.authority.host}`));
    },
  });
  const handshakeTimer = setTimeout(() => {
    ctx.logger.warn({ event: 'tls', host: dest.authority.host, outcome: 'handshake_timeout' }, 'TLS handshake timed out');
    ctx.metrics.refusals.inc({ reason: 'SEB_TIMEOUT' });
    tls.destroy();
  }, ctx.config.limits.tlsHandshakeTimeoutMs);
  tls.once('secure', () => {
    clearTimeout(handshakeTimer);
    intercepted.set(tls, dest);
    emitDecrypted(tls);
  });
  tls.on('error', (err) => {
    clearTimeout(handshakeTimer);
    ctx.logger.warn({ event: 'tls', host: dest.authority.host, outcome: 'tls_error', error: err.message }, 'TLS error on intercepted connection');
    tls.destroy();
  });
  socket.on('error', () => tls.destroy());
  tls.once('close', () => clearTimeout(handshakeTimer));
}
