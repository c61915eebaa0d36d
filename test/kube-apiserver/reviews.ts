// Virtual create-only resources: TokenRequest (serviceaccounts/<name>/token, sent to validating admission like any
// create of a subresource), SelfSubjectReview (kubectl auth
// whoami), SelfSubjectAccessReview / SubjectAccessReview / LocalSubjectAccessReview (kubectl auth can-i),
// SelfSubjectRulesReview (can-i --list).
import { StatusError, conflict, invalid, notFound } from './status.ts';
import { getObject, type Obj } from './store.ts';
import { nowRfc3339 } from './objects.ts';
import { authorize, rulesReview } from './rbac.ts';
import { mintServiceAccountToken, type BoundRef } from './token.ts';
import { decodeBody } from './http.ts';
import { fieldManager } from './write.ts';
import { leafPaths, toFieldsV1 } from './managed.ts';
import { admit, writeOptions } from './admission.ts';
import type { Ctx, ServerState, Target, UserInfo } from './types.ts';

const managed = (ctx: Ctx, apiVersion: string, spec: Obj, subresource?: string): Obj[] => [{
  manager: fieldManager(ctx), operation: 'Update', apiVersion, time: nowRfc3339(), fieldsType: 'FieldsV1',
  fieldsV1: toFieldsV1(leafPaths({ spec })), ...(subresource ? { subresource } : {}),
}];

export interface TokenRequestSpec { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } | null }

/** Issues a TokenRequest for ServiceAccount ns/name (also used to hand out the start-up tokens). */
export function issueToken(state: ServerState, ns: string, name: string, spec: TokenRequestSpec): { token: string; expirationTimestamp: string; spec: Obj } {
  const sa = getObject(state.store, '', 'serviceaccounts', ns, name);
  if (!sa) throw new StatusError(notFound({ group: '', resource: 'serviceaccounts' }, name));
  const exp = spec.expirationSeconds ?? 3600;
  if (exp < 600) {
    throw new StatusError(invalid('TokenRequest', 'authentication.k8s.io', '', [{ reason: 'FieldValueInvalid', message: `Invalid value: ${exp}: may not specify a duration less than 10 minutes`, field: 'spec.expirationSeconds' }]));
  }
  if (exp > 2 ** 32) {
    throw new StatusError(invalid('TokenRequest', 'authentication.k8s.io', '', [{ reason: 'FieldValueTooLong', message: `Invalid value: ${exp}: may not specify a duration larger than 2^32 seconds`, field: 'spec.expirationSeconds' }]));
  }
  let bound: BoundRef | undefined;
  const ref = spec.boundObjectRef;
  if (ref) {
    const kind = ref.kind ?? '';
    if (kind !== 'Secret' && kind !== 'Pod') {
      throw new StatusError(invalid('TokenRequest', 'authentication.k8s.io', '', [{ reason: 'FieldValueNotSupported', message: `Unsupported value: "${kind}": supported values: "Pod", "Secret"`, field: 'spec.boundObjectRef.kind' }]));
    }
    const resource = kind === 'Secret' ? 'secrets' : 'pods';
    const obj = getObject(state.store, '', resource, ns, ref.name ?? '');
    if (!obj) throw new StatusError(notFound({ group: '', resource }, ref.name ?? ''));
    if (ref.uid && ref.uid !== obj.metadata.uid) {
      throw new StatusError(conflict({ group: '', resource }, ref.name ?? '', `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`));
    }
    bound = { kind, name: obj.metadata.name, uid: obj.metadata.uid };
  }
  const audiences = spec.audiences?.length ? spec.audiences : state.apiAudiences;
  const { token, claims } = mintServiceAccountToken(state, state.issuer, { namespace: ns, name, uid: sa.metadata.uid, audiences, expirationSeconds: exp, ...(bound ? { bound } : {}) });
  return {
    token, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    spec: { audiences, expirationSeconds: exp, boundObjectRef: ref ?? null },
  };
}

