// One intercepted request, from head to finished response: read the bounded body, identify the API call, forward,
// and record exactly one log line and the metrics. This is where the verification pipeline will sit, between
// identification and forwarding.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { identifyAws } from '../parsers/aws/identify.ts';
import { identifyKube } from '../parsers/kube/identify.ts';
import type { SebCode } from '../errors/codes.ts';
import { readBody } from './body.ts';
import type { Destination, ProxyContext } from './context.ts';
import { forward } from './forward.ts';
import { sendRefusal } from './respond.ts';
import { formatAuthority, parseAuthority } from './routing.ts';
import { upstreamFor, type Upstream } from './upstream.ts';

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
  const refuse = (code: SebCode, message: string, close = false) => {
    sendRefusal(res, code, message, { close });
    ctx.metrics.refusals.inc({ reason: code });
    finish('refused', { code, message });
  };

  const url = originFormUrl(req.url);
  if (!url) return refuse('SEB_BAD_REQUEST', `request target "${truncate(req.url ?? '')}" is not an origin-form path starting with "/"`);
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

  const upstream: Upstream = upstreamFor(ctx.config.upstreams, dest);
  const result = await forward({ dispatcher: ctx.dispatcher, headersTimeoutMs: ctx.config.limits.upstreamHeadersTimeoutMs }, req, res, upstream, body.body);
  switch (result.kind) {
    case 'forwarded':
      return finish('forwarded', { status: result.status, upstream: upstream.origin });
    case 'client_gone':
      return finish('client_gone', { status: result.status, upstream: upstream.origin });
    case 'upstream_error':
      return refuse('SEB_UPSTREAM_UNAVAILABLE', `cannot reach ${upstream.origin}: ${result.message}`);
  }
}

function originFormUrl(target: string | undefined): URL | undefined {
  if (!target || !target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    return new URL(target, 'http://origin.invalid');
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
