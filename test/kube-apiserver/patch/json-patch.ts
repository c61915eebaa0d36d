// RFC 6902 JSON Patch (application/json-patch+json), with the apiserver's error shapes: a body that is not a
// list -> 400 "error decoding patch: ..."; a failing operation (`test`, missing path) -> 422 with the generic
// "the server rejected our request due to an error in our request" (reason Invalid, empty details).
import { StatusError, badRequest, failure } from '../status.ts';
import { goTypeName } from './merge.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;
interface Op { op: string; path: string; from?: string; value?: unknown }

const rejected = (): StatusError => new StatusError(failure(422, 'Invalid', 'the server rejected our request due to an error in our request', {}));

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw rejected();
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: J, tokens: string[]): [J, string] {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') throw rejected();
    cur = Array.isArray(cur) ? cur[Number(t)] : cur[t];
    if (cur === undefined) throw rejected();
  }
  if (cur === null || typeof cur !== 'object') throw rejected();
  return [cur, tokens[tokens.length - 1]!];
}

function getAt(doc: J, tokens: string[]): J {
  let cur = doc;
  for (const t of tokens) {
    if (cur === null || typeof cur !== 'object') throw rejected();
    cur = Array.isArray(cur) ? cur[Number(t)] : Object.hasOwn(cur, t) ? cur[t] : undefined;
    if (cur === undefined) throw rejected();
  }
  return cur;
}

function arrIndex(arr: unknown[], t: string, allowEnd: boolean): number {
  if (t === '-' && allowEnd) return arr.length;
  if (!/^\d+$/.test(t)) throw rejected();
  const i = Number(t);
  if (i > arr.length || (!allowEnd && i >= arr.length)) throw rejected();
  return i;
}

function add(doc: J, tokens: string[], value: unknown): J {
  if (!tokens.length) return value;
  const [parent, last] = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrIndex(parent, last, true), 0, value);
  else parent[last] = value;
  return doc;
}

function remove(doc: J, tokens: string[]): J {
  const [parent, last] = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrIndex(parent, last, false), 1);
  else {
    if (!Object.hasOwn(parent, last)) throw rejected();
    delete parent[last];
  }
  return doc;
}

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canon(x)]));
  return v;
}

export function parseJsonPatch(raw: string): Op[] {
  let ops: unknown;
  try { ops = JSON.parse(raw); } catch (e) { throw new StatusError(badRequest(`error decoding patch: ${(e as Error).message}`)); }
  if (!Array.isArray(ops)) throw new StatusError(badRequest(`error decoding patch: json: cannot unmarshal ${goTypeName(ops)} into Go value of type []handlers.jsonPatchOp`));
  return ops as Op[];
}

export function applyJsonPatch(target: J, raw: string): J {
  let doc = structuredClone(target);
  for (const op of parseJsonPatch(raw)) {
    const tokens = pointer(op.path);
    switch (op.op) {
      case 'add': doc = add(doc, tokens, structuredClone(op.value)); break;
      case 'remove': doc = remove(doc, tokens); break;
      case 'replace': getAt(doc, tokens); doc = tokens.length ? add(remove(doc, tokens), tokens, structuredClone(op.value)) : op.value; break;
      case 'move': { const from = pointer(op.from ?? ''); const v = getAt(doc, from); doc = add(remove(doc, from), tokens, v); break; }
      case 'copy': { const v = structuredClone(getAt(doc, pointer(op.from ?? ''))); doc = add(doc, tokens, v); break; }
      case 'test': if (!deepEqual(getAt(doc, tokens), op.value)) throw rejected(); break;
      default: throw new StatusError(badRequest(`Unexpected kind: ${op.op}`));
    }
  }
  return doc;
}
