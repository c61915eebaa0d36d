// RFC 7386 JSON merge patch (application/merge-patch+json): objects merge recursively, null deletes, lists and
// scalars replace.
import { StatusError, badRequest } from '../status.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;

export function goTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Parses a merge or strategic-merge patch body; anything but a JSON object is the apiserver's 400. */
export function parseObjectPatch(raw: string): Record<string, J> {
  let v: unknown;
  try { v = JSON.parse(raw); } catch (e) { throw new StatusError(badRequest(`error decoding patch: ${(e as Error).message}`)); }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new StatusError(badRequest(`error decoding patch: json: cannot unmarshal ${goTypeName(v)} into Go value of type map[string]interface {}`));
  }
  return v as Record<string, J>;
}

export function mergePatch(target: J, patch: J): J {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, J> = target && typeof target === 'object' && !Array.isArray(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
