// A local HTTPS admission webhook for the tests (its own CA, as a real webhook's caBundle), answering like the
// webhook of the recording (admission-webhook-calls.har), and the normalisation used to compare AdmissionReviews
// with the recorded ones.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateServingCert } from '../kube-apiserver/cert.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;

export interface Webhook {
  url: string;
  port: number;
  caBundle: string;
  /** Every AdmissionReview request body received, parsed. */
  reviews: J[];
  /** Extra delay before answering (to provoke the apiserver's timeout). */
  delayMs: number;
  close(): Promise<void>;
}

/** The recording's policy: deny webhook-deny=true (403 Forbidden), warn on webhook-warn, deny data.deny (no code), scale > 10 (422). */
export function recordedPolicy(req: J): J {
  const o = req.object ?? req.oldObject ?? {};
  const labels = o.metadata?.labels ?? {};
  const name = o.metadata?.name;
  if (req.kind.kind === 'Deployment' && req.operation !== 'DELETE' && labels['webhook-deny'] === 'true') {
    return { allowed: false, status: { code: 403, reason: 'Forbidden', message: `Deployment ${name} carries webhook-deny=true: mutations must go through the broker` } };
  }
  if (req.kind.kind === 'ConfigMap' && o.data?.deny) return { allowed: false, status: { message: `configmap ${name} denied: data.deny is set` } };
  if (req.kind.kind === 'Scale' && req.object.spec.replicas > 10) return { allowed: false, status: { code: 422, message: `scale to ${req.object.spec.replicas} replicas exceeds the certified bound of 10` } };
  if (req.kind.kind === 'PodExecOptions') return { allowed: false, status: { code: 403, reason: 'Forbidden', message: 'exec must go through the broker' } };
  if (req.kind.kind === 'Deployment' && labels['webhook-warn'] === 'true') return { allowed: true, warnings: [`Deployment ${name}: webhook-warn label is set`] };
  return { allowed: true };
}

export async function startWebhook(policy: (req: J) => J = recordedPolicy, hosts?: string[]): Promise<Webhook> {
  const cert = await generateServingCert(hosts);
  const reviews: J[] = [];
  const wh = { reviews, delayMs: 0 } as Webhook;
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const review = JSON.parse(raw);
      review._http = { url: req.url, headers: req.headers, raw };
      reviews.push(review);
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, ...policy(review.request) } });
      setTimeout(() => { if (!res.destroyed) res.writeHead(200, { 'Content-Type': 'application/json' }).end(body); }, wh.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  wh.port = (server.address() as AddressInfo).port;
  wh.url = `https://127.0.0.1:${wh.port}/validate`;
  wh.caBundle = Buffer.from(cert.caPem).toString('base64');
  wh.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return wh;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const stripDots = (f: J): J => (f && typeof f === 'object' ? Object.fromEntries(Object.entries(f).filter(([k]) => k !== '.').map(([k, x]) => [k, stripDots(x)])) : f);

/**
 * A review with what differs between two runs blanked: uids, timestamps, resourceVersions, the ReplicaSet hash.
 * managedFields entries are sorted by operation/manager/subresource (the apiserver sorts by time in seconds first,
 * which depends on the run's timing) and their FieldsV1 "." markers dropped (the test server approximates them).
 */
export function normalizeReview(v: J, key = ''): J {
  if (Array.isArray(v)) {
    const items = v.map((x) => normalizeReview(x));
    if (key !== 'managedFields') return items;
    return items.map((e) => ({ ...e, fieldsV1: stripDots(e.fieldsV1) })).sort((a, b) => cmp(a.operation, b.operation) || cmp(a.manager, b.manager) || cmp(a.subresource ?? '', b.subresource ?? ''));
  }
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== '_http').map(([k, x]) => [k, normalizeReview(x, k)]));
  if (typeof v !== 'string') return v;
  if (key === 'resourceVersion') return '<rv>';
  if (RFC3339.test(v)) return '<time>';
  if (UUID.test(v)) return '<uid>';
  return v.replace(/ReplicaSet "([a-z0-9-]+)-[a-z0-9]{8,10}"/, 'ReplicaSet "$1-<hash>"');
}
