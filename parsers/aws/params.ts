// AWS Query-protocol parameters (EC2, IAM, STS, Auto Scaling ...) from flat form fields into structures:
// "IpPermissions.1.IpRanges.1.CidrIp=x" becomes {IpPermissions:[{IpRanges:[{CidrIp:"x"}]}]}. Values stay strings,
// as on the wire. A parameter given twice, or in both the query string and the body, is refused, never guessed.
import type { JsonValue } from '../../certs/sab/types.ts';

export type ParamsResult = { readonly ok: true; readonly action: string; readonly params: JsonValue } | { readonly ok: false; readonly reason: string };

export function queryProtocolParams(query: URLSearchParams, body: Buffer, contentType: string): ParamsResult {
  const fromBody = contentType.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(body.toString('latin1')) : new URLSearchParams();
  const flat = new Map<string, string>();
  const folded = new Set<string>();
  for (const source of [query, fromBody]) {
    for (const [key, value] of source) {
      if (key.startsWith('X-Amz-')) continue; // presigned-URL signing fields, not operation parameters
      // Also in another casing: seb must not pick one of two spellings the service might read the other way.
      if (folded.has(key.toLowerCase())) return { ok: false, reason: `parameter ${key.slice(0, 100)} is given more than once (or in two casings)` };
      folded.add(key.toLowerCase());
      flat.set(key, value);
    }
  }
  const action = flat.get('Action');
  if (!action || !/^[A-Z][A-Za-z0-9]{1,127}$/.test(action)) return { ok: false, reason: 'the Action parameter is missing or malformed' };
  flat.delete('Action');
  flat.delete('Version');
  const root: Record<string, unknown> = {};
  for (const [key, value] of [...flat].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parts = key.split('.');
    if (parts.some((p) => p === '') || parts.some((p) => p === '__proto__')) return { ok: false, reason: `parameter name ${key.slice(0, 100)} is malformed` };
    let node: Record<string, unknown> = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      if (typeof node[part] === 'string') return { ok: false, reason: `parameter ${key} conflicts with ${parts.slice(0, i + 1).join('.')}` };
      node = (node[part] ??= {}) as Record<string, unknown>;
    }
    const last = parts.at(-1)!;
    if (node[last] !== undefined) return { ok: false, reason: `parameter ${key} conflicts with another parameter` };
    node[last] = value;
  }
  return { ok: true, action, params: listify(root) as JsonValue };
}

/** Objects whose keys are 1..n (EC2's ".N" lists, also "member.N") become arrays. */
function listify(node: unknown): unknown {
  if (typeof node !== 'object' || node === null) return node;
  const obj = node as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'member') return listify(obj.member);
  if (keys.length > 0 && keys.every((k) => /^[1-9]\d*$/.test(k))) {
    const sorted = keys.map(Number).sort((a, b) => a - b);
    if (sorted.every((n, i) => n === i + 1)) return sorted.map((n) => listify(obj[String(n)]));
  }
  return Object.fromEntries(keys.map((k) => [k, listify(obj[k])]));
}
