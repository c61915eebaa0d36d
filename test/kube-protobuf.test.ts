// Kubernetes protobuf request bodies (what kubectl 1.33 sends for `create namespace|deployment|configmap|secret|
// serviceaccount|rolebinding|token`): seb decodes the kinds in scope into the JSON object the apiserver would see,
// binds that object into the contract and forwards it as JSON; everything else, or anything undecodable, is
// refused with SEB_REQUEST_UNSUPPORTED.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, loadHar, type HarEntry } from './kube-apiserver/index.ts';
import { classifyKube, type KubeClassification } from '../parsers/kube/classify.ts';
import { decodeEnvelope, decodeProtobufBody } from '../parsers/kube/protobuf.ts';
import { TOP_LEVEL_KINDS } from '../parsers/kube/protobuf-schema.ts';
import { matchContract } from '../pipeline/contract-match.ts';
import type { JsonValue } from '../certs/sab/types.ts';

const PB = 'application/vnd.kubernetes.protobuf';
type Decoded = { kind?: string; apiVersion?: string };
type Body = { name: string; entry: HarEntry; raw: Buffer; view: Decoded; where: 'request' | 'response' };

// The recording's `_decodedProtobuf` view keeps zero values that were on the wire and uses proto names, which
// equal the JSON names; compare without zero values, empty objects and key order.
function norm(v: unknown): unknown {
  if (Array.isArray(v)) { const a = v.map(norm).filter((x) => x !== undefined); return a.length ? a : undefined; }
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) { const n = norm(x); if (n !== undefined) o[k] = n; }
    return Object.keys(o).length ? o : undefined;
  }
  return v === '' || v === 0 || v === false || v === null ? undefined : v;
}

const bodies: Body[] = [];
for (const f of fs.readdirSync(FIXTURES_DIR).filter((x) => x.endsWith('.har')).sort()) {
  for (const entry of loadHar(f)) {
    for (const [where, c] of [['request', entry.request.postData], ['response', entry.response.content]] as const) {
      const view = (c as { _decodedProtobuf?: Decoded } | undefined)?._decodedProtobuf;
      if (view && c?.text) bodies.push({ name: `${f}#${entry._seq} ${where} ${view.kind}`, entry, raw: Buffer.from(c.text, 'base64'), view, where });
    }
  }
}
const inScope = (b: Body) => TOP_LEVEL_KINDS.has(`${b.view.apiVersion} ${b.view.kind}`);

function requestOf(e: HarEntry, body?: Buffer, override: { method?: string; path?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = {};
  for (const h of e.request.headers) headers[h.name.toLowerCase()] = h.value;
  if (override.contentType) headers['content-type'] = override.contentType;
  const url = new URL(e.request.url);
  return { host: 'kubernetes.default.svc', method: override.method ?? e.request.method, url: override.path ? new URL(override.path + url.search, url) : url, headers, body: body ?? Buffer.from(e.request.postData!.text!, 'base64') };
}
const refusal = (c: KubeClassification): string => {
  if (c.kind !== 'unsupported') return `not refused: ${c.kind}`;
  expect(c.error.code).toBe('SEB_REQUEST_UNSUPPORTED');
  return c.error.message;
};

// A minimal protobuf writer for hand-made bodies.
function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v);
  return Buffer.from(out);
}
const tag = (num: number, wt: number) => varint((num << 3) | wt);
const bytes = (num: number, v: string | Buffer) => { const b = typeof v === 'string' ? Buffer.from(v) : v; return Buffer.concat([tag(num, 2), varint(b.length), b]); };
const msg = (num: number, ...parts: Buffer[]) => bytes(num, Buffer.concat(parts));
const int = (num: number, v: number | bigint) => Buffer.concat([tag(num, 0), varint(v)]);
const entry = (num: number, key: string, value: Buffer) => msg(num, bytes(1, key), value);
const envelope = (apiVersion: string, kind: string, raw: Buffer, extra: Buffer[] = [bytes(3, ''), bytes(4, '')]) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), msg(1, bytes(1, apiVersion), bytes(2, kind)), bytes(2, raw), ...extra]);
const meta = (name: string, ...more: Buffer[]) => msg(1, bytes(1, name), bytes(3, 'a'), ...more);
const configMap = (...parts: Buffer[]) => envelope('v1', 'ConfigMap', Buffer.concat([meta('cfg'), ...parts]));
const decode = (body: Buffer, path = '/api/v1/namespaces/a/configmaps', method = 'POST') =>
  classifyKube({ host: 'k', method, url: new URL(`https://k${path}?fieldManager=kubectl-create`), headers: { 'content-type': PB }, body });

