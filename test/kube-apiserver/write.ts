// create / update (PUT) / patch (JSON patch, merge patch, strategic merge patch, server-side apply) of objects and
// of their `status` and `scale` subresources, with dry-run, resourceVersion preconditions, generation,
// managedFields and the Deployment controller's status write.
import { StatusError, alreadyExists, badRequest, conflict, failure, invalid, notFound, unsupportedMediaType } from './status.ts';
import { getObject, putObject, type Obj } from './store.ts';
import { applyDefaults, canonical, deploymentStatus, hasGeneration, initMetadata, orderMetadata, validate } from './objects.ts';
import { applyConflicts, humanPath, leafPaths, recordManagedFields, entriesOf, fromFieldsV1, pathKey, deleteAt, toFieldsV1 } from './managed.ts';
import { applyJsonPatch } from './patch/json-patch.ts';
import { mergePatch, parseObjectPatch } from './patch/merge.ts';
import { strategicMerge } from './patch/strategic.ts';
import { apiVersionOf, type ResourceInfo } from './resources.ts';
import { contentType, decodeBody } from './http.ts';
import YAML from 'yaml';
import { checkFields } from './fieldvalidation.ts';
import { admit, writeOptions, type AdmissionAttrs } from './admission.ts';
import type { Ctx, Target } from './types.ts';

const gr = (i: ResourceInfo): { group: string; resource: string } => ({ group: i.group, resource: i.resource });
const stripVolatile = (o: Obj | undefined): string => canonical(o ? { ...o, metadata: { ...o.metadata, managedFields: undefined, resourceVersion: undefined } } : o);

export function fieldManager(ctx: Ctx): string {
  return ctx.query.get('fieldManager') || String(ctx.req.headers['user-agent'] ?? '').split('/')[0] || 'unknown';
}
export const isDryRun = (ctx: Ctx, body?: Obj): boolean => ctx.query.getAll('dryRun').includes('All') || (Array.isArray(body?.dryRun) && body.dryRun.includes('All'));

export function requireNamespace(ctx: Ctx, ns: string): void {
  if (!ns) return;
  const n = getObject(ctx.state.store, '', 'namespaces', '', ns);
  if (!n) throw new StatusError(notFound({ group: '', resource: 'namespaces' }, ns));
  if (n.metadata.deletionTimestamp) {
    throw new StatusError(failure(403, 'Forbidden', `unable to create new content in namespace ${ns} because it is being terminated`, { name: ns, kind: 'namespaces' }));
  }
}

interface CommitOpts { operation: 'Update' | 'Apply'; subresource: string; dryRun: boolean; appliedPaths?: string[][] }

/** The validating-admission view of a write: CREATE/UPDATE, the subresource's kind (autoscaling/v1 Scale for scale). */
function writeAttrs(ctx: Ctx, t: Target, prev: Obj | undefined, next: Obj, o: CommitOpts, requestedName: string): AdmissionAttrs {
  const sub = o.subresource ? t.info.subresources.get(o.subresource) : undefined;
  const kind = sub ? { group: sub.group, version: sub.version, kind: sub.kind } : { group: t.info.group, version: t.info.version, kind: t.info.kind };
  const scale = o.subresource === 'scale';
  const isNamespace = t.info.group === '' && t.info.resource === 'namespaces';
  const object = !prev && t.info.subresources.has('status') && next.status === undefined ? { ...next, status: {} } : next;
  return {
    operation: prev ? 'UPDATE' : 'CREATE', info: t.info, subresource: o.subresource, kind, name: prev ? t.name : requestedName,
    namespace: isNamespace ? (prev ? t.name : '') : t.namespace,
    object: scale ? toScale(next) : object, oldObject: prev ? (scale ? toScale(prev) : prev) : null,
    options: writeOptions(ctx, prev ? 'UpdateOptions' : 'CreateOptions'), dryRun: o.dryRun,
  };
}

