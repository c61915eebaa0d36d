// The AWS request parser: recorded requests of every wire protocol against their golden contracts, then the
// edges of each protocol — payload modes, aws-chunked framing, S3 addressing and subresources, Lambda paths,
// JSON-protocol strictness, reads from explicit lists, method overrides — each refused with its own code and a
// reason, never guessed.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainHar, type ExplainedEntry } from '../cli/explain.ts';
import { classifyAws } from '../parsers/aws/classify.ts';
import { awsEndpointHost } from '../parsers/aws/endpoints.ts';
import { decodeAwsChunked, encodeAwsChunked } from '../parsers/aws/payload.ts';
import { protocolOf } from '../parsers/aws/protocols.ts';
import { isReadOperation, READ_OPERATIONS, RELEASES_SECRETS } from '../parsers/aws/reads.ts';
import { matchContract } from '../pipeline/contract-match.ts';
import type { GateRequest } from '../pipeline/gate.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'har');
const ACCOUNT = '123456789012';
const AWS_HOSTS = ['*.amazonaws.com', '*.amazonaws.com.cn', '*.api.aws'];

describe('recorded requests of every protocol against their golden contracts', () => {
  const hars = readdirSync(FIXTURES).filter((f) => f.endsWith('.har')).sort();

  it('covers EC2 Query, Query, JSON 1.0 and 1.1, REST-JSON and REST-XML', () => {
    expect(hars).toEqual(['ec2-query.har', 'json-dynamodb.har', 'json-logs-ssm-kms.har', 'query-iam-sts-autoscaling.har', 'rest-json-lambda.har', 'rest-xml-s3.har']);
    const types = new Set<string>();
    for (const f of hars) {
      const har = JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')) as { log: { entries: Array<{ request: { headers: Array<{ name: string; value: string }> } }> } };
      for (const e of har.log.entries) for (const h of e.request.headers) if (h.name.toLowerCase() === 'content-type') types.add(h.value.split(';')[0]!);
    }
    expect([...types]).toEqual(expect.arrayContaining(['application/x-www-form-urlencoded', 'application/x-amz-json-1.0', 'application/x-amz-json-1.1', 'application/json', 'text/csv']));
  });

  for (const f of hars) {
    it(`${f}: every entry is classified as its golden file says`, () => {
      const explained = explainHar(readFileSync(path.join(FIXTURES, f), 'utf8'), { accountId: ACCOUNT, awsHosts: AWS_HOSTS });
      expect(explained.ok).toBe(true);
      const got = (explained as { entries: ExplainedEntry[] }).entries.map(({ message: _, ...e }) => e);
      const golden = JSON.parse(readFileSync(path.join(FIXTURES, f.replace(/\.har$/, '.golden.json')), 'utf8')) as unknown[];
      expect(got).toEqual(golden);
      expect(got.some((e) => e.decision === 'read') && got.some((e) => e.decision === 'mutation')).toBe(true); // each protocol's reads and writes
    });
  }

  it('the recorded S3 upload is aws-chunked with a trailing checksum, and its contract binds the decoded bytes', () => {
    const har = JSON.parse(readFileSync(path.join(FIXTURES, 'rest-xml-s3.har'), 'utf8')) as { log: { entries: Array<{ request: { headers: Array<{ name: string; value: string }>; postData?: { text: string } } }> } };
    const upload = har.log.entries[2]!.request;
    expect(upload.headers).toContainEqual({ name: 'X-Amz-Content-SHA256', value: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' });
    expect(upload.postData!.text).toMatch(/^1f\r\n[\s\S]*\r\n0\r\nx-amz-checksum-crc32:[A-Za-z0-9+/=]+\r\n\r\n$/);
    const golden = JSON.parse(readFileSync(path.join(FIXTURES, 'rest-xml-s3.golden.json'), 'utf8')) as ExplainedEntry[];
    const content = readFileSync(path.join(FIXTURES, 'inputs', 'q3.csv'));
    expect((golden[2]!.contract!.params as { Body: unknown }).Body).toEqual({ sha256: createHash('sha256').update(content).digest('hex'), length: content.length });
  });
});

const sig = (service: string, region = 'us-east-1') => `AWS4-HMAC-SHA256 Credential=AKID/20261122/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

function request(opts: { host: string; method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; service?: string; accountId?: string | null }) {
  const service = opts.service ?? opts.host.split('.')[0]!;
  const req: GateRequest = {
    host: opts.host, method: opts.method ?? 'GET', url: new URL(opts.path ?? '/', 'https://aws'),
    headers: { authorization: sig(service), ...opts.headers },
    body: Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body ?? ''),
  };
  return classifyAws(req, { host: opts.host, accountId: opts.accountId === null ? undefined : (opts.accountId ?? ACCOUNT) });
}
const refusal = (c: ReturnType<typeof classifyAws>) => (c.kind === 'unsupported' ? `${c.error.code}: ${c.error.message}` : `not refused: ${c.kind}`);
const contractOf = (c: ReturnType<typeof classifyAws>) => {
  if (c.kind !== 'mutation') throw new Error(`expected a mutation, got ${refusal(c)}`);
  return c.contract;
};
const s3 = (method: string, p: string, headers: Record<string, string> = {}, body: string | Buffer = '', host = 's3.us-east-1.amazonaws.com') =>
  request({ host, method, path: p, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers }, body, service: 's3' });

describe('signing forms and payload modes', () => {
  it('refuses presigned URLs (SigV4 and SigV2), SigV4a and chunk-signed streaming with their own codes', () => {
    expect(refusal(s3('GET', '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b'))).toMatch(/^SEB_PRESIGNED_UNSUPPORTED: presigned AWS requests/);
    expect(refusal(s3('PUT', '/bucket/k?AWSAccessKeyId=AKID&Signature=x&Expires=1'))).toMatch(/^SEB_PRESIGNED_UNSUPPORTED/);
    expect(refusal(s3('PUT', '/bucket/k', { authorization: 'AWS4-ECDSA-P256-SHA256 Credential=AKID/20261122/s3/aws4_request, SignedHeaders=host, Signature=00' }))).toMatch(/^SEB_SIGV4A_UNSUPPORTED/);
    expect(refusal(s3('PUT', '/bucket/k', { 'x-amz-region-set': '*' }))).toMatch(/^SEB_SIGV4A_UNSUPPORTED/);
    for (const mode of ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD']) {
      expect(refusal(s3('PUT', '/bucket/k', { 'x-amz-content-sha256': mode }))).toMatch(/^SEB_STREAMING_UNSUPPORTED: chunk-signed uploads/);
    }
  });

  it('holds a declared body hash to the body, in lower case; unknown modes are refused', () => {
    const hash = createHash('sha256').update('abc').digest('hex');
    expect(contractOf(s3('PUT', '/bucket/k', { 'x-amz-content-sha256': hash }, 'abc')).params).toMatchObject({ Body: { sha256: hash, length: 3 } });
    expect(refusal(s3('PUT', '/bucket/k', { 'x-amz-content-sha256': hash }, 'abd'))).toMatch(/does not match the body/);
    expect(refusal(s3('PUT', '/bucket/k', { 'x-amz-content-sha256': hash.toUpperCase() }, 'abc'))).toMatch(/lower-case SHA-256/);
    expect(refusal(s3('PUT', '/bucket/k', { 'x-amz-content-sha256': 'SIGNED-PAYLOAD' }, 'abc'))).toMatch(/neither/);
  });

  it('decodes STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies strictly', () => {
    const content = Buffer.from('a'.repeat(70_000));
    const headers = { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': String(content.length) };
    const chunked = encodeAwsChunked(content, { 'x-amz-checksum-crc32': 'AAAAAA==' });
    const put = contractOf(s3('PUT', '/bucket/big.txt', headers, chunked));
    expect(put.params).toEqual({ Bucket: 'bucket', Key: 'big.txt', Body: { sha256: createHash('sha256').update(content).digest('hex'), length: 70_000 } });
    const decode = (body: string, h: Record<string, string> = {}) => decodeAwsChunked(Buffer.from(body), { ...headers, 'x-amz-decoded-content-length': '3', ...h });
    expect(decode('3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n')).toEqual({ ok: true, content: Buffer.from('abc'), trailers: { 'x-amz-checksum-crc32': 'AAAAAA==' } });
    const reasons: Array<[string, Record<string, string>, RegExp]> = [
      ['3;chunk-signature=00\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', {}, /lower-case hex without extensions/],
      ['03\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', {}, /lower-case hex/],
      ['3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\nextra', {}, /bytes follow the end/],
      ['3\r\nabc\r\n0\r\nx-amz-checksum-sha256:AAAAAA==\r\n\r\n', {}, /not declared in x-amz-trailer/],
      ['3\r\nabc\r\n0\r\n\r\n', {}, /declared trailer x-amz-checksum-crc32 is missing/],
      ['3\r\nabcd\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', {}, /not followed by CRLF/],
      ['9\r\nabc\r\n', {}, /runs past the end/],
      ['3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', { 'x-amz-decoded-content-length': '4' }, /x-amz-decoded-content-length says 4/],
      ['3\r\nabc\r\n0\r\nX-Amz-Checksum-Crc32:AAAAAA==\r\n\r\n', {}, /lower-case name/],
    ];
    for (const [body, h, reason] of reasons) expect(decode(body, h), body).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
    expect(refusal(s3('PUT', '/bucket/k', { ...headers, 'content-encoding': 'gzip,aws-chunked' }, chunked))).toMatch(/Content-Encoding: aws-chunked and no other coding/);
    expect(refusal(s3('PUT', '/bucket/k', { 'content-encoding': 'aws-chunked' }, chunked))).toMatch(/needs x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER/);
  });
});

describe('S3 (REST-XML)', () => {
  it('names the same object in path style and virtual-hosted style, with the key percent-decoded', () => {
    const pathStyle = contractOf(s3('DELETE', '/seb-data/reports/caf%C3%A9.csv'));
    const virtual = contractOf(s3('DELETE', '/reports/caf%C3%A9.csv', {}, '', 'seb-data.s3.us-east-1.amazonaws.com'));
    expect(pathStyle).toEqual(virtual);
    expect(pathStyle).toEqual({ platform: 'aws', operation: 's3:DeleteObject', targets: ['arn:aws:s3:::seb-data/reports/café.csv'], params: { Bucket: 'seb-data', Key: 'reports/café.csv' } });
    expect(refusal(s3('DELETE', '/seb-data/reports/q%203.csv'))).toMatch(/whitespace/);
  });

  it('binds the headers S3 reads (ACL, metadata, conditions) but not transport, signing or checksum headers', () => {
    const put = contractOf(s3('PUT', '/b1x/k', { 'x-amz-acl': 'public-read', 'x-amz-meta-owner': 'ops', 'if-none-match': '*', 'content-type': 'text/plain', 'user-agent': 'aws-cli', 'x-amz-date': '20261122T000000Z', 'content-md5': 'x', 'x-amz-checksum-crc32': 'AAAAAA==', 'amz-sdk-request': 'attempt=1' }, 'hi'));
    expect(put.params).toEqual({ Bucket: 'b1x', Key: 'k', Headers: { 'content-type': 'text/plain', 'if-none-match': '*', 'x-amz-acl': 'public-read', 'x-amz-meta-owner': 'ops' }, Body: { sha256: createHash('sha256').update('hi').digest('hex'), length: 2 } });
    const sseC = contractOf(s3('PUT', '/b1x/k', { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': 'c2VjcmV0', 'x-amz-server-side-encryption-customer-key-md5': 'bWQ1' }));
    expect((sseC.params as { Headers: object }).Headers).toEqual({ 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key-md5': 'bWQ1' }); // the key itself is a secret
    // a certificate for a private upload does not cover a public one
    const privateUpload = { ...put, params: { ...(put.params as object), Headers: { 'content-type': 'text/plain', 'if-none-match': '*', 'x-amz-meta-owner': 'ops' } } };
    expect(matchContract({ ...privateUpload, risk: 'low' } as never, put)).toMatchObject({ ok: false, reason: expect.stringMatching(/Headers\/x-amz-acl/) });
  });

  it('names bucket operations by their IAM action; JSON policies are bound as JSON', () => {
    expect(contractOf(s3('PUT', '/seb-data'))).toEqual({ platform: 'aws', operation: 's3:CreateBucket', targets: ['arn:aws:s3:::seb-data'], params: { Bucket: 'seb-data' } });
    const policy = { Version: '2012-10-17', Statement: [] };
    expect(contractOf(s3('PUT', '/seb-data?policy', {}, JSON.stringify(policy)))).toMatchObject({ operation: 's3:PutBucketPolicy', params: { Bucket: 'seb-data', Body: policy } });
    expect(refusal(s3('PUT', '/seb-data?policy', {}, '{"a":1,"a":2}'))).toMatch(/duplicate/i);
    expect(contractOf(s3('PUT', '/seb-data?cors', {}, '<CORSConfiguration/>')).operation).toBe('s3:PutBucketCORS');
    expect(contractOf(s3('DELETE', '/seb-data/k?versionId=v1'))).toMatchObject({ operation: 's3:DeleteObjectVersion', params: { Query: { versionId: 'v1' } } });
    expect(contractOf(s3('PUT', '/seb-data/k?x-id=PutObject')).operation).toBe('s3:PutObject');
  });

  it('reads are GET/HEAD with S3\'s read parameters only', () => {
    expect(s3('GET', '/seb-data?list-type=2&prefix=a%2F').kind).toBe('read');
    expect(s3('HEAD', '/seb-data/k?versionId=1').kind).toBe('read');
    expect(s3('GET', '/').kind).toBe('read');
    expect(refusal(s3('GET', '/seb-data?session'))).toMatch(/CreateSession/);
    expect(refusal(s3('GET', '/seb-data?List-Type=2'))).toMatch(/"List-Type" is not an S3 read/);
  });

  it('refuses what it cannot name exactly: casing, duplicates, unknown parameters, copies, multipart, batch deletes, odd names', () => {
    const cases: Array<[ReturnType<typeof s3>, RegExp]> = [
      [s3('PUT', '/seb-data?Policy', {}, '{}'), /does not take the query parameter "Policy"|not an S3 operation/],
      [s3('PUT', '/seb-data/k?acl&acl'), /more than once/],
      [s3('PUT', '/seb-data/k?tagging&ACL'), /several subresources/],
      [s3('PUT', '/seb-data/k?x-id=GetObject'), /does not name the operation/],
      [s3('PUT', '/seb-data/k?foo=bar'), /does not take the query parameter "foo"/],
      [s3('PUT', '/seb-data/k', { 'x-amz-copy-source': '/other/k' }), /copies/],
      [s3('POST', '/seb-data/k?uploads'), /multipart/],
      [s3('PUT', '/seb-data/k?partNumber=1&uploadId=u'), /multipart/],
      [s3('POST', '/seb-data?delete', {}, '<Delete/>'), /DeleteObjects/],
      [s3('PUT', '/Seb-Data/k'), /not a valid S3 bucket name/],
      [s3('PUT', '/seb-data/a*b'), /wildcard/],
      [s3('PUT', '/seb-data/%E0%A4%A'), /percent-encoded/],
      [s3('PATCH', '/seb-data/k'), /not an S3 operation/],
      [s3('PUT', '/seb-data/k', { 'x-amz-target': 'x.GetObject' }), /REST service/],
    ];
    for (const [c, reason] of cases) expect(refusal(c)).toMatch(reason);
  });
});

describe('Lambda (REST-JSON)', () => {
  const lambda = (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
    request({ host: 'lambda.us-east-1.amazonaws.com', method, path: p, body: body === undefined ? '' : JSON.stringify(body), headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } });

  it('names the function ARN and binds the canonical JSON body', () => {
    expect(contractOf(lambda('PUT', '/2015-03-31/functions/resize/configuration', { Timeout: 30 }))).toEqual({
      platform: 'aws', operation: 'lambda:UpdateFunctionConfiguration', targets: [`arn:aws:lambda:us-east-1:${ACCOUNT}:function:resize`], params: { FunctionName: 'resize', Body: { Timeout: 30 } },
    });
    const viaArn = contractOf(lambda('DELETE', `/2015-03-31/functions/${encodeURIComponent(`arn:aws:lambda:us-east-1:${ACCOUNT}:function:resize`)}`));
    expect(viaArn).toEqual({ platform: 'aws', operation: 'lambda:DeleteFunction', targets: [`arn:aws:lambda:us-east-1:${ACCOUNT}:function:resize`], params: { FunctionName: 'resize' } });
    expect(contractOf(lambda('POST', '/2015-03-31/functions/resize/invocations', { a: 1 }, { 'x-amz-invocation-type': 'Event' }))).toMatchObject({ operation: 'lambda:InvokeFunction', params: { Headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' }, Body: { length: 7 } } });
  });

  it('reads are GETs on Lambda\'s read paths', () => {
    expect(lambda('GET', '/2015-03-31/functions/resize').kind).toBe('read');
    expect(lambda('GET', '/2015-03-31/functions/').kind).toBe('read');
    expect(refusal(lambda('GET', '/2099-01-01/functions/resize'))).toMatch(/not a Lambda read/);
  });

  it('refuses other accounts and regions, qualifiers, non-JSON bodies and unknown operations', () => {
    expect(refusal(lambda('DELETE', `/2015-03-31/functions/${encodeURIComponent('arn:aws:lambda:us-east-1:999999999999:function:x')}`))).toMatch(/account 999999999999/);
    expect(refusal(lambda('DELETE', `/2015-03-31/functions/${encodeURIComponent(`arn:aws:lambda:eu-west-1:${ACCOUNT}:function:x`)}`))).toMatch(/is in eu-west-1/);
    expect(refusal(lambda('DELETE', '/2015-03-31/functions/resize?Qualifier=1'))).toMatch(/query parameters/);
    expect(refusal(request({ host: 'lambda.us-east-1.amazonaws.com', method: 'PUT', path: '/2015-03-31/functions/resize/configuration', body: '{}', headers: { 'content-type': 'text/plain' } }))).toMatch(/Content-Type: application\/json/);
    expect(refusal(lambda('POST', '/2015-03-31/functions/resize/policy', {}))).toMatch(/not a Lambda operation seb can certify/);
    expect(refusal(request({ host: 'lambda.us-east-1.amazonaws.com', method: 'DELETE', path: '/2015-03-31/functions/resize', accountId: null }))).toMatch(/aws\.accountId/);
  });
});

describe('Query and JSON protocols', () => {
  const form = (body: string, p = '/') => request({ host: 'ec2.us-east-1.amazonaws.com', method: 'POST', path: p, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  const dynamo = (target: string, body: unknown, headers: Record<string, string> = {}, p = '/') =>
    request({ host: 'dynamodb.us-east-1.amazonaws.com', method: 'POST', path: p, headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.0', ...headers }, body: JSON.stringify(body) });

  it('refuses a Query parameter given in two casings', () => {
    expect(refusal(form('Action=TerminateInstances&InstanceId.1=i-1&instanceid.1=i-2'))).toMatch(/two casings/);
    expect(refusal(form('Action=TerminateInstances&InstanceId.1=i-1', '/?action=DescribeInstances'))).toMatch(/two casings/);
  });

  it('DynamoDB: reads by name (Query, Scan included), table ARNs for writes, strict JSON protocol', () => {
    expect(dynamo('DynamoDB_20120810.Query', { TableName: 'orders' }).kind).toBe('read');
    expect(dynamo('DynamoDB_20120810.Scan', { TableName: 'orders' }).kind).toBe('read');
    expect(contractOf(dynamo('DynamoDB_20120810.PutItem', { TableName: 'orders', Item: {} }))).toEqual({ platform: 'aws', operation: 'dynamodb:PutItem', targets: [`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`], params: { TableName: 'orders', Item: {} } });
    expect(refusal(dynamo('DynamoDB_20120810.PutItem', { TableName: 'orders' }, {}, '/?Action=GetItem'))).toMatch(/Action parameter/);
    expect(refusal(dynamo('DynamoDB_20120810.PutItem', { TableName: 'orders' }, {}, '/?x=1'))).toMatch(/query string is not allowed/);
    expect(refusal(dynamo('dynamodb_20120810.PutItem', { TableName: 'orders' }))).toMatch(/does not name a dynamodb operation/);
    expect(refusal(dynamo('DynamoDB_20120810.PutItem', { TableName: 'orders' }, { 'content-type': 'application/json' }))).toMatch(/x-amz-json-1.0 or -1.1/);
    expect(refusal(dynamo('DynamoDB_20120810.PutItem', [1]))).toMatch(/must be a JSON object/);
    expect(refusal(dynamo('DynamoDB_20120810.PutItem', { TableName: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders` }))).toMatch(/resource name/);
  });
});

