// RFC 6902 JSON Patch from a before/after pair of JSON documents, as the mutating webhook answers with it.
// Objects are compared key by key; arrays of the same length element by element; an array whose length changed is
// replaced whole (simple and always correct: the API server applies a webhook's patch to exactly the object it
// sent). Pointers escape "~" as "~0" and "/" as "~1" (RFC 6901), so label keys like "seb.openkedge.io/inject" work.

export type JsonPatchOp =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function diffJson(before: unknown, after: unknown, path = ''): JsonPatchOp[] {
  if (jsonEqual(before, after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const ops: JsonPatchOp[] = [];
    for (const key of Object.keys(before)) {
      if (!Object.hasOwn(after, key)) ops.push({ op: 'remove', path: `${path}/${escapePointerToken(key)}` });
    }
    for (const [key, value] of Object.entries(after)) {
      const p = `${path}/${escapePointerToken(key)}`;
      if (!Object.hasOwn(before, key)) ops.push({ op: 'add', path: p, value });
      else ops.push(...diffJson(before[key], value, p));
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => diffJson(b, after[i], `${path}/${i}`));
  }
  // The document root itself cannot be "replaced" by path "" in every implementation; it never is here (pods).
  return [{ op: 'replace', path, value: after }];
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
