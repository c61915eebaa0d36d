// Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded into the JSON object the
// apiserver would build from them, so that seb can judge them and forward that JSON instead. The envelope: the
// 4-byte magic `k8s\0`, then a runtime.Unknown {typeMeta{apiVersion=1,kind=2}=1, raw=2, contentEncoding=3,
// contentType=4} whose `raw` is the object's message (protobuf-schema.ts).
// Strict on purpose: an unknown field number, a wrong wire type, a field given twice, a truncated or overlong
// value, invalid UTF-8, a kind seb does not decode or one that does not match the URL: the body is refused.
// JSON form, as Go's encoding/json writes the decoded struct: zero values of non-pointer fields are omitted (the
// apiserver reads an absent field as its zero value), pointer fields keep their zero values, Time is RFC 3339.
import type { JsonValue } from '../../certs/sab/types.ts';
import { strictJsonBody } from '../body.ts';
import { KIND_BY_RESOURCE, MESSAGES, TOP_LEVEL_KINDS, type FieldDef } from './protobuf-schema.ts';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What the request URL names: the body's kind must be the one this resource (and subresource) takes. */
export interface ProtobufTarget {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource?: string;
}

export type ProtobufDecode = { readonly ok: true; readonly value: JsonValue } | { readonly ok: false; readonly message: string };

class Refusal extends Error {}
function fail(message: string): never {
  throw new Refusal(message);
}

interface WireField {
  readonly num: number;
  readonly wt: number;
  readonly varint: bigint;
  readonly bytes: Buffer;
}

function readVarint(b: Buffer, start: number, where: string): [bigint, number] {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const pos = start + i;
    if (pos >= b.length) fail(`truncated varint in ${where}`);
    const byte = b[pos]!;
    if (i === 9 && byte > 1) fail(`varint longer than 64 bits in ${where}`);
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (!(byte & 0x80)) return [value, pos + 1];
  }
  return fail(`varint longer than 64 bits in ${where}`);
}

/** The fields of one message, in wire order; anything truncated or not a protobuf wire type is refused. */
function readFields(b: Buffer, where: string): WireField[] {
  const out: WireField[] = [];
  const none = Buffer.alloc(0);
  let pos = 0;
  while (pos < b.length) {
    const [tag, afterTag] = readVarint(b, pos, where);
    const num = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    if (num < 1 || num > 0x1fffffff) fail(`invalid field number ${num} in ${where}`);
    pos = afterTag;
    if (wt === 0) {
      const [v, next] = readVarint(b, pos, where);
      out.push({ num, wt, varint: v, bytes: none });
      pos = next;
    } else if (wt === 2 || wt === 1 || wt === 5) {
      let len = wt === 1 ? 8 : 4;
      if (wt === 2) {
        const [l, next] = readVarint(b, pos, where);
        if (l > BigInt(b.length - next)) fail(`truncated field ${num} in ${where}`);
        len = Number(l);
        pos = next;
      }
      if (pos + len > b.length) fail(`truncated field ${num} in ${where}`);
      out.push({ num, wt, varint: 0n, bytes: b.subarray(pos, pos + len) });
      pos += len;
    } else {
      fail(`unsupported wire type ${wt} (field ${num}) in ${where}`);
    }
  }
  return out;
}

function text(bytes: Buffer, where: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return fail(`invalid UTF-8 in ${where}`);
  }
}

function int(v: bigint, bits: 32 | 64, where: string): number {
  const n = BigInt.asIntN(64, v);
  const limit = bits === 32 ? 2n ** 31n : BigInt(Number.MAX_SAFE_INTEGER) + 1n;
  if (n >= limit || n < -limit || (bits === 64 && n === -limit)) fail(`integer ${n} out of range in ${where}`);
  return Number(n);
}

/** A small fixed message (Time, Quantity, IntOrString, map entries ...): each known field at most once. */
function smallMessage(bytes: Buffer, where: string, wireTypes: Readonly<Record<number, number>>): Map<number, WireField> {
  const seen = new Map<number, WireField>();
  for (const f of readFields(bytes, where)) {
    const wt = wireTypes[f.num];
    if (wt === undefined) fail(`unknown field number ${f.num} in ${where}`);
    if (f.wt !== wt) fail(`wrong wire type ${f.wt} for field ${f.num} in ${where}`);
    if (seen.has(f.num)) fail(`field ${f.num} given twice in ${where}`);
    seen.set(f.num, f);
  }
  return seen;
}

