// POST .../pods/<name>/eviction (policy/v1 Eviction), as kube-apiserver v1.33's eviction REST handles it: the name
// in the body must be the pod's, validating admission sees a CREATE of pods/eviction whose object is the Eviction,
// then the pod is deleted and the answer is a Status Success with code 201. PodDisruptionBudgets are not modelled
// (none exist here), so an eviction always goes through.
import { StatusError, badRequest, notFound } from './status.ts';
import { decodeBody } from './http.ts';
import { getObject, removeObject, type Obj } from './store.ts';
import { admit, writeOptions } from './admission.ts';
import { isDryRun } from './write.ts';
import type { Ctx, Target } from './types.ts';

export async function evict(ctx: Ctx, t: Target): Promise<Obj> {
  const body = decodeBody(ctx);
  const meta = (body.metadata ?? {}) as Obj;
  if (meta.name !== t.name) throw new StatusError(badRequest('name in URL does not match name in Eviction object'));
  if (meta.namespace && meta.namespace !== t.namespace) throw new StatusError(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
  const eviction: Obj = {
    kind: 'Eviction', apiVersion: 'policy/v1', metadata: { name: t.name, namespace: t.namespace, creationTimestamp: null },
    ...(body.deleteOptions ? { deleteOptions: body.deleteOptions } : {}),
  };
  const dryRun = isDryRun(ctx) || (Array.isArray(body.deleteOptions?.dryRun) && body.deleteOptions.dryRun.includes('All'));
  const sub = t.info.subresources.get('eviction')!;
  await admit(ctx, {
    operation: 'CREATE', info: t.info, subresource: 'eviction', kind: { group: sub.group, version: sub.version, kind: sub.kind },
    name: t.name, namespace: t.namespace, object: eviction, oldObject: null, options: writeOptions(ctx, 'CreateOptions'), dryRun,
  });
  if (!getObject(ctx.state.store, '', 'pods', t.namespace, t.name)) throw new StatusError(notFound({ group: '', resource: 'pods' }, t.name));
  if (!dryRun) removeObject(ctx.state.store, '', 'pods', t.namespace, t.name);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}
