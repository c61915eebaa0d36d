// Fixture conformance: selected requests of the recorded HAR files are replayed against the test server (same
// method, path, query, headers and body; the redacted bearer tokens mapped to the server's identities) and the
// responses compared with the recorded ones: status code, and the body (Status bodies exactly, up to uids and
// resourceVersions; objects by the set of their field paths, ignoring managedFields).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryBySeq, header, startKubeApiServer, type KubeApiServer } from '../kube-apiserver/index.ts';
import { request, type RawResponse } from './helpers.ts';

let srv: KubeApiServer;
beforeAll(async () => {
  srv = await startKubeApiServer();
  const web = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] } } } };
  const r = await request(srv, 'POST', '/apis/apps/v1/namespaces/har-demo/deployments?fieldManager=kubectl-create', { token: srv.tokens.admin!, body: JSON.stringify(web), headers: { 'Content-Type': 'application/json' } });
  expect(r.status).toBe(201);
});
afterAll(async () => { await srv.close(); });

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
function tokenFor(auth: string | undefined): string | undefined {
  const who = auth?.replace(/^Bearer REDACTED-/, '');
  if (!who) return undefined;
  return ({ admin: srv.tokens.admin, agent: srv.tokens.agent, alice: srv.tokens.alice, executor: srv.tokens.executor } as Record<string, string | undefined>)[who] ?? 'not-a-valid-token';
}

async function replay(har: string, seq: number): Promise<{ rec: RawResponse; ours: RawResponse }> {
  const e = entryBySeq(har, seq);
  const u = new URL(e.request.url);
  const headers: Record<string, string> = {};
  for (const h of e.request.headers) if (/^(content-type|accept|user-agent|if-none-match|impersonate-user|impersonate-group)$/i.test(h.name)) headers[h.name.toLowerCase()] = h.value;
  const pd = e.request.postData;
  const body = pd?.text !== undefined ? Buffer.from(pd.text, pd._encoding === 'base64' ? 'base64' : 'utf8') : undefined;
  const token = tokenFor(header(e.request.headers, 'authorization'));
  const ours = await request(srv, e.request.method, u.pathname + u.search, { ...(token ? { token } : {}), headers, ...(body ? { body } : {}) });
  const c = e.response.content;
  const rec: RawResponse = { status: e.response.status, headers: Object.fromEntries(e.response.headers.map((h) => [h.name.toLowerCase(), h.value])), body: c.encoding === 'base64' ? '' : c.text ?? '' };
  return { rec, ours };
}

function paths(v: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) { if (v.length) paths(v[0], `${prefix}[]`, out); else out.add(`${prefix}[]`); return out; }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) if (k !== 'managedFields') paths(x, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  out.add(prefix);
  return out;
}
const normStatus = (s: string): unknown => JSON.parse(s.replace(UUID, '<uid>'), (k, v) => (k === 'uid' || k === 'resourceVersion' ? '<x>' : v));

async function check(har: string, seq: number, mode: 'exact' | 'status' | 'shape' | 'code'): Promise<void> {
  const { rec, ours } = await replay(har, seq);
  expect(ours.status, `${har}#${seq} status`).toBe(rec.status);
  if (mode === 'code') return;
  if (mode === 'exact') { expect(ours.body, `${har}#${seq} body`).toBe(rec.body); return; }
  if (mode === 'status') { expect(normStatus(ours.body), `${har}#${seq} Status`).toEqual(normStatus(rec.body)); return; }
  expect([...paths(JSON.parse(ours.body))].sort(), `${har}#${seq} shape`).toEqual([...paths(JSON.parse(rec.body))].sort());
}

describe('replaying recorded kube-apiserver v1.33 requests', () => {
  it('discovery: /version, aggregated /api and /apis (ETag, 304), legacy forms, 406, anonymous', async () => {
    await check('discovery', 30, 'exact');
    await check('discovery', 31, 'exact');
    await check('discovery', 32, 'exact');
    await check('discovery', 33, 'code'); // If-None-Match -> 304
    await check('discovery', 34, 'code');
    await check('discovery', 42, 'exact'); // /api/v1 APIResourceList
    await check('discovery', 43, 'exact'); // /apis/apps/v1
    await check('discovery', 44, 'exact');
    await check('discovery', 45, 'status'); // v2beta1 only -> 406
    await check('discovery', 46, 'exact'); // curl gets indented JSON
    await check('discovery', 48, 'exact'); // anonymous /version
    await check('discovery', 49, 'status'); // anonymous /apis -> 403
  });

  it('object reads: deployment, scale, table, list in a missing namespace', async () => {
    await check('deployment-lifecycle', 56, 'shape');
    await check('deployment-lifecycle', 54, 'shape'); // Table
    await check('scale', 73, 'shape');
    await check('errors-and-conflicts', 150, 'shape');
  });

  it('patches: merge, json, strategic, scale; json-patch test failure 422; bad bodies 400/415', async () => {
    await check('patch', 85, 'shape');
    await check('patch', 87, 'shape');
    await check('patch', 89, 'shape');
    await check('patch', 93, 'status');
    await check('patch', 97, 'shape');
    await check('errors-and-conflicts', 158, 'status');
    await check('errors-and-conflicts', 171, 'status');
    await check('errors-and-conflicts', 172, 'status');
    await check('client-node', 1126, 'status');
  });

  it('server-side apply: create, update, conflicts, force, missing fieldManager', async () => {
    await check('server-side-apply', 115, 'shape');
    await check('server-side-apply', 117, 'code');
    await check('server-side-apply', 121, 'status');
    await check('server-side-apply', 123, 'code');
    await check('server-side-apply', 125, 'status');
    await check('server-side-apply', 127, 'status');
    await check('server-side-apply', 130, 'status');
  });

  it('errors: 409 stale update, AlreadyExists, 404s, 422 Invalid, 409 uid precondition', async () => {
    await check('errors-and-conflicts', 142, 'status');
    await check('errors-and-conflicts', 145, 'status');
    await check('errors-and-conflicts', 146, 'status');
    await check('errors-and-conflicts', 152, 'status');
    await check('errors-and-conflicts', 156, 'status');
    await check('errors-and-conflicts', 173, 'status');
    await check('client-node', 1125, 'status');
    await check('delete', 1233, 'status');
    await check('delete', 1215, 'status'); // deletecollection, dry run, nothing matches: empty ConfigMapList
  });

  it('authentication and RBAC: 401, 403 wording for namespaced, cluster-scoped, impersonation', async () => {
    for (const seq of [182, 184, 185, 186, 191, 196, 206, 207]) await check('rbac-authn', seq, 'status');
    await check('rbac-authn', 1003, 'status');
  });

  it('TokenRequest: 201 shape, 60 s -> 422; watch: too old resourceVersion, WatchList gate', async () => {
    await check('token-request', 1006, 'shape');
    await check('token-request', 1048, 'status');
    const { rec, ours } = await replay('watch', 1086);
    expect(ours.status).toBe(200);
    const [o, r] = [JSON.parse(ours.body), JSON.parse(rec.body)];
    expect({ type: o.type, reason: o.object.reason, code: o.object.code }).toEqual({ type: r.type, reason: r.object.reason, code: r.object.code });
    expect(o.object.message).toMatch(/^too old resource version: 1 \(\d+\)$/);
    await check('watch', 1085, 'status');
  });
});
