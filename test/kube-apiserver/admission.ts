// Validating admission webhooks (admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration), as kube-apiserver
// v1.33 calls them (admission-webhook*.har, admission-review-*.json): rule / namespaceSelector / objectSelector /
// matchConditions matching, one `admission.k8s.io/v1` AdmissionReview POST per matching webhook to
// `<url>?timeout=<n>s`, and the answer turned into the API response (denial keeps the webhook's code/reason behind
// `admission webhook "<name>" denied the request: `; a failed call is a 500 InternalError under failurePolicy Fail
// and ignored under Ignore). ValidatingAdmissionPolicies (policy.ts) run first, as in the apiserver's plugin order.
// Selectors follow the apiserver's matchers: a Namespace's own labels stand in for its namespace's (the NEW
// object's on CREATE/UPDATE, the stored one's on DELETE); an objectSelector matches if the old OR the new object
// matches, where an absent object (oldObject of a CREATE, object of a DELETE) or one without metadata
// (PodExecOptions) never matches. matchConditions are CEL (cel.ts): a false one skips the webhook, an error fails
// the request under failurePolicy Fail (wording not recorded) and skips the webhook under Ignore.
import { randomUUID } from 'node:crypto';
import { StatusError, badRequest, failure, type KubeStatus } from './status.ts';
import { getObject, listObjects, type Obj } from './store.ts';
import { callWebhook, webhookUrl } from './webhook-call.ts';
import { evaluate } from './cel.ts';
import { admitPolicies } from './policy.ts';
import type { ResourceInfo } from './resources.ts';
import type { Ctx, UserInfo } from './types.ts';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
export interface GVK { group: string; version: string; kind: string }
export interface AdmissionAttrs {
  operation: Operation;
  /** The resource addressed (for a subresource, its parent resource). */
  info: ResourceInfo;
  subresource: string;
  /** The kind of `object`/`oldObject` (autoscaling/v1 Scale for deployments/scale, v1 PodExecOptions for pods/exec). */
  kind: GVK;
  name: string;
  namespace: string;
  object: Obj | null;
  oldObject: Obj | null;
  options: Obj | null;
  dryRun: boolean;
}

const ADMISSIONREGISTRATION = 'admissionregistration.k8s.io';

/** CreateOptions / UpdateOptions as the apiserver hands them to admission (from the query; `force` is dropped). */
export function writeOptions(ctx: Ctx, kind: 'CreateOptions' | 'UpdateOptions'): Obj {
  const o: Obj = { kind, apiVersion: 'meta.k8s.io/v1' };
  const dryRun = ctx.query.getAll('dryRun');
  if (dryRun.length) o.dryRun = dryRun;
  for (const k of ['fieldManager', 'fieldValidation']) { const v = ctx.query.get(k); if (v) o[k] = v; }
  return o;
}

/** DeleteOptions (body merged with the query parameters), fields in the order of the Go type. */
export function deleteOptionsForAdmission(ctx: Ctx, body: Obj): Obj {
  const o: Obj = { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' };
  const q = (k: string): string | null => ctx.query.get(k);
  const grace = q('gracePeriodSeconds') ?? body.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) o.gracePeriodSeconds = Number(grace);
  if (body.preconditions) o.preconditions = body.preconditions;
  if (body.orphanDependents !== undefined) o.orphanDependents = body.orphanDependents;
  const pp = q('propagationPolicy') ?? body.propagationPolicy;
  if (pp) o.propagationPolicy = pp;
  const dry = ctx.query.getAll('dryRun').length ? ctx.query.getAll('dryRun') : body.dryRun;
  if (Array.isArray(dry) && dry.length) o.dryRun = dry;
  return o;
}

export interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }
export function selects(sel: Selector | undefined, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const ok = e.operator === 'In' ? has && (e.values ?? []).includes(l[e.key]!)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(l[e.key]!)
        : e.operator === 'Exists' ? has : e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}
export const emptySelector = (s: Selector | undefined): boolean => !s || (!Object.keys(s.matchLabels ?? {}).length && !(s.matchExpressions ?? []).length);

const anyOf = (list: string[] | undefined, v: string): boolean => !!list && (list.includes('*') || list.includes(v));

