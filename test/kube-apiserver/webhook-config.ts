// ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1): the defaults the apiserver stores (as in
// admission-webhook.har: failurePolicy Fail, matchPolicy Equivalent, empty selectors, timeoutSeconds 10, rule scope
// "*"), fields in the order of the Go types, and the validation errors with the recorded 422 wording.
import type { StatusCause } from './status.ts';
import type { Obj } from './store.ts';

const ordered = (o: Obj, keys: string[]): Obj => {
  const out: Obj = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  for (const k of Object.keys(o)) if (!(k in out) && o[k] !== undefined) out[k] = o[k];
  return out;
};

export function defaultWebhookConfiguration(o: Obj): void {
  if (!Array.isArray(o.webhooks)) return;
  o.webhooks = (o.webhooks as Obj[]).map((w) => {
    if (!w || typeof w !== 'object') return w;
    const h: Obj = { ...w };
    h.failurePolicy ??= 'Fail';
    h.matchPolicy ??= 'Equivalent';
    h.namespaceSelector ??= {};
    h.objectSelector ??= {};
    h.timeoutSeconds ??= 10;
    if (h.clientConfig && typeof h.clientConfig === 'object') {
      const cc: Obj = { ...h.clientConfig };
      if (cc.service && typeof cc.service === 'object') cc.service = ordered({ ...cc.service, port: cc.service.port ?? 443 }, ['namespace', 'name', 'path', 'port']);
      h.clientConfig = ordered(cc, ['url', 'service', 'caBundle']);
    }
    if (Array.isArray(h.rules)) h.rules = (h.rules as Obj[]).map((r) => ordered({ ...r, scope: r.scope ?? '*' }, ['operations', 'apiGroups', 'apiVersions', 'resources', 'scope']));
    return ordered(h, ['name', 'clientConfig', 'rules', 'failurePolicy', 'matchPolicy', 'namespaceSelector', 'objectSelector', 'sideEffects', 'timeoutSeconds', 'admissionReviewVersions', 'matchConditions']);
  });
}

const notSupported = (field: string, v: unknown, allowed: string[]): StatusCause =>
  ({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, field });
const required = (field: string, detail = ''): StatusCause => ({ reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value', field });
const invalidValue = (field: string, v: unknown, detail: string): StatusCause =>
  ({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(v)}: ${detail}`, field });

function validateUrl(field: string, raw: string): StatusCause[] {
  let u: URL;
  try { u = new URL(raw); } catch { return [invalidValue(field, raw, 'url must be a valid URL')]; }
  const out: StatusCause[] = [];
  if (u.protocol !== 'https:') out.push(invalidValue(field, u.protocol.replace(/:$/, ''), "'https' is the only allowed URL scheme"));
  if (!u.host) out.push(invalidValue(field, u.host, 'host must be specified'));
  if (u.username || u.password) out.push(invalidValue(field, `${u.username}`, 'user information is not permitted in the URL'));
  if (u.hash) out.push(invalidValue(field, u.hash.slice(1), 'fragments are not permitted in the URL'));
  if (u.search) out.push(invalidValue(field, u.search.slice(1), 'query parameters are not permitted in the URL'));
  return out;
}

export function validateWebhookConfiguration(o: Obj): StatusCause[] {
  const causes: StatusCause[] = [];
  const names = new Set<string>();
  ((o.webhooks ?? []) as Obj[]).forEach((h, i) => {
    const f = `webhooks[${i}]`;
    const name = String(h?.name ?? '');
    if (!name) causes.push(required(`${f}.name`));
    else if (name.split('.').length < 3) causes.push(invalidValue(`${f}.name`, name, 'should be a domain with at least three segments separated by dots'));
    else if (names.has(name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(name)}`, field: `${f}.name` });
    names.add(name);
    if (h.failurePolicy !== undefined && !['Fail', 'Ignore'].includes(h.failurePolicy)) causes.push(notSupported(`${f}.failurePolicy`, h.failurePolicy, ['Fail', 'Ignore']));
    if (h.matchPolicy !== undefined && !['Equivalent', 'Exact'].includes(h.matchPolicy)) causes.push(notSupported(`${f}.matchPolicy`, h.matchPolicy, ['Equivalent', 'Exact']));
    if (h.sideEffects === undefined) causes.push(required(`${f}.sideEffects`, 'must specify one of None, NoneOnDryRun'));
    else if (!['None', 'NoneOnDryRun'].includes(h.sideEffects)) causes.push(notSupported(`${f}.sideEffects`, h.sideEffects, ['None', 'NoneOnDryRun']));
    if (typeof h.timeoutSeconds === 'number' && (h.timeoutSeconds < 1 || h.timeoutSeconds > 30)) {
      causes.push(invalidValue(`${f}.timeoutSeconds`, h.timeoutSeconds, 'the timeout value must be between 1 and 30 seconds'));
    }
    const cc = (h.clientConfig ?? {}) as Obj;
    if ((cc.url === undefined) === (cc.service === undefined)) causes.push(required(`${f}.clientConfig`, 'exactly one of url or service is required'));
    else if (cc.url !== undefined) causes.push(...validateUrl(`${f}.clientConfig.url`, String(cc.url)));
    else {
      if (!cc.service.name) causes.push(required(`${f}.clientConfig.service.name`, 'service name is required'));
      if (!cc.service.namespace) causes.push(required(`${f}.clientConfig.service.namespace`, 'service namespace is required'));
    }
    const versions = (h.admissionReviewVersions ?? []) as string[];
    if (!versions.length) causes.push(required(`${f}.admissionReviewVersions`, 'must specify one of v1, v1beta1'));
    else if (!versions.some((v) => v === 'v1' || v === 'v1beta1')) causes.push(invalidValue(`${f}.admissionReviewVersions`, versions, 'must include at least one of v1, v1beta1'));
  });
  return causes;
}
