// One line per field, in words an operator reviewing a denial (or an approver reviewing a request) can act on.
// Every value that is not plain printable ASCII is shown quoted with non-ASCII escaped, so a hostile string cannot
// inject terminal escapes, bidi overrides or fake lines into `seb cert inspect` output.
import canonicalize from 'canonicalize';
import type { Bound, CertificatePayload, JsonValue, KubeTarget } from './types.ts';

const PRINTABLE = /^[\x21-\x7e]+$/;

/** Escapes everything outside printable ASCII as \uXXXX; applied to JSON text, the result is still valid JSON. */
function asciiOnly(jsonText: string): string {
  return jsonText.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function quote(value: string): string {
  return asciiOnly(JSON.stringify(value));
}

function show(value: string): string {
  return PRINTABLE.test(value) ? value : quote(value);
}

function json(value: JsonValue): string {
  return asciiOnly(canonicalize(value) ?? 'null');
}

function time(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : `${date.toISOString()} (${seconds})`;
}

function kubeTarget(t: KubeTarget): string {
  const gv = t.group === '' ? t.version : `${t.group}/${t.version}`;
  const where = t.namespace === undefined ? 'cluster-scoped' : `namespace ${show(t.namespace)}`;
  const sub = t.subresource === undefined ? '' : ` subresource ${show(t.subresource)}`;
  return `${show(t.resource)} ${show(t.name)} (${show(gv)}, ${where})${sub}`;
}

function bound(b: Bound): string {
  if (b.oneOf !== undefined) return `one of ${b.oneOf.map(json).join(', ')}`;
  if (b.min !== undefined && b.max !== undefined) return `between ${b.min} and ${b.max} inclusive`;
  return b.min !== undefined ? `at least ${b.min}` : `at most ${b.max}`;
}

export function explain(payload: CertificatePayload): string[] {
  const { contract, admitted } = payload;
  const lines = [
    `format: SAB certificate v${payload.v}`,
    `certificate id (cid): ${show(payload.cid)}`,
    `issued by (iss): ${show(payload.iss)}`,
    `issued to agent (sub): ${show(payload.sub)}`,
    `platform: ${contract.platform === 'aws' ? 'AWS' : 'Kubernetes'}`,
    `operation: ${show(contract.operation)}`,
  ];
  contract.targets.forEach((target, i) => {
    const text = typeof target === 'string' ? show(target) : kubeTarget(target);
    lines.push(`target ${i + 1} of ${contract.targets.length}: ${text}`);
  });
  lines.push(`parameters (must match exactly unless bounded): ${json(contract.params)}`);
  if (contract.bounds === undefined) lines.push('bounds: none (every parameter must match exactly)');
  else for (const [path, b] of Object.entries(contract.bounds)) lines.push(`bound at ${quote(path)}: ${bound(b)}`);
  lines.push(`risk: ${contract.risk}`);
  if (admitted.waived) {
    lines.push(`drift check: WAIVED by the SAB, reason: ${quote(admitted.reason)}`);
  } else {
    for (const [path, digest] of Object.entries(admitted.state)) lines.push(`admitted state at ${quote(path)}: ${digest}`);
    lines.push(admitted.epsilon === 0
      ? 'drift tolerance (epsilon): 0, any change to the target forces re-certification'
      : `drift tolerance (epsilon): ${admitted.epsilon}, execution is refused once more than that fraction of the covered paths changed`);
  }
  lines.push(`valid from (nbf): ${time(payload.nbf)}`);
  lines.push(`valid until (exp): ${time(payload.exp)}, a window of ${payload.exp - payload.nbf} s`);
  lines.push(`policy epoch: ${payload.policyEpoch} (rejected once the broker's policy epoch differs)`);
  lines.push(`revocation epoch: ${payload.revocationEpoch} (rejected once the global revocation epoch is higher)`);
  lines.push(`nonce: ${show(payload.nonce)} (single use)`);
  return lines;
}