const MIN_SECONDS = -62135596800; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

function decodeScalar(f: FieldDef, w: WireField, where: string): JsonValue {
  switch (f.type) {
    case 's': return text(w.bytes, where);
    case 'i': return int(w.varint, 64, where);
    case 'i32': return int(w.varint, 32, where);
    case 'b':
      if (w.varint > 1n) fail(`boolean ${w.varint} is neither 0 nor 1 in ${where}`);
      return w.varint === 1n;
    case 'y': return w.bytes.toString('base64');
    case 'time': {
      if (w.bytes.length === 0) return null; // the zero Time
      const t = smallMessage(w.bytes, where, { 1: 0, 2: 0 });
      const seconds = int(t.get(1)?.varint ?? 0n, 64, where);
      if (int(t.get(2)?.varint ?? 0n, 32, where) !== 0) fail(`sub-second time in ${where} has no JSON form`);
      if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) fail(`time out of range in ${where}`);
      return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
    }
    case 'qty': {
      const s = smallMessage(w.bytes, where, { 1: 2 }).get(1);
      if (!s || s.bytes.length === 0) fail(`empty quantity in ${where}`);
      return text(s.bytes, where);
    }
    case 'ios': {
      const m = smallMessage(w.bytes, where, { 1: 0, 2: 0, 3: 2 });
      const type = m.get(1)?.varint ?? 0n;
      const intVal = int(m.get(2)?.varint ?? 0n, 32, where);
      const strVal = text(m.get(3)?.bytes ?? Buffer.alloc(0), where);
      if (type === 0n && strVal === '') return intVal;
      if (type === 1n && intVal === 0) return strVal;
      return fail(`inconsistent IntOrString (type ${type}) in ${where}`);
    }
    case 'fv1': {
      const raw = smallMessage(w.bytes, where, { 1: 2 }).get(1);
      const parsed = strictJsonBody(raw?.bytes ?? Buffer.alloc(0));
      if (!parsed.ok) fail(`fieldsV1 in ${where}: ${parsed.message}`);
      return parsed.value;
    }
    default: return decodeMessage(f.type, w.bytes, where);
  }
}

const wireTypeOf = (f: FieldDef): number => (f.type === 'i' || f.type === 'i32' || f.type === 'b' ? 0 : 2);

function decodeMapEntry(f: FieldDef, bytes: Buffer, where: string): [string, JsonValue] {
  const m = smallMessage(bytes, where, { 1: 2, 2: wireTypeOf(f) });
  const k = m.get(1);
  const v = m.get(2);
  if (!k || !v) fail(`map entry without ${k ? 'value' : 'key'} in ${where}`);
  const key = text(k.bytes, where);
  if (key === '__proto__') fail(`map key "__proto__" in ${where}`);
  return [key, decodeScalar(f, v, `${where}[${JSON.stringify(key).slice(0, 80)}]`)];
}

/** Go's `omitempty` on non-pointer fields (pointers keep their zero values; `null` is never written). */
function omitted(f: FieldDef, v: JsonValue): boolean {
  if (v === null) return true;
  if (f.pointer && !f.repeated && !f.map) return false;
  if (Array.isArray(v)) return v.length === 0;
  if (f.map) return Object.keys(v as object).length === 0;
  return v === '' || v === 0 || v === false;
}

function decodeMessage(type: string, bytes: Buffer, where: string): Record<string, JsonValue> {
  const def = MESSAGES.get(type);
  if (!def) return fail(`no protobuf schema for ${type}`);
  const values = new Map<FieldDef, JsonValue>();
  for (const w of readFields(bytes, where)) {
    const f = def.get(w.num);
    if (!f) fail(`unknown field number ${w.num} in ${type} (${where}): seb cannot tell what the apiserver would read there`);
    const at = `${where}.${f.name}`;
    if (w.wt !== (f.map ? 2 : wireTypeOf(f))) fail(`wrong wire type ${w.wt} for ${at}`);
    if (f.map) {
      const [key, value] = decodeMapEntry(f, w.bytes, at);
      const m = (values.get(f) ?? {}) as Record<string, JsonValue>;
      if (Object.hasOwn(m, key)) fail(`duplicate map key ${JSON.stringify(key).slice(0, 80)} in ${at}`);
      m[key] = value;
      values.set(f, m);
    } else if (f.repeated) {
      const list = (values.get(f) ?? []) as JsonValue[];
      list.push(decodeScalar(f, w, `${at}[${list.length}]`));
      values.set(f, list);
    } else {
      if (values.has(f)) fail(`field ${at} given twice`);
      values.set(f, decodeScalar(f, w, at));
    }
  }
  const out: Record<string, JsonValue> = {};
  for (const f of [...def.values()].sort((a, b) => a.num - b.num)) {
    const v = values.get(f);
    if (v === undefined || (!f.inline && omitted(f, v))) continue;
    if (!f.inline) {
      out[f.name] = v;
      continue;
    }
    for (const [k, x] of Object.entries(v as Record<string, JsonValue>)) {
      if (Object.hasOwn(out, k)) fail(`field ${k} given twice in ${where} (inlined ${f.name})`);
      out[k] = x;
    }
  }
  return out;
}