describe('Kubernetes protobuf bodies: decoding', () => {
  it('decodes every recorded protobuf body of the kinds in scope to the recording\'s view of it', () => {
    const decoded = bodies.filter(inScope).filter((b) => b.view.kind !== 'Pod');
    expect(decoded.filter((b) => b.where === 'request').length).toBeGreaterThanOrEqual(35);
    expect(new Set(decoded.map((b) => b.view.kind))).toEqual(new Set(['Namespace', 'Deployment', 'ConfigMap', 'Secret', 'ServiceAccount', 'RoleBinding', 'TokenRequest']));
    for (const b of decoded) {
      const d = decodeEnvelope(b.raw);
      expect(norm(d.object), b.name).toEqual(norm(b.view));
      expect([d.object.kind, d.object.apiVersion], b.name).toEqual([b.view.kind, b.view.apiVersion]);
    }
  });

  it('refuses the recorded kinds out of scope, and a Pod with a field seb has no schema for', () => {
    const others = bodies.filter((b) => !inScope(b));
    expect(new Set(others.map((b) => b.view.kind))).toEqual(new Set(['Status', 'SelfSubjectReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'HorizontalPodAutoscaler', 'ReplicaSetList', 'EventList', 'PodList', 'APIGroupDiscoveryList']));
    for (const b of others) expect(() => decodeEnvelope(b.raw), b.name).toThrow(/does not decode/);
    const pod = bodies.find((b) => b.view.kind === 'Pod')!; // the apiserver's Pod, with a projected volume
    expect(() => decodeEnvelope(pod.raw)).toThrow(/unknown field number 26 in VolumeSource/);
  });

  it('writes the JSON the apiserver would read: pointer zero values kept, plain zero values dropped', () => {
    const deployment = Buffer.concat([
      msg(1, bytes(1, 'web'), int(7, 0)),
      msg(2, int(1, 0), msg(3, msg(2, msg(2, bytes(1, 'c'), bytes(2, 'img'), int(16, 0), msg(8)), int(11, 0))),
        msg(4, bytes(1, 'RollingUpdate'), msg(2, msg(1, int(1, 0), int(2, 0), bytes(3, '')), msg(2, int(1, 1), int(2, 0), bytes(3, '25%')))), int(5, 0), int(7, 0)),
      msg(3, int(1, 0), int(2, 0)),
    ]);
    const d = decodeEnvelope(envelope('apps/v1', 'Deployment', deployment)).object;
    expect(d).toEqual({
      kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'web' },
      spec: { replicas: 0, template: { spec: { containers: [{ name: 'c', image: 'img', resources: {} }] } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } } },
      status: {},
    });
    const secret = decodeEnvelope(envelope('v1', 'Secret', Buffer.concat([meta('s'), entry(2, 'k', bytes(2, Buffer.from([0, 255]))), bytes(3, 'Opaque'), entry(4, 'plain', bytes(2, 'text')), int(5, 0)]))).object;
    expect(secret).toEqual({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 's', namespace: 'a' }, data: { k: 'AP8=' }, type: 'Opaque', stringData: { plain: 'text' }, immutable: false });
    const pod = decodeEnvelope(envelope('v1', 'Pod', Buffer.concat([meta('p'), msg(2, msg(1, bytes(1, 'v'), msg(2, msg(19, msg(1, bytes(1, 'cm')))))), msg(3)]))).object;
    expect(pod.spec).toEqual({ volumes: [{ name: 'v', configMap: { name: 'cm' } }] }); // VolumeSource and LocalObjectReference are inlined in JSON
    const negative = decodeEnvelope(envelope('apps/v1', 'Deployment', Buffer.concat([meta('d'), msg(2, int(1, -1))]))).object; // int32 -1: a sign-extended 10-byte varint
    expect(negative.spec).toEqual({ replicas: -1 });
    const created = decodeEnvelope(envelope('v1', 'ConfigMap', meta('t', msg(8, int(1, 1700000000), int(2, 0))))).object;
    expect(created.metadata).toEqual({ name: 't', namespace: 'a', creationTimestamp: '2023-11-14T22:13:20Z' });
  });
});

