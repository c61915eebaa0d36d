// In-memory object store with one global, monotonic resourceVersion counter (as etcd's revision) and a watch
// history, keyed by group/resource/namespace/name (the version is only a serialisation detail).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent { type: EventType; rv: number; group: string; resource: string; namespace: string; object: Obj }
export type Listener = (e: StoreEvent) => void;

export interface Store {
  rv: number;
  /** Oldest resourceVersion a watch may start from (older ones get 410 Expired, like a compacted etcd). */
  compactedRv: number;
  objects: Map<string, Obj>;
  history: StoreEvent[];
  listeners: Set<Listener>;
}

export const HISTORY_LIMIT = 20000;

export function createStore(startRv = 100): Store {
  return { rv: startRv, compactedRv: startRv, objects: new Map(), history: [], listeners: new Set() };
}

const k = (group: string, resource: string, ns: string, name: string): string => `${group}\u0000${resource}\u0000${ns}\u0000${name}`;
export const clone = <T>(o: T): T => structuredClone(o);

export function getObject(s: Store, group: string, resource: string, ns: string, name: string): Obj | undefined {
  const o = s.objects.get(k(group, resource, ns, name));
  return o ? clone(o) : undefined;
}

export function listObjects(s: Store, group: string, resource: string, ns?: string): Obj[] {
  const prefix = ns === undefined ? k(group, resource, '', '').replace(/\u0000\u0000$/, '\u0000') : k(group, resource, ns, '');
  const out: Obj[] = [];
  for (const [key, o] of s.objects) if (key.startsWith(prefix)) out.push(clone(o));
  return out.sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
}

function emit(s: Store, e: StoreEvent): void {
  s.history.push(e);
  if (s.history.length > HISTORY_LIMIT) {
    const dropped = s.history.splice(0, s.history.length - HISTORY_LIMIT);
    s.compactedRv = dropped[dropped.length - 1]!.rv;
  }
  for (const l of [...s.listeners]) l(e);
}

/** Stores `obj` (ADDED if new, MODIFIED otherwise) under a new resourceVersion and returns the stored copy. */
export function putObject(s: Store, group: string, resource: string, obj: Obj): Obj {
  const ns: string = obj.metadata.namespace ?? '';
  const key = k(group, resource, ns, obj.metadata.name);
  const type: EventType = s.objects.has(key) ? 'MODIFIED' : 'ADDED';
  const stored = clone(obj);
  s.rv += 1;
  stored.metadata.resourceVersion = String(s.rv);
  s.objects.set(key, stored);
  emit(s, { type, rv: s.rv, group, resource, namespace: ns, object: clone(stored) });
  return clone(stored);
}

export function removeObject(s: Store, group: string, resource: string, ns: string, name: string): Obj | undefined {
  const key = k(group, resource, ns, name);
  const old = s.objects.get(key);
  if (!old) return undefined;
  s.objects.delete(key);
  s.rv += 1;
  const gone = clone(old);
  gone.metadata.resourceVersion = String(s.rv);
  emit(s, { type: 'DELETED', rv: s.rv, group, resource, namespace: ns, object: clone(gone) });
  return gone;
}