/** Stores `next` (the full new object) replacing `prev`, after validation and the validating webhooks; returns what the response shows. */
export async function commit(ctx: Ctx, t: Target, prev: Obj | undefined, next: Obj, o: CommitOpts): Promise<Obj> {
  const info = t.info;
  const requestedName: string = next.metadata?.name ?? '';
  next.kind = info.kind;
  next.apiVersion = apiVersionOf(info);
  next.metadata ??= {};
  if (info.namespaced) next.metadata.namespace = t.namespace;
  if (prev) {
    for (const k of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'name'] as const) {
      if (prev.metadata[k] !== undefined) next.metadata[k] = prev.metadata[k]; else delete next.metadata[k];
    }
    if (o.subresource === 'status') next = { ...prev, status: next.status, metadata: prev.metadata };
    else if (info.subresources.has('status')) { if (prev.status !== undefined) next.status = prev.status; else delete next.status; }
    if (hasGeneration(info.kind) && o.subresource !== 'status' && canonical(prev.spec) !== canonical(next.spec)) next.metadata.generation = (prev.metadata.generation ?? 1) + 1;
  } else initMetadata(info, next);
  applyDefaults(info.kind, next);
  validate(info, next);
  next.metadata.managedFields = prev?.metadata.managedFields;
  const unchanged = !!prev && stripVolatile(prev) === stripVolatile(next) && o.operation === 'Update';
  if (!unchanged) recordManagedFields(prev, next, fieldManager(ctx), o.operation, apiVersionOf(info), o.subresource === 'scale' ? 'scale' : o.subresource, o.appliedPaths);
  next = orderMetadata(next);
  // Validating admission runs after validation and before storage (a no-op update is still admitted).
  const called = await admit(ctx, writeAttrs(ctx, t, prev, next, o, requestedName));
  const now = getObject(ctx.state.store, info.group, info.resource, t.namespace, next.metadata.name);
  if (!prev && now) throw new StatusError(alreadyExists(gr(info), next.metadata.name));
  if (prev && called && now?.metadata.resourceVersion !== prev.metadata.resourceVersion) {
    throw new StatusError(now ? conflict(gr(info), t.name) : notFound(gr(info), t.name));
  }
  if (unchanged) return orderMetadata(prev!);
  if (o.dryRun) return next;
  const stored = putObject(ctx.state.store, info.group, info.resource, next);
  if (info.kind === 'Deployment' && o.subresource !== 'status') reconcileDeployment(ctx, info, stored, prev);
  return stored;
}

function reconcileDeployment(ctx: Ctx, info: ResourceInfo, d: Obj, prev: Obj | undefined): void {
  const next = structuredClone(d);
  deploymentStatus(next, prev, ctx.state.opts.podsReady);
  if (JSON.stringify(next.status) === JSON.stringify(d.status) && JSON.stringify(next.metadata.annotations) === JSON.stringify(d.metadata.annotations)) return;
  recordManagedFields(d, next, 'kube-controller-manager', 'Update', apiVersionOf(info), 'status');
  putObject(ctx.state.store, info.group, info.resource, orderMetadata(next));
}

function checkBodyMeta(ctx: Ctx, t: Target, body: Obj): void {
  const want = apiVersionOf(t.info);
  if (body.apiVersion && t.subresource === '' && body.apiVersion !== want) {
    throw new StatusError(badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${want})`));
  }
  const ns = body.metadata?.namespace;
  if (t.info.namespaced && ns && ns !== t.namespace) throw new StatusError(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
}

export async function create(ctx: Ctx, t: Target): Promise<[number, Obj]> {
  const body = decodeBody(ctx);
  checkBodyMeta(ctx, t, body);
  if (contentType(ctx) !== 'application/vnd.kubernetes.protobuf') checkFields(ctx, t.info, body);
  requireNamespace(ctx, t.namespace);
  delete body.status;
  return [201, await commit(ctx, t, undefined, body, { operation: 'Update', subresource: '', dryRun: isDryRun(ctx) })];
}

function current(ctx: Ctx, t: Target): Obj {
  const o = getObject(ctx.state.store, t.info.group, t.info.resource, t.namespace, t.name);
  if (!o) throw new StatusError(notFound(gr(t.info), t.name));
  return o;
}

export function toScale(o: Obj): Obj {
  const sel = o.spec?.selector?.matchLabels ? Object.entries(o.spec.selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',') : '';
  const m = o.metadata;
  return { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 0 }, status: { replicas: o.status?.replicas ?? 0, ...(sel ? { selector: sel } : {}) } };
}

function checkRv(t: Target, prev: Obj, rv: unknown): void {
  if (rv !== undefined && rv !== null && rv !== '' && String(rv) !== prev.metadata.resourceVersion) throw new StatusError(conflict(gr(t.info), t.name));
}

/** Applies a desired Scale to the object (scale subresource write). */
async function commitScale(ctx: Ctx, t: Target, prev: Obj, scale: Obj): Promise<Obj> {
  checkRv(t, prev, scale.metadata?.resourceVersion);
  const replicas = scale.spec?.replicas;
  if (typeof replicas !== 'number' || replicas < 0) {
    throw new StatusError(invalid('Scale', 'autoscaling', t.name, [{ reason: 'FieldValueInvalid', message: `Invalid value: ${replicas}: must be greater than or equal to 0`, field: 'spec.replicas' }]));
  }
  const next = structuredClone(prev);
  next.spec.replicas = replicas;
  return toScale(await commit(ctx, t, prev, next, { operation: 'Update', subresource: 'scale', dryRun: isDryRun(ctx) }));
}

export async function update(ctx: Ctx, t: Target): Promise<[number, Obj]> {
  const body = decodeBody(ctx);
  const prev = current(ctx, t);
  if (t.subresource === 'scale') return [200, await commitScale(ctx, t, prev, body)];
  checkBodyMeta(ctx, t, body);
  if (contentType(ctx) !== 'application/vnd.kubernetes.protobuf') checkFields(ctx, t.info, body);
  if (body.metadata?.name && body.metadata.name !== t.name) throw new StatusError(badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${t.name})`));
  checkRv(t, prev, body.metadata?.resourceVersion);
  return [200, await commit(ctx, t, prev, body, { operation: 'Update', subresource: t.subresource, dryRun: isDryRun(ctx) })];
}

