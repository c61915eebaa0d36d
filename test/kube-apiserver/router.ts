// Request routing: authentication -> impersonation -> non-resource paths (discovery) or resource paths
// (/api/v1/..., /apis/<group>/<version>/...) -> RBAC -> handler. Errors become Status responses.
import { authenticate, impersonate } from './auth.ts';
import { authorize } from './rbac.ts';
import { serveDiscovery } from './discovery.ts';
import { StatusError, forbidden, forbiddenPath, internalError, methodNotSupported, pathNotFound } from './status.ts';
import { checkAcceptable, sendObject, sendStatus } from './http.ts';
import { lookup } from './resources.ts';
import { create, patch, update } from './write.ts';
import { del, deleteCollection, get, list, populateNamespace } from './crud.ts';
import { watch } from './watch.ts';
import { review, tokenRequest } from './reviews.ts';
import { connectPod, startPod } from './exec.ts';
import { evict } from './eviction.ts';
import type { Ctx, Target } from './types.ts';

const REVIEWS = new Set(['selfsubjectreviews', 'selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews', 'localsubjectaccessreviews']);

export function parseTarget(path: string): Target | undefined {
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(path.replace(/\/+$/, ''));
  if (!m) return undefined;
  const group = m[1] ? '' : m[2]!;
  const version = m[1] ?? m[3]!;
  const segs = m[4]!.split('/');
  let namespace = '';
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    const nsInfo = lookup(group, version, segs[2]!);
    if (nsInfo?.namespaced) { namespace = segs[1]!; segs.splice(0, 2); }
  }
  const info = lookup(group, version, segs[0]!);
  if (!info || segs.length > 3) return undefined;
  if (!info.namespaced && namespace) return undefined;
  const name = segs[1] ?? '';
  const subresource = segs[2] ?? '';
  if (subresource && !info.subresources.has(subresource)) return undefined;
  return { info, namespace, name, subresource };
}

function verbOf(ctx: Ctx, t: Target): string {
  const watching = ['1', 'true'].includes(ctx.query.get('watch') ?? '');
  switch (ctx.method) {
    case 'GET': case 'HEAD': return t.name ? (watching ? 'watch' : 'get') : watching ? 'watch' : 'list';
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return t.name ? 'delete' : 'deletecollection';
    default: return ctx.method.toLowerCase();
  }
}

async function handleResource(ctx: Ctx, t: Target): Promise<void> {
  const verb = verbOf(ctx, t);
  const u = ctx.user;
  const gr = { group: t.info.group, resource: t.info.resource };
  if (!authorize(ctx.state.store, u, { verb, group: t.info.group, resource: t.info.resource, subresource: t.subresource, namespace: t.namespace, name: t.name }).allowed) {
    throw new StatusError(forbidden(u.username, verb, gr, t.subresource, t.namespace, verb === 'create' && !t.subresource ? '' : t.name));
  }
  const allowed = t.subresource ? t.info.subresources.get(t.subresource)!.verbs : t.info.verbs;
  if (!allowed.includes(verb === 'watch' ? 'watch' : verb)) throw new StatusError(methodNotSupported(gr, verb));
  if (REVIEWS.has(t.info.resource)) return sendObject(ctx, 201, review(ctx, t));
  if (t.info.resource === 'serviceaccounts' && t.subresource === 'token') return sendObject(ctx, 201, await tokenRequest(ctx, t));
  // RBAC saw the connect request as `get` (the WebSocket GET) or `create` (SPDY's POST) on pods/exec, as in v1.33.
  if (t.info.resource === 'pods' && ['exec', 'attach', 'portforward'].includes(t.subresource)) return connectPod(ctx, t);
  if (t.info.resource === 'pods' && t.subresource === 'eviction') return sendObject(ctx, 201, await evict(ctx, t));
  if (t.info.resource === 'pods' && t.subresource === 'log') { get(ctx, { ...t, subresource: '' }); ctx.res.writeHead(204); ctx.res.end(); return; }
  switch (verb) {
    case 'get': return sendObject(ctx, 200, get(ctx, t));
    case 'list': return sendObject(ctx, 200, list(ctx, t));
    case 'watch': return watch(ctx, t);
    case 'create': {
      const [code, obj] = await create(ctx, t);
      const stored = code === 201 && !t.subresource && !ctx.query.getAll('dryRun').includes('All');
      if (t.info.kind === 'Namespace' && stored) populateNamespace(ctx.state, obj.metadata.name);
      if (t.info.kind === 'Pod' && stored && ctx.state.opts.execPods) startPod(ctx.state, obj);
      return sendObject(ctx, code, obj);
    }
    case 'update': { const [code, obj] = await update(ctx, t); return sendObject(ctx, code, obj); }
    case 'patch': { const [code, obj] = await patch(ctx, t); return sendObject(ctx, code, obj); }
    case 'delete': return sendObject(ctx, 200, await del(ctx, t));
    case 'deletecollection': return sendObject(ctx, 200, await deleteCollection(ctx, t));
    default: throw new StatusError(methodNotSupported(gr, verb));
  }
}

export async function route(ctx: Ctx): Promise<void> {
  try {
    ctx.authenticatedUser = authenticate(ctx.state, ctx.req);
    ctx.user = impersonate(ctx.state, ctx.req, ctx.authenticatedUser);
    checkAcceptable(ctx);
    const t = parseTarget(ctx.path);
    if (!t) {
      if (!authorize(ctx.state.store, ctx.user, { verb: ctx.method === 'GET' || ctx.method === 'HEAD' ? 'get' : ctx.method.toLowerCase(), path: ctx.path }).allowed) {
        throw new StatusError(forbiddenPath(ctx.user.username, ctx.method === 'GET' ? 'get' : ctx.method.toLowerCase(), ctx.path));
      }
      if ((ctx.method === 'GET' || ctx.method === 'HEAD') && serveDiscovery(ctx)) return;
      throw new StatusError(pathNotFound());
    }
    await handleResource(ctx, t);
  } catch (e) {
    if (ctx.res.headersSent) { ctx.res.end(); return; }
    if (e instanceof StatusError) sendStatus(ctx, e.status);
    else sendStatus(ctx, internalError(String((e as Error)?.stack ?? e)));
  }
}
