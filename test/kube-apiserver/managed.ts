// metadata.managedFields: which field manager owns which fields (FieldsV1), maintained on every write like the
// apiserver's structured-merge-diff does, and the server-side-apply conflict check built on it.
import { mergeKeyOf } from './patch/strategic.ts';
import type { Obj } from './store.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;
type Path = string[]; // e.g. ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"pause"}', 'f:image']
const isObj = (v: unknown): v is Record<string, J> => !!v && typeof v === 'object' && !Array.isArray(v);
// Atomic in the Kubernetes schemas (LabelSelector, Service.spec.selector): owned as a whole.
const ATOMIC = new Set(['selector', 'namespaceSelector', 'objectSelector']);
const SKIP_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'generateName']);

/** Leaf field paths of `obj` (status only when `status` is true), as FieldsV1 path elements. */
export function leafPaths(obj: Obj, status = false): Path[] {
  const out: Path[] = [];
  const walk = (v: J, path: Path, field: string): void => {
    if (v === null) return; // null values are not owned (e.g. template.metadata.creationTimestamp)
    if (ATOMIC.has(field)) { out.push(path); return; }
    if (Array.isArray(v)) {
      const key = mergeKeyOf(field, v);
      if (key && v.every((i) => isObj(i) && key in i)) {
        for (const item of v) {
          const p = [...path, `k:${JSON.stringify(field === 'ports' && 'protocol' in item ? { [key]: item[key], protocol: item.protocol } : { [key]: item[key] })}`];
          const before = out.length;
          for (const [k, x] of Object.entries(item)) walk(x, [...p, `f:${k}`], k);
          if (out.length === before) out.push(p);
        }
        return;
      }
      out.push(path);
      return;
    }
    if (isObj(v) && Object.keys(v).length) {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, `f:${k}`], k);
      return;
    }
    out.push(path);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      // A status write owns the annotations it sets too (kube-controller-manager's deployment revision, recorded).
      for (const [mk, mv] of Object.entries(v as Obj)) if (!SKIP_META.has(mk) && (!status || mk === 'annotations')) walk(mv, ['f:metadata', `f:${mk}`], mk);
    } else if ((k === 'status') === status) walk(v, [`f:${k}`], k);
  }
  return out;
}

export const pathKey = (p: Path): string => p.join('\u0001');

export function valueAt(obj: J, p: Path): J {
  let cur = obj;
  for (const el of p) {
    if (cur === undefined || cur === null) return undefined;
    if (el.startsWith('f:')) cur = cur[el.slice(2)];
    else if (el.startsWith('k:')) {
      const sel = JSON.parse(el.slice(2)) as Record<string, J>;
      cur = Array.isArray(cur) ? cur.find((i) => Object.entries(sel).every(([k, v]) => i?.[k] === v)) : undefined;
    }
  }
  return cur;
}

export function deleteAt(obj: J, p: Path): void {
  const parent = valueAt(obj, p.slice(0, -1));
  const last = p[p.length - 1]!;
  if (!parent) return;
  if (last.startsWith('f:')) delete parent[last.slice(2)];
  else if (Array.isArray(parent)) {
    const sel = JSON.parse(last.slice(2)) as Record<string, J>;
    const i = parent.findIndex((x) => Object.entries(sel).every(([k, v]) => x?.[k] === v));
    if (i >= 0) parent.splice(i, 1);
  }
}

export function toFieldsV1(paths: Path[]): Record<string, J> {
  const root: Record<string, J> = {};
  for (const p of paths) {
    let cur = root;
    p.forEach((el, i) => {
      cur[el] ??= {};
      if (i < p.length - 1 && (el.startsWith('k:') || /^f:(labels|annotations|data|binaryData|matchLabels|nodeSelector|selector|rollingUpdate|limits|requests|stringData|conditions)$/.test(el))) cur[el]['.'] = {};
      cur = cur[el];
    });
  }
  return root;
}

export function fromFieldsV1(f: Record<string, J>, prefix: Path = []): Path[] {
  const out: Path[] = [];
  const children = Object.keys(f).filter((k) => k !== '.');
  if (!children.length && prefix.length) return [prefix];
  for (const k of children) out.push(...fromFieldsV1(f[k], [...prefix, k]));
  return out;
}

