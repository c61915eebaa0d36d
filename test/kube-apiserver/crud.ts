// get / list / delete / deletecollection, list responses (items without kind/apiVersion, like the apiserver),
// Tables, and what controllers do around namespaces (default ServiceAccount and kube-root-ca.crt in a new
// namespace; a deleted namespace is Terminating, then its content and itself go away).
import { StatusError, conflict, notFound, success } from './status.ts';
import { getObject, listObjects, putObject, removeObject, type Obj } from './store.ts';
import { initMetadata, nowRfc3339, orderMetadata } from './objects.ts';
import { fieldSelector, labelSelector } from './selectors.ts';
import { toTable, wantsTable } from './table.ts';
import { apiVersionOf, lookup, resources, type ResourceInfo } from './resources.ts';
import { isDryRun, toScale } from './write.ts';
import { admit, deleteOptionsForAdmission } from './admission.ts';
import type { Ctx, ServerState, Target } from './types.ts';

const gr = (i: ResourceInfo): { group: string; resource: string } => ({ group: i.group, resource: i.resource });

export function asTableIfWanted(ctx: Ctx, info: ResourceInfo, objs: Obj[], single: Obj | undefined): Obj | undefined {
  if (!wantsTable(String(ctx.req.headers.accept ?? ''))) return undefined;
  const rv = single ? single.metadata.resourceVersion : String(ctx.state.store.rv);
  return toTable(info.resource, objs, rv, ctx.query.get('includeObject') ?? 'Metadata');
}

export function get(ctx: Ctx, t: Target): Obj {
  const o = getObject(ctx.state.store, t.info.group, t.info.resource, t.namespace, t.name);
  if (!o) throw new StatusError(notFound(gr(t.info), t.name));
  if (t.subresource === 'scale') return toScale(o);
  return asTableIfWanted(ctx, t.info, [o], o) ?? o;
}

export function selectObjects(ctx: Ctx, t: Target): Obj[] {
  const ls = labelSelector(ctx.query.get('labelSelector'));
  const fs = fieldSelector(ctx.query.get('fieldSelector'));
  return listObjects(ctx.state.store, t.info.group, t.info.resource, t.info.namespaced && t.namespace ? t.namespace : undefined).filter((o) => ls(o) && fs(o));
}

export function list(ctx: Ctx, t: Target): Obj {
  let items = selectObjects(ctx, t);
  const limit = Number(ctx.query.get('limit') ?? 0);
  const start = Number(Buffer.from(ctx.query.get('continue') ?? '', 'base64url').toString() || 0);
  const rv = String(ctx.state.store.rv);
  let cont = '';
  if (limit > 0) {
    const page = items.slice(start, start + limit);
    if (start + limit < items.length) cont = Buffer.from(String(start + limit)).toString('base64url');
    items = page;
  }
  const table = asTableIfWanted(ctx, t.info, items, undefined);
  if (table) { if (cont) table.metadata.continue = cont; return table; }
  return {
    kind: `${t.info.kind}List`, apiVersion: apiVersionOf(t.info), metadata: { resourceVersion: rv, ...(cont ? { continue: cont } : {}) },
    items: items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
  };
}

function deleteOptions(ctx: Ctx): Obj {
  const raw = ctx.body.toString('utf8').trim();
  let o: Obj = {};
  if (raw) { try { o = JSON.parse(raw) as Obj; } catch { o = {}; } }
  const pp = ctx.query.get('propagationPolicy');
  if (pp) o.propagationPolicy = pp;
  return o;
}

/** Validating admission of a DELETE: `object` null, the stored object as `oldObject`, the DeleteOptions. */
async function admitDelete(ctx: Ctx, t: Target, o: Obj, opts: Obj, dryRun: boolean): Promise<void> {
  const isNamespace = t.info.group === '' && t.info.resource === 'namespaces';
  const name: string = o.metadata.name;
  const called = await admit(ctx, {
    operation: 'DELETE', info: t.info, subresource: '', kind: { group: t.info.group, version: t.info.version, kind: t.info.kind }, name,
    namespace: isNamespace ? name : o.metadata.namespace ?? '', object: null, oldObject: o, options: deleteOptionsForAdmission(ctx, opts), dryRun,
  });
  if (called && !getObject(ctx.state.store, t.info.group, t.info.resource, o.metadata.namespace ?? '', name)) throw new StatusError(notFound(gr(t.info), name));
}

