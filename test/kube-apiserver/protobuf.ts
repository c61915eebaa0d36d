// Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`): the 4-byte magic
// `k8s\0`, then a runtime.Unknown {typeMeta{apiVersion=1,kind=2}=1, raw=2} whose `raw` is the object message.
// The result is the object as the apiserver would see it after decoding into its Go type and serialising to JSON
// (zero values of non-pointer fields and empty strings/lists/maps are dropped, like `omitempty`).
import { MESSAGES, type FieldDef } from './proto-schema.ts';

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
type Wire = { num: number; wt: number; v: bigint | Buffer };

function readVarint(b: Buffer, pos: number): [bigint, number] {
  let r = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= b.length) throw new Error('truncated varint');
    const x = b[pos++]!;
    r |= BigInt(x & 0x7f) << shift;
    shift += 7n;
    if (!(x & 0x80)) return [r, pos];
  }
}

export function readWire(b: Buffer): Wire[] {
  const out: Wire[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [tag, p1] = readVarint(b, pos);
    pos = p1;
    const num = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    if (wt === 0) {
      const [v, p2] = readVarint(b, pos);
      pos = p2;
      out.push({ num, wt, v });
    } else if (wt === 2) {
      const [len, p2] = readVarint(b, pos);
      const end = p2 + Number(len);
      if (end > b.length) throw new Error('truncated field');
      out.push({ num, wt, v: b.subarray(p2, end) });
      pos = end;
    } else if (wt === 1) {
      out.push({ num, wt, v: b.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wt === 5) {
      out.push({ num, wt, v: b.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`unsupported wire type ${wt}`);
  }
  return out;
}

const asBuf = (v: bigint | Buffer): Buffer => (typeof v === 'bigint' ? Buffer.alloc(0) : v);
const asInt = (v: bigint | Buffer): number => (typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : 0);

function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeValue(f: FieldDef, w: Wire): unknown {
  switch (f.type) {
    case 's': return asBuf(w.v).toString('utf8');
    case 'i': return asInt(w.v);
    case 'b': return asInt(w.v) !== 0;
    case 'y': return asBuf(w.v).toString('base64');
    case 'time': {
      let s = 0;
      for (const x of readWire(asBuf(w.v))) if (x.num === 1) s = asInt(x.v);
      return s === 0 ? null : rfc3339(s);
    }
    case 'qty': {
      const x = readWire(asBuf(w.v)).find((y) => y.num === 1);
      return x ? asBuf(x.v).toString('utf8') : '';
    }
    case 'ios': {
      let type = 0; let iv = 0; let sv = '';
      for (const x of readWire(asBuf(w.v))) {
        if (x.num === 1) type = asInt(x.v);
        else if (x.num === 2) iv = asInt(x.v);
        else if (x.num === 3) sv = asBuf(x.v).toString('utf8');
      }
      return type === 1 ? sv : iv;
    }
    case 'fv1':
    case 'raw': {
      const x = readWire(asBuf(w.v)).find((y) => y.num === 1);
      return x && asBuf(x.v).length ? JSON.parse(asBuf(x.v).toString('utf8')) : {};
    }
    default: return decodeMessage(f.type, asBuf(w.v));
  }
}

function isEmpty(f: FieldDef, v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (f.pointer) return false;
  if (v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object' && (f.map)) return Object.keys(v).length === 0;
  return false;
}

export function decodeMessage(type: string, b: Buffer): Record<string, unknown> {
  const def = MESSAGES.get(type);
  if (!def) throw new Error(`no protobuf schema for ${type}`);
  const out: Record<string, unknown> = {};
  for (const w of readWire(b)) {
    const f = def.get(w.num);
    if (!f) continue;
    if (f.map) {
      let key = '';
      let val: unknown = f.type === 's' || f.type === 'qty' ? '' : undefined;
      for (const x of readWire(asBuf(w.v))) {
        if (x.num === 1) key = asBuf(x.v).toString('utf8');
        else if (x.num === 2) val = decodeValue(f, x);
      }
      const m = (out[f.name] ??= {}) as Record<string, unknown>;
      m[key] = val ?? (f.type === 'y' ? '' : {});
    } else if (f.repeated) {
      ((out[f.name] ??= []) as unknown[]).push(decodeValue(f, w));
    } else {
      out[f.name] = decodeValue(f, w);
    }
  }
  for (const [, f] of def) if (f.name in out && isEmpty(f, out[f.name])) delete out[f.name];
  return out;
}

export interface DecodedObject { apiVersion: string; kind: string; object: Record<string, unknown> }

/** Decodes a `k8s\0` protobuf envelope into a JSON object with apiVersion/kind first. */
export function decodeKubeProtobuf(body: Buffer): DecodedObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw new Error('missing protobuf magic');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const w of readWire(body.subarray(4))) {
    if (w.num === 1) {
      for (const x of readWire(asBuf(w.v))) {
        if (x.num === 1) apiVersion = asBuf(x.v).toString('utf8');
        if (x.num === 2) kind = asBuf(x.v).toString('utf8');
      }
    } else if (w.num === 2) raw = asBuf(w.v);
  }
  if (!MESSAGES.has(kind)) throw new Error(`no protobuf schema for ${kind}`);
  return { apiVersion, kind, object: { kind, apiVersion, ...decodeMessage(kind, raw) } };
}