describe('Kubernetes protobuf bodies: classification', () => {
  it('every recorded protobuf create in scope becomes a contract on the decoded object, forwarded as that JSON', () => {
    const creates = bodies.filter((b) => b.where === 'request');
    let n = 0;
    for (const b of creates) {
      const c = classifyKube(requestOf(b.entry));
      if (!inScope(b) || Object.keys(requestOf(b.entry).headers).some((h) => h.startsWith('impersonate-'))) {
        refusal(c);
        continue;
      }
      if (c.kind !== 'mutation') throw new Error(`${b.name}: ${refusal(c)}`);
      n++;
      const object = decodeEnvelope(b.raw).object;
      const params = c.contract.params as { body?: JsonValue };
      expect(params.body, b.name).toEqual(object);
      expect(JSON.parse(c.body!.toString('utf8')), b.name).toEqual(params.body);
      expect(c.body!.equals(Buffer.from(JSON.stringify(object))), b.name).toBe(true);
      expect('contentType' in c && c.contentType, b.name).toBe('application/json');
      const url = new URL(b.entry.request.url);
      const q = (c.contract.params as { query?: Record<string, string[]> }).query ?? {};
      expect(Object.keys(q).sort(), b.name).toEqual([...new Set(url.searchParams.keys())].sort());
      const target = c.contract.targets[0] as { name: string; subresource?: string };
      expect(target.name, b.name).toBe(target.subresource === 'token' ? url.pathname.split('/')[6] : (object.metadata as { name: string }).name);
    }
    expect(n).toBeGreaterThanOrEqual(30);
  });

  it('a certificate for `kubectl create configmap x --from-literal=a=b` names the same body as a JSON request would', () => {
    const e = loadHar('errors-and-conflicts').find((x) => x._seq === 151)!;
    const pb = classifyKube(requestOf(e));
    const json = classifyKube(requestOf(e, Buffer.from('{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","namespace":"no-such-namespace"},"data":{"a":"b"}}'), { contentType: 'application/json' }));
    expect(pb.kind === 'mutation' && json.kind === 'mutation').toBe(true);
    if (pb.kind !== 'mutation' || json.kind !== 'mutation') return;
    expect(pb.contract).toEqual(json.contract);
    expect(pb.contract.params).toEqual({ body: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'x', namespace: 'no-such-namespace' }, data: { a: 'b' } }, query: { fieldManager: ['kubectl-create'], fieldValidation: ['Strict'] } });
    expect(matchContract({ ...json.contract, risk: 'low' }, pb.contract)).toEqual({ ok: true });
    const other = classifyKube(requestOf(e, envelope('v1', 'ConfigMap', Buffer.concat([msg(1, bytes(1, 'x'), bytes(3, 'no-such-namespace')), entry(2, 'a', bytes(2, 'c'))]))));
    expect(other.kind === 'mutation' && matchContract({ ...json.contract, risk: 'low' }, other.contract)).toMatchObject({ ok: false });
  });

  it('a TokenRequest and a Scale are checked against the URL they are sent to', () => {
    const token = envelope('authentication.k8s.io/v1', 'TokenRequest', Buffer.concat([msg(1), msg(2, bytes(1, 'seb'), int(4, 600)), msg(3, bytes(1, ''), msg(2))]));
    const t = decode(token, '/api/v1/namespaces/a/serviceaccounts/exec/token');
    expect(t.kind === 'mutation' && t.contract).toMatchObject({ operation: 'create', targets: [{ resource: 'serviceaccounts', name: 'exec', subresource: 'token' }], params: { body: { kind: 'TokenRequest', spec: { audiences: ['seb'], expirationSeconds: 600 } } } });
    const scale = envelope('autoscaling/v1', 'Scale', Buffer.concat([msg(1, bytes(1, 'web'), bytes(3, 'a')), msg(2, int(1, 0)), msg(3, int(1, 0), bytes(2, ''))]));
    const s = decode(scale, '/apis/apps/v1/namespaces/a/deployments/web/scale', 'PUT');
    expect(s.kind === 'mutation' && (s.contract.params as { body?: unknown }).body).toEqual({ kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web', namespace: 'a' }, spec: {}, status: {} });
    expect(refusal(decode(scale, '/apis/apps/v1/namespaces/a/deployments/web', 'PUT'))).toMatch(/is a Scale \(autoscaling\/v1\) but apps\/v1 deployments takes a Deployment/);
    expect(refusal(decode(token, '/api/v1/namespaces/a/serviceaccounts/exec', 'PUT'))).toMatch(/takes a ServiceAccount/);
  });
});