export function ruleMatches(rule: Obj, a: AdmissionAttrs): boolean {
  if (!anyOf(rule.operations, a.operation) || !anyOf(rule.apiGroups, a.info.group) || !anyOf(rule.apiVersions, a.info.version)) return false;
  const resOk = ((rule.resources ?? []) as string[]).some((r) => {
    const [res, sub = ''] = r.split('/', 2) as [string, string?];
    return (res === '*' || res === a.info.resource) && (sub === '*' || sub === a.subresource);
  });
  if (!resOk) return false;
  const isNamespaceObj = a.info.group === '' && a.info.resource === 'namespaces';
  if (rule.scope === 'Namespaced') return !isNamespaceObj && a.namespace !== '';
  if (rule.scope === 'Cluster') return isNamespaceObj || a.namespace === '';
  return true;
}

export function namespaceLabels(ctx: Ctx, a: AdmissionAttrs): Record<string, string> | undefined {
  if (a.info.group === '' && a.info.resource === 'namespaces' && !a.subresource) {
    return ((a.operation === 'DELETE' ? a.oldObject : a.object)?.metadata?.labels ?? {}) as Record<string, string>;
  }
  return getObject(ctx.state.store, '', 'namespaces', '', a.namespace)?.metadata.labels;
}

/** Whether the namespaceSelector and objectSelector of a webhook (or a policy's match resources) select `a`. */
export function selectorsMatch(ctx: Ctx, m: { namespaceSelector?: Selector; objectSelector?: Selector }, a: AdmissionAttrs): boolean {
  const clusterScoped = a.namespace === '' && !(a.info.group === '' && a.info.resource === 'namespaces');
  if (!clusterScoped && !emptySelector(m.namespaceSelector) && !selects(m.namespaceSelector, namespaceLabels(ctx, a))) return false;
  if (emptySelector(m.objectSelector)) return true;
  const labelled = (o: Obj | null): boolean => !!o && typeof o.metadata === 'object' && o.metadata !== null && selects(m.objectSelector, o.metadata.labels);
  return labelled(a.object) || labelled(a.oldObject);
}

/** The CEL environment of a matchCondition: the request as the webhook would get it, object, oldObject. */
export function celEnv(request: Obj, a: AdmissionAttrs): Record<string, unknown> {
  return { request, object: a.object, oldObject: a.oldObject, params: null };
}

/** true / false from the webhook's matchConditions, or the error of the first that failed to evaluate (no false). */
export function conditionsMatch(conditions: Obj[] | undefined, env: Record<string, unknown>): true | false | { error: string } {
  let error: string | undefined;
  for (const c of conditions ?? []) {
    try {
      const v = evaluate(String(c.expression), env);
      if (v === false) return false;
      if (v !== true) error ??= `match condition "${c.name}" did not evaluate to a bool`;
    } catch (e) {
      error ??= `failed to evaluate match condition "${c.name}": ${(e as Error).message}`;
    }
  }
  return error === undefined ? true : { error };
}

function webhookMatches(ctx: Ctx, hook: Obj, a: AdmissionAttrs, request: Obj): boolean {
  if (!((hook.rules ?? []) as Obj[]).some((r) => ruleMatches(r, a))) return false;
  if (!selectorsMatch(ctx, hook, a)) return false;
  const m = conditionsMatch(hook.matchConditions, celEnv(request, a));
  if (m === true || m === false) return m;
  if (hook.failurePolicy === 'Ignore') return false;
  const gr = a.info.group ? `${a.info.resource}.${a.info.group}` : a.info.resource;
  throw new StatusError(failure(403, 'Forbidden', `${gr} "${a.name}" is forbidden: ${m.error}`, { ...(a.name ? { name: a.name } : {}), ...(a.info.group ? { group: a.info.group } : {}), kind: a.info.resource }));
}

function userInfoOf(u: UserInfo): Obj {
  const o: Obj = { username: u.username };
  if (u.uid) o.uid = u.uid;
  if (u.groups.length) o.groups = u.groups;
  if (u.extra && Object.keys(u.extra).length) o.extra = Object.fromEntries(Object.keys(u.extra).sort().map((k) => [k, u.extra![k]]));
  return o;
}

