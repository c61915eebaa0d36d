// Two independent checks of Kubernetes objects against the API's OpenAPI schema:
// - kubernetes-models (5.1.0, the 1.3x schemas compiled to validators): types, required fields, enums, formats;
// - unknown fields, against the OpenAPI v3 documents a real kube-apiserver v1.33 served (recorded in
//   ../shared/fixtures/kube-apiserver-v1.33): what `kubectl apply --validate=strict` would refuse. The recordings
//   hold api/v1, apps/v1, admissionregistration.k8s.io/v1 and authorization.k8s.io/v1; a kind of another group is
//   checked only by kubernetes-models, and so are the pod templates inside Jobs and CronJobs (as
//   PodTemplateSpec from api/v1).
import { getRecorded } from '../kube-apiserver/fixtures.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = Record<string, any>;

interface ModelClass { new (data: unknown): { validate(): void } }

/** kubernetes-models' class for apiVersion + kind, or undefined when it has none. */
export async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  try {
    const mod = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, ModelClass>;
    return mod[kind];
  } catch {
    return undefined;
  }
}

/** The kubernetes-models validation errors of an object, as strings ([] when valid). Throws for an unknown kind. */
export async function schemaErrors(obj: { apiVersion: string; kind: string }): Promise<string[]> {
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) throw new Error(`kubernetes-models has no ${obj.apiVersion} ${obj.kind}`);
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    return errors ? errors.map((e) => `${e.instancePath} ${e.message ?? ''}`) : [String(err)];
  }
}

const docs = new Map<string, Schema | undefined>();
function recordedDoc(groupVersion: string): Schema | undefined {
  const key = groupVersion.includes('/') ? `apis/${groupVersion}` : `api/${groupVersion}`;
  if (!docs.has(key)) {
    const d = getRecorded().openapiV3.get(key);
    docs.set(key, d ? (JSON.parse(d.body.toString('utf8')) as Schema) : undefined);
  }
  return docs.get(key);
}

/** Whether the recordings hold the schema of this apiVersion. */
export function hasRecordedSchema(apiVersion: string): boolean {
  return recordedDoc(apiVersion) !== undefined;
}

/** Fields of `obj` (apiVersion + kind) the v1.33 API server does not know, as dotted paths. */
export function unknownFields(obj: { apiVersion: string; kind: string }): string[] {
  const doc = recordedDoc(obj.apiVersion);
  if (!doc) throw new Error(`no recorded OpenAPI v3 schema for ${obj.apiVersion}`);
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') as [string, string] : ['', obj.apiVersion];
  const entry = Object.values(doc.components.schemas as Record<string, Schema>).find((s) =>
    (s['x-kubernetes-group-version-kind'] as Schema[] | undefined)?.some((g) => g.group === group && g.version === version && g.kind === obj.kind));
  if (!entry) throw new Error(`the recorded ${obj.apiVersion} schema has no kind ${obj.kind}`);
  const out: string[] = [];
  walk(doc, entry, obj, '', out);
  return out;
}

/** Unknown fields of a value checked against a named schema of api/v1 (e.g. io.k8s.api.core.v1.PodTemplateSpec). */
export function unknownCoreFields(schemaName: string, value: unknown): string[] {
  const doc = recordedDoc('v1')!;
  const out: string[] = [];
  walk(doc, doc.components.schemas[schemaName] as Schema, value, '', out);
  return out;
}

function resolve(doc: Schema, s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; cur && i < 10; i++) {
    if (cur.$ref) cur = doc.components.schemas[String(cur.$ref).replace('#/components/schemas/', '')];
    else if (Array.isArray(cur.allOf) && cur.allOf.length === 1 && !cur.properties) cur = cur.allOf[0];
    else break;
  }
  return cur;
}

function walk(doc: Schema, schema: Schema | undefined, v: unknown, path: string, out: string[]): void {
  const s = resolve(doc, schema);
  if (!s || s['x-kubernetes-preserve-unknown-fields'] || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => walk(doc, s.items, x, `${path}[${i}]`, out));
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    const p = path ? `${path}.${k}` : k;
    if (s.properties?.[k]) walk(doc, s.properties[k], x, p, out);
    else if (typeof s.additionalProperties === 'object') walk(doc, s.additionalProperties, x, p, out);
    else if (s.properties && !s.additionalProperties) out.push(p);
  }
}