describe('Kubernetes protobuf bodies: refusals', () => {
  const recorded = loadHar('deployment-lifecycle').find((x) => x._seq === 51)!;
  const raw = Buffer.from(recorded.request.postData!.text!, 'base64');

  it('every truncation of a recorded body is refused, none crashes', () => {
    // The last 4 bytes are the empty contentEncoding and contentType fields, which may be left out.
    for (let len = 0; len < raw.length - 4; len++) refusal(classifyKube(requestOf(recorded, raw.subarray(0, len))));
    expect(classifyKube(requestOf(recorded, raw.subarray(0, raw.length - 4))).kind).toBe('mutation');
  });

  it('corrupted bodies are refused with the reason', () => {
    const cases: Array<[Buffer, RegExp, string?]> = [
      [Buffer.from('{"kind":"ConfigMap"}'), /protobuf magic/],
      [Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x05, 0x0a])]), /truncated field 1/],
      [Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])]), /varint longer than 64 bits/],
      [configMap(Buffer.from([0x13])), /unsupported wire type 3/],
      [configMap(int(2, 1)), /wrong wire type 0 for ConfigMap.data/],
      [envelope('v1', 'ConfigMap', int(1, 5)), /wrong wire type 0 for ConfigMap.metadata/],
      [configMap(entry(2, 'a', bytes(2, Buffer.from([0xc3, 0x28])))), /invalid UTF-8/],
      [configMap(entry(2, 'a', bytes(2, '1')), entry(2, 'a', bytes(2, '2'))), /duplicate map key "a"/],
      [configMap(entry(2, 'a', Buffer.alloc(0))), /map entry without value/],
      [configMap(entry(2, '__proto__', bytes(2, 'x'))), /__proto__/],
      [configMap(int(4, 2)), /neither 0 nor 1/],
      [configMap(int(4, 1), int(4, 1)), /ConfigMap.immutable given twice/],
      [envelope('v1', 'ConfigMap', Buffer.concat([meta('cfg'), meta('other')])), /ConfigMap.metadata given twice/],
      [envelope('v1', 'ConfigMap', meta('cfg', msg(8, int(1, 1), int(2, 5)))), /sub-second time/],
      [envelope('apps/v1', 'Deployment', Buffer.concat([meta('d'), msg(2, int(1, 2 ** 31))])), /integer 2147483648 out of range/, '/apis/apps/v1/namespaces/a/deployments'],
      [envelope('v1', 'ConfigMap', meta('cfg'), [bytes(3, 'gzip')]), /contentEncoding "gzip"/],
      [envelope('v1', 'ConfigMap', meta('cfg'), [bytes(4, 'application/json')]), /contentType/],
      [envelope('v1', 'ConfigMap', meta('cfg'), [int(5, 1)]), /unknown field number 5 in the runtime.Unknown envelope/],
      [Buffer.concat([Buffer.from('k8s\0', 'latin1'), bytes(2, meta('cfg'))]), /names no apiVersion and kind/],
    ];
    for (const [body, reason, path] of cases) {
      const message = refusal(decode(body, path));
      expect(message, String(reason)).toMatch(reason);
      expect(message).toContain('not decoded');
    }
  });

  it('unknown field numbers are refused at any depth, never skipped', () => {
    expect(refusal(decode(configMap(int(9, 1))))).toMatch(/unknown field number 9 in ConfigMap/);
    expect(refusal(decode(envelope('v1', 'ConfigMap', meta('cfg', bytes(15, 'x')))))).toMatch(/unknown field number 15 in ObjectMeta/);
    const withProbe = Buffer.concat([meta('web'), msg(2, msg(3, msg(2, msg(2, bytes(1, 'c'), msg(10, msg(1)))))), msg(3)]);
    expect(refusal(decode(envelope('apps/v1', 'Deployment', withProbe), '/apis/apps/v1/namespaces/a/deployments'))).toMatch(/unknown field number 10 in Container \(Deployment.spec.template.spec.containers\[0\]\)/);
    expect(refusal(decode(envelope('v1', 'Secret', Buffer.concat([meta('s'), msg(99)])), '/api/v1/namespaces/a/secrets'))).toMatch(/unknown field number 99 in Secret/);
    const badTypeMeta = Buffer.concat([Buffer.from('k8s\0', 'latin1'), msg(1, bytes(1, 'v1'), bytes(2, 'ConfigMap'), bytes(3, 'x')), bytes(2, meta('cfg'))]);
    expect(refusal(decode(badTypeMeta))).toMatch(/unknown field number 3 in the envelope typeMeta/);
  });

  it('kinds out of scope, or not the URL\'s, are refused', () => {
    expect(() => decodeEnvelope(envelope('v1', 'Widget', meta('w')))).toThrow(/does not decode Widget/);
    expect(refusal(decode(envelope('v1', 'Widget', meta('w'))))).toMatch(/the body is a Widget \(v1\) but core\/v1 configmaps takes a ConfigMap/);
    expect(refusal(decode(envelope('v1', 'Secret', meta('cfg'))))).toMatch(/the body is a Secret \(v1\) but core\/v1 configmaps takes a ConfigMap \(v1\)/);
    expect(refusal(decode(envelope('apps/v1beta1', 'Deployment', meta('d')), '/apis/apps/v1/namespaces/a/deployments'))).toMatch(/Deployment \(apps\/v1beta1\) but apps\/v1 deployments takes a Deployment \(apps\/v1\)/);
    expect(refusal(decode(envelope('apps/v1', 'ReplicaSet', meta('r')), '/apis/apps/v1/namespaces/a/replicasets'))).toMatch(/no protobuf bodies for apps\/v1 replicasets/);
    expect(refusal(decode(envelope('v1', 'ConfigMap', meta('cfg')), '/api/v1/namespaces/a/configmaps/cfg/status', 'PUT'))).toMatch(/no protobuf bodies for core\/v1 configmaps\/status/);
    const hpa = bodies.find((b) => b.view.kind === 'HorizontalPodAutoscaler')!;
    expect(refusal(classifyKube(requestOf(hpa.entry)))).toMatch(/autoscaling\/v2 horizontalpodautoscalers/);
    expect(refusal(decode(envelope('v1', 'DeleteOptions', Buffer.alloc(0)), '/api/v1/namespaces/a/configmaps/cfg', 'DELETE'))).toMatch(/only create \(POST\) and update \(PUT\)/);
    expect(refusal(decode(configMap(), '/api/v1/namespaces/a/configmaps/cfg', 'PATCH'))).toMatch(/only create \(POST\) and update \(PUT\)/);
  });

  it('the decoder never throws past its result', () => {
    for (let i = 0; i < 500; i++) {
      const mutated = Buffer.from(raw);
      const at = 4 + ((i * 7919) % (raw.length - 4));
      mutated[at] = mutated[at]! ^ (1 << (i % 8));
      const r = decodeProtobufBody(mutated, { group: 'apps', version: 'v1', resource: 'deployments' });
      if (r.ok) expect(JSON.parse(JSON.stringify(r.value)) as JsonValue).toEqual(r.value);
    }
  });
});