function applyPatchBody(ctx: Ctx, base: Obj): Obj {
  const ct = contentType(ctx);
  const raw = ctx.body.toString('utf8');
  if (ct === 'application/json-patch+json') return applyJsonPatch(base, raw);
  if (ct === 'application/merge-patch+json') return mergePatch(base, parseObjectPatch(raw));
  if (ct === 'application/strategic-merge-patch+json') return strategicMerge(base, parseObjectPatch(raw));
  throw new StatusError(unsupportedMediaType());
}

export async function patch(ctx: Ctx, t: Target): Promise<[number, Obj]> {
  if (contentType(ctx) === 'application/apply-patch+yaml') return apply(ctx, t);
  const prev = current(ctx, t);
  if (t.subresource === 'scale') return [200, await commitScale(ctx, t, prev, applyPatchBody(ctx, toScale(prev)))];
  const next = applyPatchBody(ctx, prev);
  checkRv(t, prev, next?.metadata?.resourceVersion);
  if (next && typeof next === 'object' && !t.subresource) checkFields(ctx, t.info, next);
  if (!next || typeof next !== 'object') throw new StatusError(badRequest('patch produced an invalid object'));
  return [200, await commit(ctx, t, prev, next, { operation: 'Update', subresource: t.subresource, dryRun: isDryRun(ctx) })];
}

async function apply(ctx: Ctx, t: Target): Promise<[number, Obj]> {
  const manager = ctx.query.get('fieldManager');
  if (!manager) {
    throw new StatusError(invalid('PatchOptions', 'meta.k8s.io', '', [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }]));
  }
  let applied: Obj;
  try { applied = YAML.parse(ctx.body.toString('utf8')) as Obj; } catch (e) { throw new StatusError(badRequest(`error decoding YAML: ${(e as Error).message}`)); }
  if (!applied || typeof applied !== 'object') throw new StatusError(badRequest('error decoding YAML: object expected'));
  const force = ctx.query.get('force') === 'true';
  const dryRun = isDryRun(ctx);
  const prev = getObject(ctx.state.store, t.info.group, t.info.resource, t.namespace, t.name);
  if (t.subresource === 'scale') {
    if (!prev) throw new StatusError(notFound(gr(t.info), t.name));
    return [200, await commitScale(ctx, t, prev, applied)];
  }
  checkBodyMeta(ctx, t, applied);
  const paths = leafPaths(applied, t.subresource === 'status').filter((p) => p[0] !== 'f:metadata' || (p[1] !== 'f:name' && p[1] !== 'f:namespace'));
  if (!prev) {
    requireNamespace(ctx, t.namespace);
    const body = structuredClone(applied);
    body.metadata = { ...body.metadata, name: t.name };
    return [201, await commit(ctx, t, undefined, body, { operation: 'Apply', subresource: t.subresource, dryRun, appliedPaths: paths })];
  }
  const conflicts = applyConflicts(prev, applied, manager);
  if (conflicts.length && !force) {
    const n = conflicts.length;
    const byMgr = new Map<string, string[]>();
    for (const c of conflicts) byMgr.set(c.manager, [...(byMgr.get(c.manager) ?? []), humanPath(c.path)]);
    const parts = [...byMgr].map(([m, ps]) => (ps.length === 1 ? `conflict with "${m}": ${ps[0]}` : `conflicts with "${m}":\n${ps.map((p) => `- ${p}`).join('\n')}`));
    throw new StatusError(failure(409, 'Conflict', `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`, {
      causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: humanPath(c.path) })),
    }));
  }
  // Fields this manager applied before but no longer applies are removed unless another manager owns them.
  let next = strategicMerge(prev, applied) as Obj;
  const mine = entriesOf(prev).find((e) => e.manager === manager && e.operation === 'Apply');
  if (mine) {
    const now = new Set(paths.map(pathKey));
    const others = new Set(entriesOf(prev).filter((e) => e !== mine).flatMap((e) => fromFieldsV1(e.fieldsV1)).map(pathKey));
    for (const p of fromFieldsV1(mine.fieldsV1)) if (!now.has(pathKey(p)) && !others.has(pathKey(p))) deleteAt(next, p);
  }
  if (force) {
    for (const e of entriesOf(prev)) {
      if (e.manager === manager) continue;
      const keep = fromFieldsV1(e.fieldsV1).filter((p) => !conflicts.some((c) => pathKey(c.path) === pathKey(p)));
      e.fieldsV1 = toFieldsV1(keep);
    }
  }
  return [200, await commit(ctx, t, prev, next, { operation: 'Apply', subresource: t.subresource, dryRun, appliedPaths: paths })];
}
