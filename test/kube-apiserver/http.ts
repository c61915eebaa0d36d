// Response writing and content negotiation as kube-apiserver does it: compact JSON with a trailing newline,
// indented JSON for curl's User-Agent, YAML on request, the standard response headers (audit-id, cache-control,
// API Priority and Fairness uids), Warning headers, and request-body decoding (JSON, YAML, protobuf).
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { decodeKubeProtobuf } from './protobuf.ts';
import { StatusError, badRequest, notAcceptable, unsupportedMediaType, type KubeStatus } from './status.ts';
import type { Ctx, Obj } from './types.ts';

// The flow-schema / priority-level uids the recorded server sent for authenticated requests.
const PF_FLOWSCHEMA = 'f351273e-4eb7-489d-bb23-79d3323ba081';
const PF_PRIORITY = '1255ca23-ec51-4de5-8786-0b18587345a9';

// Long-running connect requests (exec/attach/portforward/proxy) bypass API Priority and Fairness: no flow-control
// headers, whatever the outcome (exec-pending-pod.har).
const LONG_RUNNING_CONNECT = /\/(pods|services|nodes)\/[^/]+\/(exec|attach|portforward|proxy)(\/|$)/;

export function baseHeaders(ctx: Ctx, flowControl = true): Record<string, string> {
  const h: Record<string, string> = { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private' };
  if (flowControl && !LONG_RUNNING_CONNECT.test(ctx.path)) {
    h['X-Kubernetes-Pf-Flowschema-Uid'] = PF_FLOWSCHEMA;
    h['X-Kubernetes-Pf-Prioritylevel-Uid'] = PF_PRIORITY;
  }
  if (ctx.warnings.length) h['Warning'] = ctx.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
  return h;
}

const isCurl = (ctx: Ctx): boolean => /^curl\//.test(String(ctx.req.headers['user-agent'] ?? ''));

export function wantsYaml(ctx: Ctx): boolean {
  const first = String(ctx.req.headers.accept ?? '').split(',')[0]?.trim() ?? '';
  return first.startsWith('application/yaml');
}

/** 406 when the Accept header names only media types we cannot produce. */
export function checkAcceptable(ctx: Ctx): void {
  const accept = String(ctx.req.headers.accept ?? '');
  if (!accept) return;
  const ok = accept.split(',').some((a) => {
    const t = a.trim().split(';')[0]!.trim();
    return t === '*/*' || t === 'application/*' || t === 'application/json' || t === 'application/yaml' || t === 'application/vnd.kubernetes.protobuf';
  });
  if (!ok) throw new StatusError(notAcceptable());
}

export function sendObject(ctx: Ctx, code: number, obj: unknown, opts: { flowControl?: boolean; headers?: Record<string, string> } = {}): void {
  let body: string;
  let ct = 'application/json';
  if (wantsYaml(ctx)) {
    body = YAML.stringify(obj);
    ct = 'application/yaml';
  } else body = isCurl(ctx) ? JSON.stringify(obj, null, 2) : `${JSON.stringify(obj)}\n`;
  const headers = { ...baseHeaders(ctx, opts.flowControl ?? true), 'Content-Type': ct, ...opts.headers, 'Content-Length': String(Buffer.byteLength(body)) };
  ctx.res.writeHead(code, headers);
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

export function sendStatus(ctx: Ctx, s: KubeStatus): void {
  sendObject(ctx, s.code, s, { flowControl: s.code !== 401 });
}

export function sendRaw(ctx: Ctx, code: number, body: Buffer, headers: Record<string, string>): void {
  ctx.res.writeHead(code, { ...baseHeaders(ctx), ...headers, 'Content-Length': String(body.length) });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

const mediaType = (ctx: Ctx): string => String(ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
export const contentType = mediaType;

/** Decodes a create/update body (JSON when no Content-Type, like the apiserver; YAML; protobuf). */
export function decodeBody(ctx: Ctx): Obj {
  const ct = mediaType(ctx);
  const text = ctx.body.toString('utf8');
  let v: unknown;
  if (ct === 'application/vnd.kubernetes.protobuf') {
    try { v = decodeKubeProtobuf(ctx.body).object; } catch (e) { throw new StatusError(badRequest(`unable to decode protobuf body: ${(e as Error).message}`)); }
  } else if (ct === '' || ct === 'application/json') {
    try { v = JSON.parse(text); } catch (e) { throw new StatusError(badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`)); }
  } else if (ct === 'application/yaml') {
    try { v = YAML.parse(text); } catch (e) { throw new StatusError(badRequest(`couldn't get version/kind; yaml parse error: ${(e as Error).message}`)); }
  } else throw new StatusError(unsupportedMediaType());
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new StatusError(badRequest("couldn't get version/kind; json parse error: json: cannot unmarshal into Go value of type struct"));
  return v as Obj;
}