/** The `apiVersion kind` a body sent to this URL must carry, if seb decodes it. */
export function expectedKind(target: ProtobufTarget): string | undefined {
  const gv = `${target.group}/${target.version}`;
  return KIND_BY_RESOURCE.get(`${gv} ${target.resource}${target.subresource !== undefined ? `/${target.subresource}` : ''}`);
}

interface Envelope { readonly apiVersion: string; readonly kind: string; readonly raw: Buffer }

function readEnvelope(body: Buffer): Envelope {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) fail('the body does not start with the protobuf magic "k8s\\0"');
  const env = smallMessage(body.subarray(MAGIC.length), 'the runtime.Unknown envelope', { 1: 2, 2: 2, 3: 2, 4: 2 });
  const typeMeta = smallMessage(env.get(1)?.bytes ?? Buffer.alloc(0), 'the envelope typeMeta', { 1: 2, 2: 2 });
  const apiVersion = text(typeMeta.get(1)?.bytes ?? Buffer.alloc(0), 'typeMeta.apiVersion');
  const kind = text(typeMeta.get(2)?.bytes ?? Buffer.alloc(0), 'typeMeta.kind');
  if (!apiVersion || !kind) fail('the envelope names no apiVersion and kind');
  for (const [num, name] of [[3, 'contentEncoding'], [4, 'contentType']] as const) {
    const v = env.get(num);
    if (v && v.bytes.length > 0) fail(`the envelope sets ${name} ${JSON.stringify(text(v.bytes, name).slice(0, 80))}; seb decodes only plain protobuf objects`);
  }
  return { apiVersion, kind, raw: env.get(2)?.bytes ?? Buffer.alloc(0) };
}

function decodeObject(env: Envelope): Record<string, JsonValue> {
  if (!TOP_LEVEL_KINDS.has(`${env.apiVersion} ${env.kind}`)) fail(`seb does not decode ${env.kind} (${env.apiVersion}) objects`);
  return { kind: env.kind, apiVersion: env.apiVersion, ...decodeMessage(env.kind, env.raw, env.kind) };
}

/** Decodes the envelope and the object in it: `{kind, apiVersion, ...fields}` as the apiserver would read it.
 * Throws on anything undecodable (see decodeProtobufBody for requests). */
export function decodeEnvelope(body: Buffer): { apiVersion: string; kind: string; object: Record<string, JsonValue> } {
  const env = readEnvelope(body);
  return { apiVersion: env.apiVersion, kind: env.kind, object: decodeObject(env) };
}

/** A protobuf request body sent to `target`, as the JSON seb judges and forwards, or why it is refused. */
export function decodeProtobufBody(body: Buffer, target: ProtobufTarget): ProtobufDecode {
  try {
    const expected = expectedKind(target);
    const url = `${target.group || 'core'}/${target.version} ${target.resource}${target.subresource !== undefined ? `/${target.subresource}` : ''}`;
    if (!expected) fail(`seb decodes no protobuf bodies for ${url}`);
    const env = readEnvelope(body);
    const [apiVersion, kind] = expected.split(' ') as [string, string];
    if (env.apiVersion !== apiVersion || env.kind !== kind) fail(`the body is a ${env.kind} (${env.apiVersion}) but ${url} takes a ${kind} (${apiVersion})`);
    return { ok: true, value: decodeObject(env) };
  } catch (err) {
    // Anything undecodable is refused; an unexpected error is reported as such rather than crashing the gate.
    return { ok: false, message: err instanceof Refusal ? err.message : `decoding failed (${(err as Error).message.slice(0, 200)})` };
  }
}