/** POST serviceaccounts/<name>/token: validating admission (CREATE of the token subresource, the TokenRequest as its object), then the token. */
export async function tokenRequest(ctx: Ctx, t: Target): Promise<Obj> {
  const body = decodeBody(ctx);
  const spec = (body.spec ?? {}) as TokenRequestSpec;
  if (!getObject(ctx.state.store, '', 'serviceaccounts', t.namespace, t.name)) throw new StatusError(notFound({ group: '', resource: 'serviceaccounts' }, t.name));
  const sub = t.info.subresources.get('token')!;
  await admit(ctx, {
    operation: 'CREATE', info: t.info, subresource: 'token', kind: { group: sub.group, version: sub.version, kind: sub.kind }, name: t.name, namespace: t.namespace,
    object: {
      kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name: t.name, namespace: t.namespace, creationTimestamp: null },
      spec: { audiences: spec.audiences ?? null, expirationSeconds: spec.expirationSeconds ?? 3600, boundObjectRef: spec.boundObjectRef ?? null }, status: { token: '', expirationTimestamp: null },
    },
    oldObject: null, options: writeOptions(ctx, 'CreateOptions'), dryRun: ctx.query.getAll('dryRun').includes('All'),
  });
  const r = issueToken(ctx.state, t.namespace, t.name, spec);
  return {
    kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: t.name, namespace: t.namespace, creationTimestamp: nowRfc3339(), managedFields: managed(ctx, 'authentication.k8s.io/v1', body.spec ?? {}, 'token') },
    spec: r.spec, status: { token: r.token, expirationTimestamp: r.expirationTimestamp },
  };
}

const userInfoJson = (u: UserInfo): Obj => ({ username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) });

function accessStatus(ctx: Ctx, user: UserInfo, spec: Obj): Obj {
  const ra = spec.resourceAttributes as Obj | undefined;
  const na = spec.nonResourceAttributes as Obj | undefined;
  const attrs = ra ? { verb: ra.verb ?? '', group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource ?? '', namespace: ra.namespace ?? '', name: ra.name ?? '' }
    : { verb: na?.verb ?? '', path: na?.path ?? '' };
  const r = authorize(ctx.state.store, user, attrs);
  return r.allowed ? { allowed: true, ...(r.reason ? { reason: r.reason } : {}) } : { allowed: false };
}

/** POST of a review kind; returns the completed review (201). */
export function review(ctx: Ctx, t: Target): Obj {
  const body = decodeBody(ctx);
  const apiVersion = `${t.info.group}/${t.info.version}`;
  const spec = (body.spec ?? {}) as Obj;
  const metadata: Obj = { creationTimestamp: t.info.resource === 'selfsubjectreviews' ? nowRfc3339() : null };
  if (t.info.resource !== 'selfsubjectreviews' && Object.keys(spec).length) metadata.managedFields = managed(ctx, apiVersion, spec);
  const base = { kind: t.info.kind, apiVersion, metadata };
  switch (t.info.resource) {
    case 'selfsubjectreviews': return { ...base, status: { userInfo: userInfoJson(ctx.user) } };
    case 'selfsubjectaccessreviews': return { ...base, spec, status: accessStatus(ctx, ctx.user, spec) };
    case 'selfsubjectrulesreviews': return { ...base, spec, status: rulesReview(ctx.state.store, ctx.user, String(spec.namespace ?? '')) };
    case 'subjectaccessreviews':
    case 'localsubjectaccessreviews': {
      const user: UserInfo = { username: String(spec.user ?? ''), groups: (spec.groups ?? []) as string[] };
      return { ...base, ...(t.namespace ? { metadata: { ...metadata, namespace: t.namespace } } : {}), spec, status: accessStatus(ctx, user, spec) };
    }
    default: throw new StatusError(notFound({ group: t.info.group, resource: t.info.resource }, ''));
  }
}
