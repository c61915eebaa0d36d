// Server-side field validation (`fieldValidation=Strict|Warn|Ignore`, default Warn) of JSON/YAML bodies against
// the recorded OpenAPI v3 schemas (api/v1, apps/v1, ... as the real server published them): unknown fields are a
// 400 "strict decoding error" (Strict) or a `Warning: 299` header each (Warn). Kinds without a recorded schema
// are not checked.
import { getRecorded } from './fixtures.ts';
import { StatusError, badRequest } from './status.ts';
import type { ResourceInfo } from './resources.ts';
import type { Ctx, Obj } from './types.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = Record<string, any>;
const docs = new Map<string, Schema | null>();

function docFor(info: ResourceInfo): Schema | null {
  const key = info.group ? `apis/${info.group}/${info.version}` : `api/${info.version}`;
  if (!docs.has(key)) {
    const d = getRecorded().openapiV3.get(key);
    docs.set(key, d ? (JSON.parse(d.body.toString('utf8')) as Schema) : null);
  }
  return docs.get(key) ?? null;
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

function unknownFields(doc: Schema, schema: Schema | undefined, v: unknown, path: string, out: string[]): void {
  const s = resolve(doc, schema);
  if (!s || s['x-kubernetes-preserve-unknown-fields'] || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) { v.forEach((x, i) => unknownFields(doc, s.items, x, `${path}[${i}]`, out)); return; }
  for (const [k, x] of Object.entries(v)) {
    const child = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    const p = path ? `${path}.${k}` : k;
    if (!s.properties?.[k] && !s.additionalProperties && s.properties) out.push(p);
    else unknownFields(doc, child, x, p, out);
  }
}

export function checkFields(ctx: Ctx, info: ResourceInfo, body: Obj): void {
  const mode = ctx.query.get('fieldValidation') ?? 'Warn';
  if (mode === 'Ignore') return;
  const doc = docFor(info);
  if (!doc) return;
  const entry = Object.values(doc.components.schemas as Record<string, Schema>).find((s) =>
    (s['x-kubernetes-group-version-kind'] as Schema[] | undefined)?.some((g) => g.group === info.group && g.version === info.version && g.kind === info.kind));
  if (!entry) return;
  const out: string[] = [];
  unknownFields(doc, entry, body, '', out);
  if (!out.length) return;
  const msgs = out.map((p) => `unknown field ${JSON.stringify(p)}`);
  if (mode === 'Strict') throw new StatusError(badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${msgs.join(', ')}`));
  ctx.warnings.push(...msgs);
}
