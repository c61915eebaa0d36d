// Upgrade requests (WebSocket; SPDY/3.1 for kubectl exec/port-forward): the upgrade request is sent upstream on a
// fresh connection; after a 101 both sockets are piped together. A refused upgrade (any other status) is relayed
// as a complete response and the connection closed, so no later request on it can bypass seb.
import type { ExecutionOutcome } from '../pipeline/types.ts';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Destination, ProxyContext } from './context.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { writeRawRefusal } from './respond.ts';
import { formatAuthority } from './routing.ts';
import { upstreamFor } from './upstream.ts';
import { checkGate, originFormUrl } from './request.ts';
import { withoutCertificate } from '../pipeline/gate.ts';
import { STATUS_CODES } from 'node:http';

const ALLOWED_PROTOCOLS = new Set(['websocket', 'spdy/3.1']);
const MAX_REFUSAL_BODY = 1_048_576;

export function relayUpgrade(ctx: ProxyContext, req: IncomingMessage, client: Duplex, head: Buffer, dest: Destination): void {
  const started = performance.now();
  const host = formatAuthority(dest.authority);
  const protocol = String(req.headers.upgrade ?? '').toLowerCase();
  const path = req.url ?? '/';
  const log = { platform: dest.platform, via: dest.via, host, method: req.method, path: path.split('?')[0], upgrade: protocol };
  let finished = false;
  const finish = (outcome: string, extra: Record<string, unknown> = {}) => {
    if (finished) return;
    finished = true;
    const durationMs = performance.now() - started;
    ctx.metrics.requests.inc({ platform: dest.platform, host, outcome });
    ctx.metrics.latency.observe({ platform: dest.platform, outcome }, durationMs / 1000);
    ctx.logger.info({ ...log, ...extra, outcome, durationMs: Math.round(durationMs * 100) / 100 }, 'upgrade');
  };
  if (!ALLOWED_PROTOCOLS.has(protocol) || !path.startsWith('/')) {
    writeRawRefusal(client, 'SEB_BAD_REQUEST', `Upgrade to "${protocol.slice(0, 40)}" is not supported; seb relays websocket and SPDY/3.1 only`);
    return finish('refused', { code: 'SEB_BAD_REQUEST' });
  }
  if (ctx.tracker.draining) {
    writeRawRefusal(client, 'SEB_SHUTTING_DOWN', 'seb is shutting down; retry against the restarted sidecar');
    return finish('refused', { code: 'SEB_SHUTTING_DOWN' });
  }
  void gateThenRelay(ctx, req, client, head, dest, finish);
}

