// S3 (REST-XML) requests: the bucket and key from the host (virtual-hosted style) or the path (path style), the
// operation from method + level (service, bucket, object) + subresource. Reads are the GET/HEAD requests whose
// every query parameter is one S3 reads with; mutations are the ones in the table below, named by their IAM
// action (what the session policy allows) and targeting arn:aws:s3:::bucket or arn:aws:s3:::bucket/key.
// Anything else — multipart uploads, copies, batch deletes, an unknown or differently cased parameter — is
// refused with the reason, never guessed.
import type { JsonValue } from '../../certs/sab/types.ts';
import { awsEndpointHost } from './endpoints.ts';
import { arnUnsafe, bodyDigest, boundHeaders, decodeSegment, jsonBody, refuse, singleQuery, type Parsed, type RestInput } from './rest.ts';

type Level = 'service' | 'bucket' | 'object';

interface Mutation {
  readonly method: string;
  readonly level: Level;
  /** The subresource query parameter (sent without a value), or none. */
  readonly sub?: string;
  /** The API operation name (what SDK v3 sends as x-id) and the IAM action the contract names. */
  readonly api: string;
  readonly action: string;
  /** object: opaque bytes, always bound by digest; json: a JSON document; other: digest when present. */
  readonly body: 'object' | 'json' | 'other';
  /** Query parameters bound as parameters, besides the subresource. */
  readonly query?: readonly string[];
}

const m = (method: string, level: Level, sub: string | undefined, api: string, body: Mutation['body'] = 'other', action = api, query?: string[]): Mutation =>
  ({ method, level, ...(sub ? { sub } : {}), api, action, body, ...(query ? { query } : {}) });

const MUTATIONS: readonly Mutation[] = [
  m('PUT', 'object', undefined, 'PutObject', 'object'),
  m('DELETE', 'object', undefined, 'DeleteObject', 'other', 'DeleteObject'),
  m('PUT', 'object', 'tagging', 'PutObjectTagging'),
  m('DELETE', 'object', 'tagging', 'DeleteObjectTagging'),
  m('PUT', 'object', 'acl', 'PutObjectAcl'),
  m('PUT', 'bucket', undefined, 'CreateBucket'),
  m('DELETE', 'bucket', undefined, 'DeleteBucket'),
  m('PUT', 'bucket', 'policy', 'PutBucketPolicy', 'json'),
  m('DELETE', 'bucket', 'policy', 'DeleteBucketPolicy'),
  m('PUT', 'bucket', 'tagging', 'PutBucketTagging'),
  m('PUT', 'bucket', 'versioning', 'PutBucketVersioning'),
  m('PUT', 'bucket', 'acl', 'PutBucketAcl'),
  m('PUT', 'bucket', 'publicAccessBlock', 'PutPublicAccessBlock', 'other', 'PutBucketPublicAccessBlock'),
  m('PUT', 'bucket', 'website', 'PutBucketWebsite'),
  m('DELETE', 'bucket', 'website', 'DeleteBucketWebsite'),
  m('PUT', 'bucket', 'cors', 'PutBucketCors', 'other', 'PutBucketCORS'),
];

