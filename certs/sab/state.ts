// Digests of target state for the drift check: the SAB computes them when it certifies (`seb sab issue
// --observe`), the broker recomputes them right before executing, and drift is the fraction that changed.
import { createHash } from 'node:crypto';
import { canonicalJson } from './signing-input.ts';
import { ABSENT_DIGEST, type FieldPath, type JsonValue, type StateDigest } from './types.ts';

/** RFC 6901: the value at `pointer` in `doc`, or undefined when the path does not exist. */
export function resolvePointer(doc: JsonValue, pointer: FieldPath): JsonValue | undefined {
  if (pointer === '') return doc;
  let node: JsonValue | undefined = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(key)) return undefined;
      node = (node as readonly JsonValue[])[Number(key)];
    } else if (node !== null && typeof node === 'object') {
      node = Object.hasOwn(node, key) ? (node as Record<string, JsonValue>)[key] : undefined;
    } else {
      return undefined;
    }
    if (node === undefined) return undefined;
  }
  return node;
}

export function digestValue(value: JsonValue | undefined): StateDigest {
  if (value === undefined) return ABSENT_DIGEST;
  const text = canonicalJson(value);
  // canonicalJson fails only on values JSON cannot hold (NaN, lone surrogates); those never come from a parsed API
  // response, and digesting their String() keeps the comparison total instead of throwing.
  return `sha256:${createHash('sha256').update(text.ok ? text.value : String(value)).digest('hex')}`;
}

export function digestState(state: JsonValue, paths: readonly FieldPath[]): Record<FieldPath, StateDigest> {
  return Object.fromEntries(paths.map((p) => [p, digestValue(resolvePointer(state, p))]));
}

/** The fraction of certified paths whose digest differs now, and which ones. */
export function measureDrift(admitted: Readonly<Record<FieldPath, StateDigest>>, observed: JsonValue): { fraction: number; changed: FieldPath[] } {
  const paths = Object.keys(admitted);
  const now = digestState(observed, paths);
  const changed = paths.filter((p) => now[p] !== admitted[p]);
  return { fraction: paths.length === 0 ? 1 : changed.length / paths.length, changed };
}