export interface ManagedEntry { manager: string; operation: 'Update' | 'Apply'; apiVersion: string; time?: string; fieldsType: 'FieldsV1'; fieldsV1: Record<string, J>; subresource?: string }
export const entriesOf = (o: Obj): ManagedEntry[] => (o.metadata?.managedFields ?? []) as ManagedEntry[];
const same = (a: J, b: J): boolean => JSON.stringify(a) === JSON.stringify(b);

export function humanPath(p: Path): string {
  return p.map((el) => {
    if (el.startsWith('f:')) return `.${el.slice(2)}`;
    const sel = JSON.parse(el.slice(2)) as Record<string, J>;
    return `[${Object.entries(sel).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
  }).join('');
}

interface Owner { manager: string; path: Path }
/** Fields of `applied` whose value differs from `live` and that another manager owns. */
export function applyConflicts(live: Obj, applied: Obj, manager: string): Owner[] {
  const out: Owner[] = [];
  for (const p of leafPaths(applied)) {
    if (same(valueAt(applied, p), valueAt(live, p))) continue;
    for (const e of entriesOf(live)) {
      if (e.manager === manager && e.operation === 'Apply') continue;
      if (e.subresource === 'status') continue;
      if (fromFieldsV1(e.fieldsV1).some((q) => pathKey(q) === pathKey(p))) out.push({ manager: e.manager, path: p });
    }
  }
  return out;
}

/** Records a write by `manager` in `next.metadata.managedFields` (next is modified). */
export function recordManagedFields(prev: Obj | undefined, next: Obj, manager: string, operation: 'Update' | 'Apply', apiVersion: string, subresource: string, appliedPaths?: Path[]): void {
  const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const statusWrite = subresource === 'status';
  const nextPaths = leafPaths(next, statusWrite);
  const nextKeys = new Set(nextPaths.map(pathKey));
  const changed = prev ? nextPaths.filter((p) => !same(valueAt(prev, p), valueAt(next, p))) : nextPaths;
  const mine = operation === 'Apply' ? (appliedPaths ?? []) : changed;
  const taken = new Set((operation === 'Apply' ? changed.filter((p) => mine.some((q) => pathKey(q) === pathKey(p))) : changed).map(pathKey));
  const entries: ManagedEntry[] = [];
  let own: ManagedEntry | undefined;
  for (const e of prev ? entriesOf(prev) : []) {
    const isMine = e.manager === manager && e.operation === operation && (e.subresource ?? '') === subresource;
    const kept = fromFieldsV1(e.fieldsV1).filter((p) => nextKeys.has(pathKey(p)) || (e.subresource === 'status') !== statusWrite);
    const rest = isMine ? kept : kept.filter((p) => !taken.has(pathKey(p)));
    const merged = isMine ? (operation === 'Apply' ? mine : [...rest, ...mine.filter((p) => !rest.some((q) => pathKey(q) === pathKey(p)))]) : rest;
    if (isMine) own = { ...e, time, fieldsV1: toFieldsV1(merged) };
    if (!merged.length) continue;
    entries.push(isMine ? own! : { ...e, fieldsV1: toFieldsV1(merged) });
  }
  if (!own && mine.length) {
    own = { manager, operation, apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(mine), ...(subresource ? { subresource } : {}) };
    entries.push(own);
  }
  // kube-apiserver v1.33 records no time on entries written through the scale subresource (admission-review-002).
  if (own && subresource === 'scale') delete own.time;
  // The apiserver's order: Apply before Update, then by time (seconds; none first), manager, apiVersion, subresource.
  const secs = (e: ManagedEntry): number => (e.time ? Date.parse(e.time) / 1000 : 0);
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  entries.sort((a, b) => cmp(a.operation, b.operation) || secs(a) - secs(b) || cmp(a.manager, b.manager) || cmp(a.apiVersion, b.apiVersion) || cmp(a.subresource ?? '', b.subresource ?? ''));
  if (entries.length) next.metadata.managedFields = entries;
  else delete next.metadata.managedFields;
}
