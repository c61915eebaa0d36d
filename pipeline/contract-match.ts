// Stage 2's comparison: is the request exactly the change the certificate authorises? Platform, operation and
// targets must be equal (targets as a set); parameters must be equal as JSON, except at paths the certificate
// bounds, where the request's value must satisfy the bound instead. Every difference is explained in words.
import { isDeepStrictEqual } from 'node:util';
import type { Bound, Contract, FieldPath, JsonValue, KubeTarget } from '../certs/sab/types.ts';
import { resolvePointer } from '../certs/sab/state.ts';
import type { RequestContract } from './types.ts';

export type MatchResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function matchContract(certified: Contract, request: RequestContract): MatchResult {
  if (certified.platform !== request.platform) return no(`the certificate is for ${certified.platform}, the request is for ${request.platform}`);
  if (certified.operation !== request.operation) return no(`the certificate authorises ${certified.operation}, the request is ${request.operation}`);
  const want = targetKeys(certified.targets);
  const got = targetKeys(request.targets);
  const missing = got.filter((t) => !want.includes(t));
  if (missing.length > 0) return no(`target ${missing[0]} is not certified (certified: ${want.join(', ')})`);
  const uncovered = want.filter((t) => !got.includes(t));
  if (uncovered.length > 0) return no(`the certificate names ${uncovered[0]}, which the request does not touch`);
  return matchParams(certified.params, request.params, certified.bounds ?? {});
}

function targetKeys(targets: readonly (string | KubeTarget)[]): string[] {
  return targets.map((t) => (typeof t === 'string' ? t : kubeKey(t))).sort();
}

function kubeKey(t: KubeTarget): string {
  const group = t.group === '' ? 'core' : t.group;
  const ns = t.namespace === undefined ? '' : `namespaces/${t.namespace}/`;
  return `${group}/${t.version}/${ns}${t.resource}/${t.name}${t.subresource ? `/${t.subresource}` : ''}`;
}

function matchParams(certified: JsonValue, request: JsonValue, bounds: Readonly<Record<FieldPath, Bound>>): MatchResult {
  const boundedPaths = Object.keys(bounds);
  for (const path of boundedPaths) {
    const value = resolvePointer(request, path);
    const verdict = checkBound(bounds[path]!, value);
    if (verdict !== undefined) return no(`parameter ${path} ${verdict}`);
  }
  // Compare what is left once bounded values are set aside on both sides.
  const a = withoutPaths(certified, boundedPaths);
  const b = withoutPaths(request, boundedPaths);
  if (isDeepStrictEqual(a, b)) return { ok: true };
  return no(`parameters differ from the certified ones ${firstDifference(a, b, '')}`);
}

function checkBound(bound: Bound, value: JsonValue | undefined): string | undefined {
  if (bound.oneOf !== undefined) {
    return bound.oneOf.some((v) => isDeepStrictEqual(v, value)) ? undefined : `is ${show(value)}, not one of ${show(bound.oneOf as JsonValue)}`;
  }
  if (typeof value !== 'number') return `is ${show(value)}, the certificate bounds it to a number`;
  if (bound.min !== undefined && value < bound.min) return `is ${value}, below the certified minimum ${bound.min}`;
  if (bound.max !== undefined && value > bound.max) return `is ${value}, above the certified maximum ${bound.max}`;
  return undefined;
}

/** A deep copy of `doc` with the given pointers replaced by a marker, so they compare equal on both sides. */
function withoutPaths(doc: JsonValue, paths: readonly FieldPath[]): JsonValue {
  if (paths.length === 0) return doc;
  const copy = structuredClone(doc) as JsonValue;
  for (const path of paths) {
    const parts = path.slice(1).split('/').map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    let node: unknown = copy;
    for (const key of parts.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    const last = parts.at(-1)!;
    if (node !== null && typeof node === 'object' && Object.hasOwn(node, last)) (node as Record<string, unknown>)[last] = '<bounded>';
  }
  return copy;
}

function firstDifference(a: unknown, b: unknown, at: string): string {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const x = (a as Record<string, unknown>)[k];
      const y = (b as Record<string, unknown>)[k];
      if (!isDeepStrictEqual(x, y)) return firstDifference(x, y, `${at}/${k}`);
    }
  }
  return `at ${at || '/'}: certified ${show(a as JsonValue)}, requested ${show(b as JsonValue)}`;
}

function show(v: JsonValue | undefined): string {
  if (v === undefined) return 'absent';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}

function no(reason: string): MatchResult {
  return { ok: false, reason };
}