async function gateThenRelay(ctx: ProxyContext, req: IncomingMessage, client: Duplex, head: Buffer, dest: Destination, finish: (outcome: string, extra?: Record<string, unknown>) => void): Promise<void> {
  const path = req.url ?? '/';
  const target = originFormUrl(path);
  if (!target) {
    writeRawRefusal(client, 'SEB_BAD_REQUEST', 'the upgrade request target is not a normalised origin-form path');
    return finish('refused', { code: 'SEB_BAD_REQUEST' });
  }
  // exec/attach/portforward open sessions into workloads: they pass the gate like any mutation. While the gate
  // decides, the client is read (keeping any early bytes for upstream) so that an agent leaving is noticed: an
  // upgraded socket is half-open and would otherwise look alive.
  const early: Buffer[] = [];
  let gone = false;
  const keep = (chunk: Buffer) => { early.push(chunk); };
  const left = () => { gone = true; };
  client.on('data', keep);
  client.once('end', left);
  client.once('close', left);
  client.once('error', left);
  const sent = upstreamRequestHeaders(req.headers); // judged exactly as forwarded (see request.ts)
  const gate = await checkGate(ctx, dest, { host: dest.authority.host, ...(req.headers.host ? { hostHeader: req.headers.host } : {}), method: req.method ?? 'GET', url: target, headers: sent, body: Buffer.alloc(0) });
  client.off('data', keep);
  client.off('end', left);
  client.off('close', left);
  client.off('error', left);
  client.pause();
  if (gate.kind === 'deny') {
    const r = gate.response;
    const lines = Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`);
    client.end(`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\nConnection: close\r\n\r\n${r.body}`);
    ctx.metrics.refusals.inc({ reason: gate.error.code });
    return finish('denied', { mutation: true, code: gate.error.code, message: gate.error.message, stages: gate.stages, ...(gate.cid ? { cid: gate.cid } : {}) });
  }
  const forwardHeaders = gate.kind === 'execute' || gate.headers ? gate.headers! : withoutCertificate(sent);
  // An executed upgrade's outcome is recorded once: when upstream answered (completed) or failed (uncertain).
  let recorded = false;
  const complete = (outcome: ExecutionOutcome) => {
    if (gate.kind !== 'execute' || recorded) return;
    recorded = true;
    void gate.complete(outcome).then((r) => {
      if (!r.ok) ctx.logger.error({ event: 'outcome_not_recorded', cid: gate.cid, code: r.error.code, error: r.error.message }, 'the outcome record of an executed mutation could not be written');
    });
  };
  // An agent that left while the gate decided: nothing is sent on its behalf.
  if (gone || client.destroyed || !client.writable) {
    client.destroy();
    complete({ result: 'not_forwarded', error: 'the agent disconnected before seb forwarded the upgrade; nothing was sent' });
    if (gate.kind === 'execute') void gate.identity.release?.().catch(() => undefined);
    return finish('client_gone', { sent: false, ...(gate.kind === 'execute' ? { mutation: true, cid: gate.cid, stages: gate.stages } : {}) });
  }
  if (gate.kind === 'execute') client.once('close', () => { complete({ result: 'uncertain', error: 'the connection closed before the platform answered' }); void gate.identity.release?.().catch(() => undefined); });
  const upstream = upstreamFor(ctx.config.upstreams, dest);
  const url = new URL(upstream.origin);
  const secure = url.protocol === 'https:';
  const outgoing = (secure ? httpsRequest : httpRequest)({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (secure ? 443 : 80),
    method: req.method,
    path,
    agent: false,
    headers: { ...upstreamRequestHeaders(forwardHeaders), host: upstream.hostHeader, connection: 'Upgrade', upgrade: req.headers.upgrade! },
    ...(secure ? { secureContext: ctx.upstreamTls, servername: url.hostname } : {}),
    timeout: ctx.config.limits.upstreamHeadersTimeoutMs,
  });
  ctx.tracker.adopt(client);
  client.on('error', () => outgoing.destroy());
  client.once('close', () => outgoing.destroy());

  let answered = false; // once upstream answered, an error must not write a second response into the stream
  outgoing.once('upgrade', (res: IncomingMessage, upstreamSocket: Duplex, upstreamHead: Buffer) => {
    answered = true;
    complete({ result: 'completed', status: 101, ...(typeof res.headers['audit-id'] === 'string' ? { requestId: res.headers['audit-id'] } : {}) });
    ctx.tracker.adopt(upstreamSocket);
    client.write(rawHead(res));
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (head.length > 0) upstreamSocket.write(head);
    for (const chunk of early) upstreamSocket.write(chunk);
    upstreamSocket.pipe(client);
    client.pipe(upstreamSocket);
    upstreamSocket.on('error', () => client.destroy());
    upstreamSocket.once('close', () => client.destroy());
    client.once('close', () => upstreamSocket.destroy());
    finish('upgraded', { status: 101, upstream: upstream.origin, ...(gate.kind === 'execute' ? { mutation: true, cid: gate.cid, stages: gate.stages, principal: gate.identity.principal } : {}) });
  });
  outgoing.once('response', (res: IncomingMessage) => {
    answered = true;
    // Not upgraded: relay the whole response with a fixed length, then close.
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REFUSAL_BODY) chunks.push(c);
      else res.destroy();
    });
    res.once('end', () => {
      const body = Buffer.concat(chunks);
      complete({ result: 'completed', status: res.statusCode ?? 0, ...(typeof res.headers['audit-id'] === 'string' ? { requestId: res.headers['audit-id'] } : {}) });
      const headers = res.rawHeaders.reduce<string[]>((lines, v, i, all) => {
        if (i % 2 === 0 && !/^(content-length|transfer-encoding|connection|keep-alive)$/i.test(v)) lines.push(`${v}: ${all[i + 1]}`);
        return lines;
      }, []);
      client.write(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n${headers.join('\r\n')}${headers.length ? '\r\n' : ''}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      client.end(body);
      finish('forwarded', { status: res.statusCode, upstream: upstream.origin, ...(gate.kind === 'execute' ? { mutation: true, cid: gate.cid, stages: gate.stages, principal: gate.identity.principal } : {}) });
    });
    res.on('error', () => client.destroy());
  });
  outgoing.once('timeout', () => outgoing.destroy(new Error('upstream did not answer the upgrade in time')));
  outgoing.on('error', (err) => {
    if (answered) return;
    complete({ result: 'uncertain', error: err.message });
    if (!client.destroyed) writeRawRefusal(client, 'SEB_UPSTREAM_UNAVAILABLE', `cannot reach ${upstream.origin}: ${err.message}`);
    finish('refused', { code: 'SEB_UPSTREAM_UNAVAILABLE', ...(gate.kind === 'execute' ? { mutation: true, cid: gate.cid } : {}) });
  });
  outgoing.end();
}

function rawHead(res: IncomingMessage): string {
  const lines = [`HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}`];
  for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  return lines.join('\r\n') + '\r\n\r\n';
}
