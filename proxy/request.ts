// One intercepted request, from head to finished response: read the bounded body, identify the API call, forward,
// and record exactly one log line and the metrics. This is where the verification pipeline will sit, between
// identification and forwarding.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { identifyAws } from '../parsers/aws/identify.ts';
import { identifyKube } from '../parsers/kube/identify.ts';
import { sebError, type SebCode } from '../errors/codes.ts';
import { withoutCertificate, type GateRequest, type GateResult } from '../pipeline/gate.ts';
import { readBody } from './body.ts';
import type { Destination, ProxyContext } from './context.ts';
import { forward, type ForwardResult } from './forward.ts';
import type { ExecutionOutcome } from '../pipeline/types.ts';
import { sendRefusal } from './respond.ts';
import { formatAuthority, parseAuthority } from './routing.ts';
import { upstreamFor, type Upstream } from './upstream.ts';
import { upstreamRequestHeaders } from './headers.ts';

/** Platform-specific fields for the log line. */
function describe(dest: Destination, req: IncomingMessage, url: URL, body: Buffer): Record<string, string> {
  if (dest.platform === 'aws') {
    const aws = identifyAws({ method: req.method ?? 'GET', host: dest.authority.host, url, headers: req.headers, body });
    return { service: aws.service, region: aws.region, operation: aws.operation };
  }
  const kube = identifyKube({ method: req.method ?? 'GET', url });
  return { verb: kube.verb, operation: kube.operation };
}

export async function handleInterceptedRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, dest: Destination): Promise<void> {
  const started = performance.now();
  const done = ctx.tracker.begin();
  res.once('close', done);
  if (ctx.tracker.draining) res.setHeader('connection', 'close');
  const host = formatAuthority(dest.authority);
  const log: Record<string, unknown> = { requestId: randomUUID(), platform: dest.platform, via: dest.via, host, method: req.method };
  const finish = (outcome: string, extra: Record<string, unknown>) => {
    const durationMs = performance.now() - started;
    ctx.metrics.requests.inc({ platform: dest.platform, host, outcome });
    ctx.metrics.latency.observe({ platform: dest.platform, outcome }, durationMs / 1000);
    ctx.logger.info({ ...log, ...extra, outcome, durationMs: Math.round(durationMs * 100) / 100 }, 'request');
  };
  const refuse = (code: SebCode, message: string, close = false, extra: Record<string, unknown> = {}) => {
    sendRefusal(res, code, message, { close });
    ctx.metrics.refusals.inc({ reason: code });
    finish('refused', { code, message, ...extra });
  };

  const url = originFormUrl(req.url);
  if (!url) return refuse('SEB_BAD_REQUEST', `request target "${truncate(req.url ?? '')}" is not a normalised origin-form path (no \".\" or \"..\" segments, no \"//\", characters percent-encoded)`);
  log.path = url.pathname;
  if (dest.via === 'connect' && !hostMatches(req.headers.host, dest)) {
    return refuse('SEB_HOST_MISMATCH', `Host header "${truncate(req.headers.host ?? '')}" does not name the CONNECT destination ${host}; send requests for another host through their own CONNECT`);
  }
  const body = await readBody(req, ctx.config.limits.maxBodyBytes);
  if (!body.ok) {
    if (body.reason === 'aborted') return finish('client_gone', {});
    return refuse('SEB_BODY_TOO_LARGE', `request body exceeds limits.maxBodyBytes (${ctx.config.limits.maxBodyBytes} bytes); raise it in the seb config if such bodies are expected`, true);
  }
  Object.assign(log, describe(dest, req, url, body.body), { bytesIn: body.body.length });

  // The gate judges exactly the headers the upstream will receive: hop-by-hop headers, and any the client names in
  // Connection, are dropped first, so a header seen by the gate cannot vanish on the way out.
  const sent = upstreamRequestHeaders(req.headers);
  const gate = await checkGate(ctx, dest, { host: dest.authority.host, ...(req.headers.host ? { hostHeader: req.headers.host } : {}), method: req.method ?? 'GET', url, headers: sent, body: body.body });
  if (gate.kind === 'deny') {
    res.writeHead(gate.response.status, { ...gate.response.headers, 'content-length': Buffer.byteLength(gate.response.body) });
    res.end(gate.response.body);
    ctx.metrics.refusals.inc({ reason: gate.error.code });
    return finish('denied', { mutation: true, code: gate.error.code, message: gate.error.message, ...gateFields(gate) });
  }
  const upstream: Upstream = upstreamFor(ctx.config.upstreams, dest);
  const headers = gate.kind === 'execute' || gate.headers ? gate.headers! : withoutCertificate(sent);
  const outgoingBody = gate.kind === 'execute' && gate.body ? gate.body : body.body;
  // A platform that re-signed the request (AWS) names the Host it signed; it must go out unchanged.
  const signedHost = typeof headers.host === 'string' ? headers.host : undefined;
  const result = await forward({ dispatcher: ctx.dispatcher, headersTimeoutMs: ctx.config.limits.upstreamHeadersTimeoutMs, digest: gate.kind === 'execute' }, req, res, signedHost ? { ...upstream, hostHeader: signedHost } : upstream, outgoingBody, headers);
  if (gate.kind === 'execute') {
    // The outcome first (it may wait out a ledger outage), the executor credential's release beside it.
    const [recorded] = await Promise.all([gate.complete(outcomeOf(result)), gate.identity.release?.().catch(() => undefined)]);
    if (!recorded.ok) ctx.logger.error({ event: 'outcome_not_recorded', cid: gate.cid, code: recorded.error.code, error: recorded.error.message }, 'the outcome record of an executed mutation could not be written');
  }
  const executed = gate.kind === 'execute' ? { mutation: true, ...gateFields(gate), principal: gate.identity.principal, ...(gate.identity.credentialId ? { credentialId: gate.identity.credentialId } : {}) } : {};
  switch (result.kind) {
    case 'forwarded':
      return finish(gate.kind === 'execute' ? 'executed' : 'forwarded', { status: result.status, upstream: upstream.origin, ...executed });
    case 'client_gone':
      return finish('client_gone', { status: result.status, upstream: upstream.origin, ...executed });
    case 'not_sent':
      return finish('client_gone', { sent: false, upstream: upstream.origin, ...executed });
    case 'upstream_error':
      return refuse('SEB_UPSTREAM_UNAVAILABLE', `cannot reach ${upstream.origin}: ${result.message}`, false, executed);
  }
}