/** The AdmissionReview request body, fields in the order of the Go type (admission.k8s.io/v1 AdmissionRequest). */
export function admissionReview(ctx: Ctx, a: AdmissionAttrs, uid: string = randomUUID()): Obj {
  const resource = { group: a.info.group, version: a.info.version, resource: a.info.resource };
  const sub = a.subresource ? { subResource: a.subresource } : {};
  return {
    kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1',
    request: {
      uid, kind: a.kind, resource, ...sub, requestKind: a.kind, requestResource: resource, ...(a.subresource ? { requestSubResource: a.subresource } : {}),
      ...(a.name ? { name: a.name } : {}), ...(a.namespace ? { namespace: a.namespace } : {}),
      operation: a.operation, userInfo: userInfoOf(ctx.user), object: a.object, oldObject: a.oldObject, dryRun: a.dryRun, options: a.options,
    },
  };
}

/** What `ToStatusErr` makes of a webhook's rejection. */
function denial(name: string, s: Obj | undefined): KubeStatus {
  const deniedBy = `admission webhook "${name}" denied the request`;
  const code = typeof s?.code === 'number' && s.code >= 400 ? s.code : 400;
  const message = s?.message ? `${deniedBy}: ${s.message}` : s?.reason ? `${deniedBy}: ${s.reason}` : `${deniedBy} without explanation`;
  return failure(code, s?.reason || undefined, message, s?.details);
}

interface Hook { config: string; hook: Obj }
function matchingHooks(ctx: Ctx, a: AdmissionAttrs): Hook[] {
  if (a.info.group === ADMISSIONREGISTRATION) return []; // webhook configurations are never sent to webhooks
  const out: Hook[] = [];
  const request = admissionReview(ctx, a, '').request as Obj;
  for (const c of listObjects(ctx.state.store, ADMISSIONREGISTRATION, 'validatingwebhookconfigurations')) {
    for (const hook of (c.webhooks ?? []) as Obj[]) if (webhookMatches(ctx, hook, a, request)) out.push({ config: c.metadata.name, hook });
  }
  return out;
}

/**
 * Runs the validating webhooks that match `a` (in parallel, like the apiserver); throws the StatusError the request
 * must fail with. Returns whether any webhook was called (the caller then re-checks the stored object, which may
 * have changed while the calls were in flight).
 */
export async function admit(ctx: Ctx, a: AdmissionAttrs): Promise<boolean> {
  admitPolicies(ctx, a);
  const hooks = matchingHooks(ctx, a);
  if (!hooks.length) return false;
  for (const { hook } of hooks) {
    if (a.dryRun && hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
      throw new StatusError(badRequest(`admission webhook "${hook.name}" does not support dry run`));
    }
  }
  const results = await Promise.all(hooks.map(async ({ hook }) => {
    const uid = randomUUID();
    const body = `${JSON.stringify(admissionReview(ctx, a, uid))}\n`;
    return { hook, uid, out: await callWebhook(ctx.state, hook, body) };
  }));
  for (const { hook, uid, out } of results) {
    let error = 'error' in out ? `failed to call webhook: Post "${webhookUrl(hook)}": ${out.error}` : '';
    let response: Obj | undefined;
    if (!error && 'review' in out) {
      const r = out.review;
      if (r.apiVersion !== 'admission.k8s.io/v1' || r.kind !== 'AdmissionReview') {
        error = `received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${r.apiVersion ?? ''}, Kind=${r.kind ?? ''}`;
      } else if (!r.response) error = 'received invalid webhook response: webhook response was absent';
      else if (r.response.uid !== uid) error = `received invalid webhook response: expected response.uid="${uid}", got "${r.response.uid ?? ''}"`;
      else response = r.response as Obj;
    } else if (!error && 'failed' in out) error = `failed to call webhook: ${out.failed}`;
    if (error) {
      if (hook.failurePolicy === 'Ignore') continue;
      const m = `failed calling webhook "${hook.name}": ${error}`;
      throw new StatusError(failure(500, 'InternalError', `Internal error occurred: ${m}`, { causes: [{ message: m }] }));
    }
    for (const w of (response!.warnings ?? []) as string[]) ctx.warnings.push(w);
    if (response!.allowed !== true) throw new StatusError(denial(hook.name, response!.status as Obj | undefined));
  }
  return true;
}
