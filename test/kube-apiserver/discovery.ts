// Discovery and OpenAPI documents served exactly as recorded (discovery.har, rbac-authn.har,
// admission-webhook.har): /version, aggregated discovery v2 for /api and /apis (ETag, 304 on If-None-Match,
// 406 for a v2beta1-only Accept), the legacy APIVersions/APIGroupList/APIGroup/APIResourceList forms (recorded
// ones where the recording has them, derived from the aggregated document otherwise), /openapi/v3 index and the
// recorded per-group-version documents, /openapi/v2 (protobuf).
import { getRecorded, type RecordedDoc } from './fixtures.ts';
import { apiResourceList, resources } from './resources.ts';
import { StatusError, notAcceptable, pathNotFound } from './status.ts';
import { sendObject, sendRaw } from './http.ts';
import type { Ctx } from './types.ts';

function sendDoc(ctx: Ctx, doc: RecordedDoc, extra: Record<string, string> = {}): void {
  const inm = ctx.req.headers['if-none-match'];
  const headers: Record<string, string> = { ...extra, ...(doc.etag ? { ETag: doc.etag } : {}) };
  if (doc.etag && inm === doc.etag) {
    ctx.res.writeHead(304, { 'Audit-Id': crypto.randomUUID(), ...headers });
    ctx.res.end();
    return;
  }
  // kube-apiserver indents JSON for curl's User-Agent.
  const curl = /^curl\//.test(String(ctx.req.headers['user-agent'] ?? '')) && doc.contentType.startsWith('application/json');
  const body = curl ? Buffer.from(JSON.stringify(JSON.parse(doc.body.toString('utf8')), null, 2)) : doc.body;
  sendRaw(ctx, 200, body, { 'Content-Type': doc.contentType, ...headers });
}

function sendJson(ctx: Ctx, doc: RecordedDoc): void {
  sendObject(ctx, 200, JSON.parse(doc.body.toString('utf8')));
}

function groupDoc(group: string): Record<string, unknown> | undefined {
  const versions = [...new Set([...resources().values()].filter((r) => r.group === group).map((r) => r.version))];
  if (!versions.length) return undefined;
  const gv = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: gv, preferredVersion: gv[0] };
}

/** Serves the path if it is a discovery/OpenAPI/version path; returns false otherwise. */
export function serveDiscovery(ctx: Ctx): boolean {
  const rec = getRecorded();
  const p = ctx.path.replace(/\/+$/, '') || '/';
  const accept = String(ctx.req.headers.accept ?? '');
  if (p === '/version') { sendRaw(ctx, 200, rec.version.body, { 'Content-Type': 'application/json' }); return true; }
  if (p === '/healthz' || p === '/livez' || p === '/readyz') { sendRaw(ctx, 200, Buffer.from('ok'), { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }); return true; }
  if (p === '/api' || p === '/apis') {
    const types = accept.split(',').map((a) => a.trim());
    const aggregated = types.some((a) => a.startsWith('application/json') && /as=APIGroupDiscoveryList/.test(a) && /v=v2(;|$)/.test(a));
    if (aggregated) {
      sendDoc(ctx, p === '/api' ? rec.aggregatedApi : rec.aggregatedApis, { 'Cache-Control': 'public', Vary: 'Accept' });
      return true;
    }
    const plain = !accept || types.some((a) => !/as=/.test(a) && /^(application\/(json|yaml|vnd\.kubernetes\.protobuf)|\*\/\*|application\/\*)/.test(a));
    if (!plain) throw new StatusError(notAcceptable());
    sendJson(ctx, rec.legacy.get(p)!);
    return true;
  }
  const legacy = rec.legacy.get(p);
  if (legacy) { sendJson(ctx, legacy); return true; }
  let m = /^\/apis\/([^/]+)$/.exec(p);
  if (m) {
    const g = groupDoc(m[1]!);
    if (!g) throw new StatusError(pathNotFound());
    sendObject(ctx, 200, g);
    return true;
  }
  m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(p);
  if (m) {
    const list = m[1] ? apiResourceList('', 'v1') : apiResourceList(m[2]!, m[3]!);
    if (!list) throw new StatusError(pathNotFound());
    sendObject(ctx, 200, list);
    return true;
  }
  if (p === '/openapi/v3') { sendDoc(ctx, rec.openapiV3Index, { 'Last-Modified': new Date().toUTCString() }); return true; }
  if (p.startsWith('/openapi/v3/')) {
    const doc = rec.openapiV3.get(p.slice('/openapi/v3/'.length));
    if (!doc) throw new StatusError(pathNotFound());
    const immutable = ctx.query.has('hash');
    sendDoc(ctx, doc, immutable ? { 'Cache-Control': 'public, immutable', Expires: new Date(Date.now() + 365 * 86400_000).toUTCString(), Vary: 'Accept' } : { Vary: 'Accept' });
    return true;
  }
  if (p === '/openapi/v2') { sendDoc(ctx, rec.openapiV2, { Vary: 'Accept' }); return true; }
  return false;
}

/** Non-resource paths (for RBAC `get path` checks). */
export const isNonResourcePath = (path: string): boolean => !/^\/(api\/v1|apis\/[^/]+\/[^/]+)\/.+/.test(path);
