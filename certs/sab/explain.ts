// One line per field, in words an operator reviewing a denial (or an approver reviewing a request) can act on.
// Every value that is not plain printable ASCII is shown JSON-quoted, so a hostile string cannot inject terminal
// escapes or fake lines into `seb cert inspect` output.
import canonicalize from 'canonicalize';
import type { Bound, CertificatePayload, KubeTarget } from './types.ts';

const PRINTABLE = /^[\x21-\x7e]+$/;

function show(value: string): string {
  return PRINTABLE.test(value) ? value : JSON.stringify(value);
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
  if (b.oneOf !== undefined) return `one of ${b.oneOf.map((v) => canonicalize(v) ?? 'null').join(', ')}`;
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
  lines.push(`parameters (must match exactly unless bounded): ${canonicalize(contract.params) ?? 'null'}`);
  if (contract.bounds === undefined) lines.push('bounds: none (every parameter must match exactly)');
  else for (const [path, b] of Object.entries(contract.bounds)) lines.push(`bound at ${JSON.stringify(path)}: ${bound(b)}`);
  lines.push(`risk: ${contract.risk}`);
  if (admitted.waived) {
    lines.push(`drift check: WAIVED by the SAB, reason: ${JSON.stringify(admitted.reason)}`);
  } else {
    lines.push(`admitted state digest: ${admitted.digest}`);
    lines.push(`admitted state covers: ${admitted.paths.map((p) => JSON.stringify(p)).join(', ')}`);
    lines.push(admitted.epsilon === 0
      ? 'drift tolerance (epsilon): 0, any change to the target forces re-certification'
      : `drift tolerance (epsilon): ${admitted.epsilon}`);
  }
  lines.push(`valid from (nbf): ${time(payload.nbf)}`);
  lines.push(`valid until (exp): ${time(payload.exp)}, a window of ${payload.exp - payload.nbf} s`);
  lines.push(`policy epoch: ${payload.policyEpoch} (rejected once the broker's policy epoch differs)`);
  lines.push(`revocation epoch: ${payload.revocationEpoch} (rejected once the global revocation epoch is higher)`);
  lines.push(`nonce: ${show(payload.nonce)} (single use)`);
  return lines;
}