/** How a forwarded mutation ended, for its outcome record: the platform answered (completed, with its request id
 * and a digest of the answer), or the call broke off before an answer (uncertain: it may have executed). */
function outcomeOf(result: ForwardResult): ExecutionOutcome {
  if (result.kind === 'upstream_error') return { result: 'uncertain', error: result.message };
  if (result.kind === 'not_sent') return { result: 'not_forwarded', error: 'the agent disconnected before seb forwarded the call; nothing was sent' };
  const requestId = platformRequestId(result.headers);
  const common = { ...(result.status !== undefined ? { status: result.status } : {}), ...(requestId ? { requestId } : {}) };
  if (result.kind === 'forwarded') return { result: 'completed', ...common, ...(result.digest ? { responseDigest: result.digest } : {}) };
  // The agent left: if the platform had answered, the call executed (the body was cut); otherwise it may have.
  return result.status !== undefined ? { result: 'completed', ...common, error: 'the agent disconnected before the response was relayed in full' } : { result: 'uncertain', error: 'the agent disconnected before the platform answered' };
}

function platformRequestId(headers: IncomingHttpHeaders | undefined): string | undefined {
  if (!headers) return undefined;
  for (const name of ['x-amzn-requestid', 'x-amz-request-id', 'audit-id']) {
    const v = headers[name];
    if (typeof v === 'string' && v) return v;
  }
  return undefined;
}

/** The gate's verdict; a gate that throws is a bug, and the request is denied (fail closed). */
export async function checkGate(ctx: ProxyContext, dest: Destination, req: GateRequest): Promise<GateResult> {
  try {
    return await ctx.gate.check(dest.platform, req);
  } catch (err) {
    ctx.logger.error({ event: 'internal_error', err: err instanceof Error ? err.stack : String(err) }, 'gate failed');
    const error = sebError('SEB_INTERNAL', 'seb could not decide on this request and refused it; see the seb log');
    const body = JSON.stringify({ code: error.code, message: error.message });
    return { kind: 'deny', error, stages: [], response: { status: 500, headers: { 'content-type': 'application/json', 'seb-denial-code': error.code }, body } };
  }
}

function gateFields(gate: Exclude<GateResult, { kind: 'read' }>): Record<string, unknown> {
  const fields: Record<string, unknown> = { stages: gate.stages };
  if (gate.cid) fields.cid = gate.cid;
  if (gate.contract) fields.contract = { operation: gate.contract.operation, targets: gate.contract.targets };
  return fields;
}

/** The request target as a URL, only if it is already in normal form: URL parsing resolves "..", "." and
 * re-encodes characters, and the path seb classifies must be the very path the upstream receives. */
export function originFormUrl(target: string | undefined): URL | undefined {
  if (!target || !target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    const url = new URL(target, 'http://origin.invalid');
    return url.pathname + url.search === target || url.pathname + url.search + '?' === target ? url : undefined;
  } catch {
    return undefined;
  }
}

function hostMatches(hostHeader: string | undefined, dest: Destination): boolean {
  if (!hostHeader) return false;
  const a = parseAuthority(hostHeader, dest.scheme === 'https' ? 443 : 80);
  return a !== undefined && a.host === dest.authority.host && a.port === dest.authority.port;
}

function truncate(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}...` : s;
}