/** Query parameters of S3's read operations (ListObjects(V2), ListObjectVersions, GetObject, GetBucket*, ...). */
const READ_QUERY = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'bucket-region', 'continuation-token', 'cors', 'delimiter', 'encoding-type', 'encryption',
  'fetch-owner', 'id', 'intelligent-tiering', 'inventory', 'key-marker', 'legal-hold', 'lifecycle', 'list-type', 'location', 'logging',
  'marker', 'max-buckets', 'max-keys', 'max-parts', 'max-uploads', 'metrics', 'notification', 'object-lock', 'ownershipControls',
  'part-number-marker', 'partNumber', 'policy', 'policyStatus', 'prefix', 'publicAccessBlock', 'replication', 'requestPayment',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding', 'response-content-language',
  'response-content-type', 'response-expires', 'retention', 'start-after', 'tagging', 'torrent', 'upload-id-marker', 'uploadId',
  'uploads', 'version-id-marker', 'versionId', 'versioning', 'versions', 'website', 'x-id',
]);

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function classifyS3(input: RestInput): Parsed {
  const query = singleQuery(input.url.searchParams);
  if (!query.ok) return refuse(`S3: ${query.reason}`);
  const names = [...query.params.keys()];

  if (input.method === 'GET' || input.method === 'HEAD') {
    if (query.params.has('session')) return refuse('S3 CreateSession (GET ?session) hands out session credentials; seb does not treat it as a read and cannot certify it');
    const unknown = names.find((n) => !READ_QUERY.has(n));
    if (unknown !== undefined) return refuse(`GET with the query parameter "${unknown.slice(0, 64)}" is not an S3 read seb knows, so it is refused (parameter names are case-sensitive)`);
    return { kind: 'read' };
  }

  const where = addressOf(input.host, input.url.pathname, input.region);
  if (!where.ok) return refuse(where.reason);
  const level: Level = where.key !== undefined ? 'object' : where.bucket !== undefined ? 'bucket' : 'service';
  if (input.headers['x-amz-copy-source'] !== undefined) return refuse('S3 copies (x-amz-copy-source) read one object and write another; seb cannot certify them yet: download and upload instead');
  if (['uploads', 'uploadId', 'partNumber'].some((n) => query.params.has(n))) {
    return refuse('S3 multipart uploads take several requests, which one certificate cannot cover; upload in one PutObject (aws CLI: raise multipart_threshold, e.g. `aws configure set default.s3.multipart_threshold 5GB`)');
  }
  if (input.method === 'POST' && query.params.has('delete')) return refuse('S3 DeleteObjects (POST ?delete) names its keys in an XML body seb does not parse yet; delete objects one by one');
  if (level === 'service') return refuse(`${input.method} at the S3 service level is not an operation seb can certify`);

  const subs = names.filter((n) => n !== 'x-id' && query.params.get(n) === '' && !['versionId'].includes(n));
  const sub = subs.length === 1 ? subs[0] : undefined;
  if (subs.length > 1) return refuse(`S3 request names several subresources (${subs.slice(0, 4).join(', ')}); seb cannot tell which operation it is`);
  const op = MUTATIONS.find((o) => o.method === input.method && o.level === level && o.sub === sub);
  if (!op) return refuse(`${input.method} on an S3 ${level}${sub ? ` with ?${sub.slice(0, 64)}` : ''} is not an S3 operation seb can certify yet`);

  const xId = query.params.get('x-id');
  if (xId !== undefined && xId !== op.api) return refuse(`x-id=${xId.slice(0, 64)} does not name the operation this request performs (${op.api})`);
  let action = op.action;
  const bound: Record<string, JsonValue> = {};
  for (const name of names) {
    if (name === 'x-id' || name === sub) continue;
    if (name === 'versionId' && op.api === 'DeleteObject') {
      action = 'DeleteObjectVersion'; // IAM's action for deleting one version for good
      bound[name] = query.params.get(name)!;
      continue;
    }
    return refuse(`S3 ${op.api} does not take the query parameter "${name.slice(0, 64)}" (or seb cannot certify it with it)`);
  }

  const headers = boundHeaders(input.headers, input.payload);
  if (!headers.ok) return refuse(`S3: ${headers.reason}`);
  const params: Record<string, JsonValue> = { Bucket: where.bucket! };
  if (where.key !== undefined) params.Key = where.key;
  if (Object.keys(bound).length > 0) params.Query = bound;
  if (Object.keys(headers.headers).length > 0) params.Headers = headers.headers;
  const content = input.payload.content;
  if (op.body === 'json') {
    if (content.length === 0) return refuse(`S3 ${op.api} needs a JSON document in its body`);
    const doc = jsonBody(content, `S3 ${op.api} body`);
    if (!doc.ok) return refuse(doc.reason);
    params.Body = doc.value;
  } else if (op.body === 'object' || content.length > 0) {
    params.Body = bodyDigest(content);
  }
  const resource = where.key !== undefined ? `${where.bucket}/${where.key}` : where.bucket!;
  return { kind: 'mutation', operation: `s3:${action}`, targets: [`arn:aws:s3:::${resource}`], params };
}

type Address = { ok: true; bucket?: string; key?: string } | { ok: false; reason: string };

/** Bucket and key of a request for `host` + `pathname` (path style on the service hosts, else virtual-hosted). */
export function addressOf(host: string, pathname: string, region: string): Address {
  const serviceHosts = ['s3.amazonaws.com', `s3.${region}.amazonaws.com`, awsEndpointHost('s3', region)];
  let bucketText: string | undefined;
  let keyText: string;
  if (serviceHosts.includes(host)) {
    const rest = pathname.slice(1);
    const slash = rest.indexOf('/');
    bucketText = (slash < 0 ? rest : rest.slice(0, slash)) || undefined;
    keyText = slash < 0 ? '' : rest.slice(slash + 1);
    if (bucketText !== undefined) {
      const decoded = decodeSegment(bucketText);
      if (decoded === undefined) return { ok: false, reason: 'the bucket name in the path is not valid percent-encoded UTF-8' };
      bucketText = decoded;
    }
  } else {
    const suffix = [`.s3.${region}.amazonaws.com`, '.s3.amazonaws.com'].find((s) => host.endsWith(s));
    if (!suffix) return { ok: false, reason: `${host} is not an S3 endpoint seb knows (path style on s3[.region].amazonaws.com, or <bucket>.s3[.region].amazonaws.com)` };
    bucketText = host.slice(0, -suffix.length);
    keyText = pathname.slice(1);
  }
  if (bucketText !== undefined && (!BUCKET.test(bucketText) || bucketText.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucketText))) {
    return { ok: false, reason: `"${bucketText.slice(0, 80)}" is not a valid S3 bucket name (lower case, digits, dots and hyphens, 3-63 characters)` };
  }
  if (keyText === '') return { ok: true, ...(bucketText !== undefined ? { bucket: bucketText } : {}) };
  if (bucketText === undefined) return { ok: false, reason: 'an object key without a bucket' };
  const key = decodeSegment(keyText);
  if (key === undefined) return { ok: false, reason: 'the object key is not valid percent-encoded UTF-8' };
  const unsafe = arnUnsafe(key);
  if (unsafe) return { ok: false, reason: `the object key holds ${unsafe}, so no IAM policy can name exactly it; seb cannot certify a change to it` };
  if (key.length > 1024) return { ok: false, reason: 'the object key is longer than S3 allows (1024 bytes)' };
  return { ok: true, bucket: bucketText, key };
}
