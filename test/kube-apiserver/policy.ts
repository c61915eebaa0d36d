// ValidatingAdmissionPolicy + ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1), evaluated inside
// the server like kube-apiserver's ValidatingAdmissionPolicy plugin (which runs before the validating webhooks): a
// binding applies its policy to a request that the policy's matchConstraints and the binding's matchResources both
// select (rules, namespaceSelector, objectSelector, excludeResourceRules; selectors with the webhooks' semantics),
// whose matchConditions are all true; then every validation is evaluated (CEL, cel.ts) with object, oldObject,
// request, namespaceObject and variables (lazily, in order). A false validation under validationActions Deny fails
// the request: `<resource> "<name>" is forbidden: ValidatingAdmissionPolicy '<policy>' with binding '<binding>'
// denied request: <message>`, with the validation's reason (default Invalid) and its code; Warn adds a warning.
// An evaluation error follows failurePolicy (Fail: denied with the error; Ignore: skipped). Not modelled: params
// (paramKind), auditAnnotations, the authorizer variable, typeChecking status.
import { StatusError, failure } from './status.ts';
import { getObject, listObjects, type Obj } from './store.ts';
import { CelError, evaluate } from './cel.ts';
import { admissionReview, celEnv, conditionsMatch, ruleMatches, selectorsMatch, type AdmissionAttrs } from './admission.ts';
import type { Ctx } from './types.ts';

const GROUP = 'admissionregistration.k8s.io';
const CODES: Record<string, number> = { Unauthorized: 401, Forbidden: 403, Invalid: 422, RequestEntityTooLarge: 413 };

function matchResources(ctx: Ctx, m: Obj | undefined, a: AdmissionAttrs, rulesRequired: boolean): boolean {
  if (!m) return true;
  const rules = (m.resourceRules ?? []) as Obj[];
  if ((rulesRequired || rules.length) && !rules.some((r) => ruleMatches(r, a))) return false;
  if (((m.excludeResourceRules ?? []) as Obj[]).some((r) => ruleMatches(r, a))) return false;
  return selectorsMatch(ctx, m, a);
}

/** Variables as CEL sees them: evaluated on first use, in the policy's order (a later one may use an earlier one). */
function lazyVariables(defs: Obj[], env: Record<string, unknown>): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const d of defs) {
    let done = false;
    let value: unknown;
    Object.defineProperty(vars, String(d.name), {
      enumerable: true,
      get: () => {
        if (!done) { value = evaluate(String(d.expression), env); done = true; }
        return value;
      },
    });
  }
  return vars;
}

/** Applies every ValidatingAdmissionPolicy bound to `a`; throws the StatusError of the first denial. */
export function admitPolicies(ctx: Ctx, a: AdmissionAttrs): void {
  if (a.info.group === GROUP) return;
  const bindings = listObjects(ctx.state.store, GROUP, 'validatingadmissionpolicybindings');
  if (!bindings.length) return;
  const request = admissionReview(ctx, a, '').request as Obj;
  const gr = a.info.group ? `${a.info.resource}.${a.info.group}` : a.info.resource;
  const name = a.name || a.object?.metadata?.name || '';
  for (const binding of bindings) {
    const policy = getObject(ctx.state.store, GROUP, 'validatingadmissionpolicies', '', String(binding.spec?.policyName ?? ''));
    if (!policy) continue;
    const spec = (policy.spec ?? {}) as Obj;
    if (!matchResources(ctx, spec.matchConstraints, a, true)) continue;
    if (!matchResources(ctx, binding.spec?.matchResources, a, false)) continue;
    const ns = a.namespace && !(a.info.group === '' && a.info.resource === 'namespaces') ? getObject(ctx.state.store, '', 'namespaces', '', a.namespace) ?? null : null;
    const env: Record<string, unknown> = { ...celEnv(request, a), namespaceObject: ns };
    env.variables = lazyVariables((spec.variables ?? []) as Obj[], env);
    const actions = (binding.spec?.validationActions ?? []) as string[];
    const fail = spec.failurePolicy !== 'Ignore';
    const deny = (message: string, reason: string): never => {
      const m = `ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: ${message}`;
      throw new StatusError(failure(CODES[reason] ?? 422, reason, `${gr} "${name}" is forbidden: ${m}`, {
        ...(name ? { name } : {}), ...(a.info.group ? { group: a.info.group } : {}), kind: a.info.resource, causes: [{ message: m }],
      }));
    };
    const matched = conditionsMatch(spec.matchConditions, env);
    if (matched === false) continue;
    if (matched !== true) {
      if (fail) deny(matched.error, 'Forbidden');
      continue;
    }
    for (const v of (spec.validations ?? []) as Obj[]) {
      let ok: unknown;
      try {
        ok = evaluate(String(v.expression), env);
      } catch (e) {
        if (!(e instanceof CelError)) throw e;
        if (fail) deny(`expression '${v.expression}' resulted in error: ${e.message}`, 'Invalid');
        continue;
      }
      if (ok === true) continue;
      let message = typeof v.message === 'string' && v.message ? v.message : `failed expression: ${v.expression}`;
      if (typeof v.messageExpression === 'string') {
        try {
          const m = evaluate(v.messageExpression, env);
          if (typeof m === 'string' && m.trim()) message = m;
        } catch { /* the apiserver falls back to message */ }
      }
      if (actions.includes('Deny')) deny(message, typeof v.reason === 'string' ? v.reason : 'Invalid');
      if (actions.includes('Warn')) ctx.warnings.push(`Validation failed for ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}': ${message}`);
    }
  }
}
