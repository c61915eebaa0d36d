// The protobuf schema (proto-schema.ts) against every Kubernetes protobuf body in the recordings: our decoding of
// the wire bytes must equal the recording's `_decodedProtobuf` view (zero values and key order aside).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeKubeProtobuf, FIXTURES_DIR, loadHar } from '../kube-apiserver/index.ts';

function norm(v: unknown): unknown {
  if (Array.isArray(v)) { const a = v.map(norm).filter((x) => x !== undefined); return a.length ? a : undefined; }
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) { const n = norm(x); if (n !== undefined) o[k] = n; }
    return Object.keys(o).length ? o : undefined;
  }
  return v === '' || v === 0 || v === false || v === null ? undefined : v;
}

describe('protobuf decoding of recorded bodies', () => {
  const bodies: { name: string; raw: Buffer; decoded: unknown }[] = [];
  for (const f of fs.readdirSync(FIXTURES_DIR).filter((x) => x.endsWith('.har'))) {
    for (const e of loadHar(path.basename(f, '.har'))) {
      for (const [where, c] of [['request', e.request.postData], ['response', e.response.content]] as const) {
        const d = (c as { _decodedProtobuf?: { kind?: string } } | undefined)?._decodedProtobuf;
        if (!d || !c?.text || ['ReplicaSetList', 'EventList', 'PodList', 'HorizontalPodAutoscaler', 'APIGroupDiscoveryList', 'Pod'].includes(d.kind ?? '')) continue;
        bodies.push({ name: `${f}#${e._seq} ${where} ${d.kind}`, raw: Buffer.from(c.text, 'base64'), decoded: d });
      }
    }
  }

  it('finds the recorded protobuf bodies of the kinds kubectl sends', () => {
    expect(bodies.length).toBeGreaterThan(80);
    expect(new Set(bodies.map((b) => b.name.split(' ').pop()))).toEqual(new Set(['Namespace', 'Deployment', 'ConfigMap', 'Secret', 'ServiceAccount', 'RoleBinding', 'TokenRequest', 'SelfSubjectReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'Status']));
  });

  it('decodes each one to the recorded object', () => {
    for (const b of bodies) expect(norm(decodeKubeProtobuf(b.raw).object), b.name).toEqual(norm(b.decoded));
  });

  it('keeps explicitly set zero values of pointer fields (replicas: 0) and drops zero values of plain ones', () => {
    const req = loadHar('deployment-lifecycle').find((e) => e._seq === 51)!.request.postData!;
    const d = decodeKubeProtobuf(Buffer.from(req.text!, 'base64')).object as { metadata: Record<string, unknown>; spec: { replicas: number; paused?: boolean } };
    expect(d.spec.replicas).toBe(2);
    expect(d.metadata.generation).toBeUndefined();
    expect(d.spec.paused).toBeUndefined();
  });
});
