// Loads the recorded kube-apiserver v1.33 HAR files (shared/fixtures/kube-apiserver-v1.33, beside the repo) and
// exposes the exact documents the test server serves verbatim: /version, discovery (aggregated and legacy),
// OpenAPI v2/v3. Parsed once per process.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HarEntry {
  _seq: number;
  comment?: string;
  request: { method: string; url: string; headers: { name: string; value: string }[]; postData?: { mimeType?: string; text?: string; _encoding?: string } };
  response: { status: number; headers: { name: string; value: string }[]; content: { text?: string; encoding?: string; mimeType?: string } };
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES_DIR = process.env.KUBE_APISERVER_FIXTURES ?? path.resolve(repoRoot, '../shared/fixtures/kube-apiserver-v1.33');

const harCache = new Map<string, HarEntry[]>();
export function loadHar(name: string): HarEntry[] {
  let entries = harCache.get(name);
  if (!entries) {
    const file = path.join(FIXTURES_DIR, name.endsWith('.har') ? name : `${name}.har`);
    entries = (JSON.parse(fs.readFileSync(file, 'utf8')) as { log: { entries: HarEntry[] } }).log.entries;
    harCache.set(name, entries);
  }
  return entries;
}

export function header(h: { name: string; value: string }[], name: string): string | undefined {
  return h.find((x) => x.name.toLowerCase() === name)?.value;
}

export function entryBySeq(har: string, seq: number): HarEntry {
  const e = loadHar(har).find((x) => x._seq === seq);
  if (!e) throw new Error(`no entry ${seq} in ${har}`);
  return e;
}

export interface RecordedDoc { body: Buffer; contentType: string; etag?: string }

function docOf(e: HarEntry): RecordedDoc {
  const c = e.response.content;
  const body = Buffer.from(c.text ?? '', c.encoding === 'base64' ? 'base64' : 'utf8');
  const etag = header(e.response.headers, 'etag');
  return { body, contentType: header(e.response.headers, 'content-type') ?? 'application/json', ...(etag ? { etag } : {}) };
}

function find(har: string, pred: (path: string, e: HarEntry) => boolean): HarEntry {
  const e = loadHar(har).find((x) => x.response.status === 200 && pred(new URL(x.request.url).pathname, x));
  if (!e) throw new Error(`fixture not found in ${har}`);
  return e;
}

const accept = (e: HarEntry): string => header(e.request.headers, 'accept') ?? '';

export interface Recorded {
  version: RecordedDoc;
  aggregatedApi: RecordedDoc;
  aggregatedApis: RecordedDoc;
  legacy: Map<string, RecordedDoc>; // /api, /apis, /api/v1, /apis/apps/v1, /apis/apps
  openapiV3Index: RecordedDoc;
  openapiV3: Map<string, RecordedDoc>; // "api/v1", "apis/apps/v1", ...
  openapiV2: RecordedDoc;
}

let recorded: Recorded | undefined;
export function getRecorded(): Recorded {
  if (recorded) return recorded;
  const D = 'discovery';
  const aggregated = (p: string): RecordedDoc => docOf(find(D, (x, e) => x === p && accept(e).startsWith('application/json;g=apidiscovery.k8s.io;v=v2;') && !!e.response.content.text && e.response.content.text.length > 5000 && e._seq < 40));
  const legacy = new Map<string, RecordedDoc>();
  for (const p of ['/api', '/apis', '/api/v1', '/apis/apps/v1', '/apis/apps']) legacy.set(p, docOf(find(D, (x, e) => x === p && accept(e) === 'application/json')));
  const openapiV3 = new Map<string, RecordedDoc>();
  for (const har of ['discovery', 'admission-webhook', 'rbac-authn']) {
    for (const e of loadHar(har)) {
      const p = new URL(e.request.url).pathname;
      if (e.response.status === 200 && p.startsWith('/openapi/v3/')) openapiV3.set(p.slice('/openapi/v3/'.length), docOf(e));
    }
  }
  recorded = {
    version: docOf(find(D, (x) => x === '/version')),
    aggregatedApi: aggregated('/api'),
    aggregatedApis: aggregated('/apis'),
    legacy,
    openapiV3Index: docOf(find(D, (x) => x === '/openapi/v3')),
    openapiV3,
    openapiV2: docOf(find('rbac-authn', (x) => x === '/openapi/v2')),
  };
  return recorded;
}