/** Removes an object now (Background) or marks it and removes it shortly after (Foreground/Orphan, namespaces). */
export async function del(ctx: Ctx, t: Target): Promise<Obj> {
  const s = ctx.state.store;
  const o = getObject(s, t.info.group, t.info.resource, t.namespace, t.name);
  if (!o) throw new StatusError(notFound(gr(t.info), t.name));
  const opts = deleteOptions(ctx);
  const pre = opts.preconditions as Obj | undefined;
  if (pre?.uid && pre.uid !== o.metadata.uid) {
    throw new StatusError(conflict({ group: t.info.group, resource: t.info.kind }, t.name, `the UID in the precondition (${pre.uid}) does not match the UID in record (${o.metadata.uid}). The object might have been deleted and then recreated`));
  }
  if (pre?.resourceVersion && pre.resourceVersion !== o.metadata.resourceVersion) {
    throw new StatusError(conflict({ group: t.info.group, resource: t.info.kind }, t.name, `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${o.metadata.resourceVersion}). The object might have been modified`));
  }
  const dry = isDryRun(ctx, opts);
  await admitDelete(ctx, t, o, opts, dry);
  const policy = opts.propagationPolicy as string | undefined;
  if (t.info.kind === 'Namespace') {
    const marked = { ...o, metadata: { ...o.metadata, deletionTimestamp: o.metadata.deletionTimestamp ?? nowRfc3339() }, status: { ...o.status, phase: 'Terminating' } };
    if (dry) return marked;
    const stored = o.metadata.deletionTimestamp ? o : putObject(s, '', 'namespaces', orderMetadata(marked));
    later(ctx, () => finalizeNamespace(ctx, t.name));
    return stored;
  }
  if (policy === 'Foreground' || policy === 'Orphan') {
    const fin = policy === 'Foreground' ? 'foregroundDeletion' : 'orphan';
    const marked = orderMetadata({ ...o, metadata: { ...o.metadata, deletionTimestamp: nowRfc3339(), deletionGracePeriodSeconds: 0, finalizers: [...(o.metadata.finalizers ?? []), fin] } });
    if (dry) return marked;
    const stored = putObject(s, t.info.group, t.info.resource, marked);
    later(ctx, () => removeObject(s, t.info.group, t.info.resource, t.namespace, t.name));
    return stored;
  }
  if (!dry) removeObject(s, t.info.group, t.info.resource, t.namespace, t.name);
  return success(gr(t.info), t.name, o.metadata.uid);
}

export async function deleteCollection(ctx: Ctx, t: Target): Promise<Obj> {
  const items = selectObjects(ctx, t);
  const dry = isDryRun(ctx, deleteOptions(ctx));
  for (const o of items) await admitDelete(ctx, t, o, deleteOptions(ctx), dry);
  const s = ctx.state.store;
  const out = dry ? items : items.map((o) => removeObject(s, t.info.group, t.info.resource, o.metadata.namespace ?? '', o.metadata.name)!);
  return { kind: `${t.info.kind}List`, apiVersion: apiVersionOf(t.info), metadata: { resourceVersion: String(s.rv) }, items: out.map(({ kind: _k, apiVersion: _a, ...rest }) => rest) };
}

function later(ctx: Ctx, fn: () => void, ms = 50): void {
  const timer = setTimeout(() => { ctx.state.closers.delete(cancel); fn(); }, ms);
  const cancel = (): void => clearTimeout(timer);
  ctx.state.closers.add(cancel);
}

function finalizeNamespace(ctx: Ctx, ns: string): void {
  const s = ctx.state.store;
  for (const r of resources().values()) {
    if (!r.namespaced) continue;
    for (const o of listObjects(s, r.group, r.resource, ns)) removeObject(s, r.group, r.resource, ns, o.metadata.name);
  }
  removeObject(s, '', 'namespaces', '', ns);
}

/** What kube-controller-manager adds to a new namespace: the `default` ServiceAccount and `kube-root-ca.crt`. */
export function populateNamespace(state: ServerState, ns: string): void {
  const s = state.store;
  const sa: Obj = { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name: 'default', namespace: ns } };
  initMetadata(lookup('', 'v1', 'serviceaccounts')!, sa);
  putObject(s, '', 'serviceaccounts', orderMetadata(sa));
  const cm: Obj = { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'kube-root-ca.crt', namespace: ns, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': state.caPem } };
  initMetadata(lookup('', 'v1', 'configmaps')!, cm);
  putObject(s, '', 'configmaps', orderMetadata(cm));
}