describe('reads come from explicit lists of read-only operations', () => {
  const JSON_PREFIX: Record<string, string> = { dynamodb: 'DynamoDB_20120810', kms: 'TrentService', ssm: 'AmazonSSM', logs: 'Logs_20140328', secretsmanager: 'secretsmanager', ecr: 'AmazonEC2ContainerRegistry_V20150921' };
  /** An operation of a Query or JSON service as its SDK sends it. */
  const call = (service: string, action: string, params: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    const host = awsEndpointHost(service, 'us-east-1');
    if (protocolOf(service) === 'json') {
      return request({ host, service, method: 'POST', headers: { 'x-amz-target': `${JSON_PREFIX[service] ?? service}.${action}`, 'content-type': 'application/x-amz-json-1.1', ...headers }, body: JSON.stringify(params) });
    }
    const form = new URLSearchParams({ Action: action, Version: '2011-06-15', ...(params as Record<string, string>) }).toString();
    return request({ host, service, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...headers }, body: form });
  };

  it('every listed read is a read through its protocol, under its exact name only', () => {
    for (const [service, ops] of Object.entries(READ_OPERATIONS)) {
      for (const op of ops) {
        expect(call(service, op).kind, `${service}:${op}`).toBe('read');
        expect(call(service, op[0]!.toLowerCase() + op.slice(1)).kind, `${service}:${op} recased`).not.toBe('read');
      }
    }
    expect(isReadOperation('ec2', 'DescribeSecurityGroups')).toBe(true);
    expect(isReadOperation('ec2', 'DescribeAnythingNew')).toBe(false); // a name is not knowledge
  });

  it('operations that hand out credentials or secrets are never reads, and the lists keep them apart', () => {
    for (const op of Object.keys(RELEASES_SECRETS)) {
      const [service, action] = op.split(':') as [string, string];
      expect(READ_OPERATIONS[service]?.has(action) ?? false, op).toBe(false);
      expect(call(service, action, {}).kind, op).not.toBe('read');
    }
  });

  it('the confirmed leaks: STS tokens are refused; SSM parameter values need a certificate naming the parameters', () => {
    expect(refusal(call('sts', 'GetWebIdentityToken', { 'Audience.member.1': 'x' }))).toMatch(/^SEB_REQUEST_UNSUPPORTED: sts:GetWebIdentityToken hands out a web identity token, so it is not a read; /);
    expect(refusal(call('sts', 'GetDelegatedAccessToken', { TradeInToken: 't' }))).toMatch(/^SEB_REQUEST_UNSUPPORTED: sts:GetDelegatedAccessToken hands out credentials, so it is not a read; /);
    expect(refusal(call('sts', 'GetSessionToken'))).toMatch(/hands out credentials/);
    expect(contractOf(call('ssm', 'GetParameterHistory', { Name: '/prod/db/password', WithDecryption: true }))).toEqual({
      platform: 'aws', operation: 'ssm:GetParameterHistory', targets: [`arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/db/password`], params: { Name: '/prod/db/password', WithDecryption: true },
    });
    expect(contractOf(call('ssm', 'GetParameters', { Names: ['b', '/a/x'], WithDecryption: true })).targets).toEqual([`arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/a/x`, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/b`]);
    expect(contractOf(call('ssm', 'GetParameter', { Name: 'db-host' })).operation).toBe('ssm:GetParameter'); // with or without decryption
    expect(refusal(call('ssm', 'GetParametersByPath', { Path: '/prod', Recursive: true, WithDecryption: true }))).toMatch(/returns parameter values .* not a read; .*does not know yet/);
    expect(refusal(call('ssm', 'GetParameter', { Name: 'db-host:3' }))).toMatch(/cannot appear in a resource name/);
    expect(contractOf(call('ec2', 'GetConsoleOutput', { InstanceId: 'i-1' })).targets).toEqual([`arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-1`]);
    expect(refusal(call('kms', 'Decrypt', { CiphertextBlob: 'AA==' }))).toMatch(/kms:Decrypt returns plaintext, so it is not a read/);
    expect(refusal(call('secretsmanager', 'GetSecretValue', { SecretId: 's' }))).toMatch(/secretsmanager:GetSecretValue returns a secret, so it is not a read, and seb cannot name the resources of secretsmanager changes/);
    expect(refusal(call('ecr', 'GetAuthorizationToken'))).toMatch(/hands out a registry password/);
    expect(refusal(call('iam', 'GetCredentialReport'))).toMatch(/credential report/);
    expect(refusal(call('ec2', 'DescribeVpnConnections'))).toMatch(/pre-shared keys/);
  });

  it('CloudWatch Logs events are reads only while protected data stays masked', () => {
    expect(call('logs', 'GetLogEvents', { logGroupName: 'app', logStreamName: 's' }).kind).toBe('read');
    expect(call('logs', 'FilterLogEvents', { logGroupName: 'app' }).kind).toBe('read');
    for (const unmask of [{ unmask: true }, { unmask: false }, { Unmask: true }]) {
      expect(refusal(call('logs', 'GetLogEvents', { logGroupName: 'app', ...unmask })), JSON.stringify(unmask)).toMatch(/not one of the logs operations seb knows to be read-only/);
      expect(call('logs', 'FilterLogEvents', { logGroupName: 'app', ...unmask }).kind).not.toBe('read');
    }
    expect(refusal(call('logs', 'GetQueryResults', { queryId: 'q' }))).toMatch(/unmask/);
  });

  it('a service seb supports no reads of has none: every request to it is refused', () => {
    expect(refusal(call('sns', 'ListTopics'))).toMatch(/^SEB_REQUEST_UNSUPPORTED: seb knows no read-only operation of sns, so sns:ListTopics counts as a change/);
    expect(refusal(call('secretsmanager', 'ListSecrets'))).toMatch(/knows no read-only operation of secretsmanager/);
    expect(refusal(call('monitoring', 'GetMetricData'))).toMatch(/knows no read-only operation of monitoring/);
    expect(refusal(request({ host: 'route53.amazonaws.com', path: '/2013-04-01/hostedzone' }))).toMatch(/S3 and Lambda only, so every request to route53 counts as a change/);
    expect(refusal(request({ host: 'eks.us-east-1.amazonaws.com', path: '/clusters' }))).toMatch(/every request to eks/);
    expect(refusal(call('sqs', 'ListQueues'))).toMatch(/knows no read-only operation of sqs/);
  });

  it('JSON services of seb\'s lists need their own X-Amz-Target prefix', () => {
    for (const [service, prefix] of [['kms', 'TrentService'], ['ssm', 'AmazonSSM'], ['logs', 'Logs_20140328']] as const) {
      const other = request({ host: `${service}.us-east-1.amazonaws.com`, method: 'POST', headers: { 'x-amz-target': `Other.${[...READ_OPERATIONS[service]!][0]}`, 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
      expect(refusal(other)).toMatch(new RegExp(`does not name a ${service} operation \\(${prefix}\\.<Operation>\\)`));
    }
  });
});

describe('method overrides', () => {
  it('X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override are refused in every protocol, on reads and changes', () => {
    const requests = (headers: Record<string, string>) => [
      request({ host: 'ec2.us-east-1.amazonaws.com', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: 'Action=DescribeInstances&Version=2016-11-15' }),
      request({ host: 'dynamodb.us-east-1.amazonaws.com', method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.GetItem', 'content-type': 'application/x-amz-json-1.0', ...headers }, body: '{"TableName":"orders"}' }),
      s3('GET', '/seb-data/k', headers),
      s3('PUT', '/seb-data/k', headers, 'x'),
      request({ host: 'lambda.us-east-1.amazonaws.com', path: '/2015-03-31/functions/resize', headers }),
    ];
    for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override', 'X-HTTP-Method-Override']) {
      for (const c of requests({ [name]: 'DELETE' })) {
        expect(refusal(c), name).toBe(`SEB_REQUEST_UNSUPPORTED: the ${name} header is refused: seb judges an AWS request by the method it is sent with, so that must be the method executed; send the request with that method and without the header`);
      }
    }
    expect(s3('GET', '/seb-data/k').kind).toBe('read');
  });
});
