// Properties of the AWS parser (fast-check): it never throws, whatever arrives; no operation from a list of
// known mutations (and reads that release secrets) of every protocol is ever classified as a read — whatever
// casing, encodings, positions and extra parameters a generator adds; and the Query and JSON reads are exactly
// the listed ones, whatever an operation is called. Bounded runs keep the file to seconds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainHar } from '../cli/explain.ts';
import { CODES } from '../errors/codes.ts';
import { classifyAws } from '../parsers/aws/classify.ts';
import { awsEndpointHost } from '../parsers/aws/endpoints.ts';
import { encodeAwsChunked } from '../parsers/aws/payload.ts';
import { isReadOperation, READ_OPERATIONS } from '../parsers/aws/reads.ts';
import type { GateRequest } from '../pipeline/gate.ts';

const RUNS = 600;
const ACCOUNT = '123456789012';
const SERVICES = ['ec2', 'iam', 'sts', 'autoscaling', 'dynamodb', 'kms', 'logs', 'ssm', 's3', 'lambda', 'route53', 'execute-api', 'nosuch'];
const HOSTS = [
  'ec2.us-east-1.amazonaws.com', 'iam.amazonaws.com', 'sts.us-east-1.amazonaws.com', 'autoscaling.us-east-1.amazonaws.com',
  'dynamodb.us-east-1.amazonaws.com', 'kms.us-east-1.amazonaws.com', 's3.us-east-1.amazonaws.com', 's3.amazonaws.com',
  'seb-data.s3.amazonaws.com', 'seb-data.s3.us-east-1.amazonaws.com', 'lambda.us-east-1.amazonaws.com', 'abc.execute-api.us-east-1.amazonaws.com',
];

const authorization = (service: string, region = 'us-east-1') => `AWS4-HMAC-SHA256 Credential=AKID/20261122/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

function classify(req: Omit<GateRequest, 'url'> & { target: string }) {
  let url: URL;
  try {
    url = new URL(req.target, 'https://aws');
  } catch {
    url = new URL('https://aws/');
  }
  return classifyAws({ ...req, url }, { host: req.host, accountId: ACCOUNT });
}

/** Percent-encodes a random selection of characters (upper or lower hex), as a client or an attacker might. */
const encoded = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).chain((flags) =>
  fc.boolean().map((lower) => [...s].map((ch, i) => (flags[i] && /[A-Za-z0-9]/.test(ch) ? (lower ? `%${ch.charCodeAt(0).toString(16)}` : `%${ch.charCodeAt(0).toString(16).toUpperCase()}`) : encodeURIComponent(ch))).join('')));
/** The same name in another casing, sometimes. */
const recased = (s: string) => fc.constantFrom(s, s, s.toLowerCase(), s.toUpperCase(), s[0]!.toLowerCase() + s.slice(1));
const pname = fc.oneof(fc.constantFrom('Action', 'action', 'Version', 'DryRun', 'InstanceId.1', 'GroupId', 'TableName', 'list-type', 'prefix', 'acl', 'x-id', 'versionId', 'Policy', 'tagging', 'uploads', 'X-Amz-Date', 'Filter.1.Name'), fc.string({ minLength: 1, maxLength: 12 }));
const extras = fc.array(fc.tuple(pname, fc.oneof(fc.constant(''), fc.string({ maxLength: 12 }), fc.constantFrom('DescribeInstances', 'GetObject', '2', 'true'))), { maxLength: 4 });
const joinParams = (list: ReadonlyArray<readonly [string, string]>) => list.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');

describe('the AWS parser never throws', () => {
  it('on arbitrary methods, hosts, paths, queries, headers and bodies', () => {
    const headerName = fc.oneof(fc.constantFrom('authorization', 'x-amz-target', 'content-type', 'content-encoding', 'x-amz-content-sha256', 'x-amz-decoded-content-length', 'x-amz-trailer', 'x-amz-copy-source', 'x-amz-region-set', 'x-amz-acl'), fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.toLowerCase()));
    const headerValue = fc.oneof(
      fc.string({ maxLength: 80 }), fc.constantFrom('STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'UNSIGNED-PAYLOAD', 'aws-chunked', 'application/x-amz-json-1.0', 'application/x-www-form-urlencoded', 'DynamoDB_20120810.PutItem'),
      fc.constantFrom(...SERVICES).map((s) => authorization(s)), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
    );
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
      fc.json().map((s) => Buffer.from(s)),
      fc.tuple(fc.string({ maxLength: 100 }), fc.nat(20)).map(([s, cut]) => encodeAwsChunked(Buffer.from(s), { 'x-amz-checksum-crc32': 'AAAAAA==' }, 7).subarray(cut)),
    );
    const target = fc.oneof(fc.webPath(), fc.string({ maxLength: 60 }).map((s) => `/${s}`), fc.tuple(fc.webPath(), fc.webQueryParameters()).map(([p, q]) => `${p}?${q}`));
    fc.assert(fc.property(
      fc.oneof(fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'put', 'OPTIONS'), fc.string({ maxLength: 8 })),
      fc.oneof(fc.constantFrom(...HOSTS), fc.domain()),
      target,
      fc.dictionary(headerName, headerValue, { maxKeys: 8 }),
      body,
      (method, host, t, headers, b) => {
        const c = classify({ method, host, target: t, headers, body: b });
        expect(['read', 'mutation', 'unsupported']).toContain(c.kind);
        if (c.kind === 'unsupported') expect(Object.keys(CODES)).toContain(c.error.code);
      },
    ), { numRuns: RUNS * 3 });
  });

  it('explain never throws on arbitrary documents: it explains or says why the file is not HAR', () => {
    const entry = fc.record({ request: fc.record({ method: fc.string({ maxLength: 8 }), url: fc.oneof(fc.webUrl(), fc.string()), headers: fc.array(fc.record({ name: fc.string(), value: fc.string() }), { maxLength: 4 }), postData: fc.option(fc.record({ text: fc.string() }), { nil: undefined }) }) });
    fc.assert(fc.property(fc.oneof(fc.json(), fc.array(entry, { maxLength: 3 }).map((entries) => JSON.stringify({ log: { version: '1.2', entries } }))), (text) => {
      const out = explainHar(text, { accountId: ACCOUNT, awsHosts: ['*.amazonaws.com'] });
      expect(typeof out.ok).toBe('boolean');
    }), { numRuns: RUNS });
  });
});

/** Known mutations of the Query protocols (EC2 and IAM, STS, Auto Scaling): never reads. */
const QUERY_MUTATIONS: Record<string, readonly string[]> = {
  ec2: ['RunInstances', 'TerminateInstances', 'StopInstances', 'StartInstances', 'RebootInstances', 'AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'CreateSecurityGroup', 'DeleteSecurityGroup', 'ModifyInstanceAttribute', 'CreateVpc', 'DeleteVpc', 'CreateSnapshot', 'DeleteVolume', 'CreateTags', 'GetPasswordData', 'ModifySecurityGroupRules', 'GetConsoleOutput', 'GetConsoleScreenshot', 'DescribeVpnConnections', 'GetVpnConnectionDeviceSampleConfiguration'],
  iam: ['CreateUser', 'DeleteUser', 'AttachRolePolicy', 'PutRolePolicy', 'CreateAccessKey', 'CreateRole', 'UpdateAssumeRolePolicy', 'AddUserToGroup', 'CreateLoginProfile', 'GetLoginProfile', 'GetCredentialReport', 'GenerateCredentialReport', 'ListVirtualMFADevices'],
  sts: ['AssumeRole', 'GetSessionToken', 'GetFederationToken', 'AssumeRoleWithWebIdentity', 'AssumeRoleWithSAML', 'GetWebIdentityToken', 'GetDelegatedAccessToken', 'DecodeAuthorizationMessage'],
  autoscaling: ['SetDesiredCapacity', 'UpdateAutoScalingGroup', 'DeleteAutoScalingGroup', 'TerminateInstanceInAutoScalingGroup', 'CreateAutoScalingGroup', 'PutScalingPolicy'],
};
const QUERY_HOSTS: Record<string, string> = { ec2: 'ec2.us-east-1.amazonaws.com', iam: 'iam.amazonaws.com', sts: 'sts.us-east-1.amazonaws.com', autoscaling: 'autoscaling.us-east-1.amazonaws.com' };
/** Known mutations of the JSON protocols (1.0: DynamoDB; 1.1: KMS, SSM, Logs), reads that release secrets, and
 * operations of services seb knows no reads of (Secrets Manager, ECR). */
const JSON_MUTATIONS: Record<string, { prefix: string; ops: readonly string[] }> = {
  dynamodb: { prefix: 'DynamoDB_20120810', ops: ['PutItem', 'DeleteItem', 'UpdateItem', 'DeleteTable', 'CreateTable', 'BatchWriteItem', 'TransactWriteItems', 'ExecuteStatement', 'UpdateTable'] },
  kms: { prefix: 'TrentService', ops: ['CreateKey', 'ScheduleKeyDeletion', 'DisableKey', 'PutKeyPolicy', 'Decrypt', 'GenerateDataKey', 'GenerateRandom', 'GetParametersForImport'] },
  ssm: { prefix: 'AmazonSSM', ops: ['PutParameter', 'DeleteParameter', 'SendCommand', 'GetParameter', 'GetParameters', 'GetParametersByPath', 'GetParameterHistory', 'GetAccessToken', 'GetCommandInvocation'] },
  logs: { prefix: 'Logs_20140328', ops: ['CreateLogGroup', 'DeleteLogGroup', 'PutRetentionPolicy', 'GetQueryResults', 'StartQuery'] },
  secretsmanager: { prefix: 'secretsmanager', ops: ['GetSecretValue', 'BatchGetSecretValue', 'ListSecrets', 'DescribeSecret'] },
  ecr: { prefix: 'AmazonEC2ContainerRegistry_V20150921', ops: ['GetAuthorizationToken', 'DescribeRepositories'] },
};

describe('no known mutation is ever classified as a read', () => {
  it('Query protocols: whatever casing, encoding, position and extra parameters', () => {
    const op = fc.constantFrom(...Object.entries(QUERY_MUTATIONS).flatMap(([svc, ops]) => ops.map((o) => [svc, o] as const)));
    fc.assert(fc.property(
      op.chain(([svc, name]) => fc.tuple(fc.constant(svc), recased(name))),
      fc.constantFrom('body', 'query', 'both'), fc.constantFrom('POST', 'GET'), extras,
      fc.constantFrom('application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', 'application/x-amz-json-1.1', ''),
      fc.option(fc.constantFrom('x.DescribeInstances', 'AmazonEC2.DescribeInstances'), { nil: undefined }),
      fc.boolean(),
      ([svc, action], where, method, more, contentType, target, encodeAction) => {
        const actionParam = encodeAction ? `Action=${[...action].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}` : `Action=${action}`;
        const params = [actionParam, joinParams(more)].filter(Boolean).join('&');
        const query = where === 'body' ? '' : `?${params}`;
        const body = where === 'query' ? '' : params;
        const c = classify({
          method, host: QUERY_HOSTS[svc]!, target: `/${query}`, body: Buffer.from(body),
          headers: { authorization: authorization(svc), ...(contentType ? { 'content-type': contentType } : {}), ...(target ? { 'x-amz-target': target } : {}) },
        });
        expect(c.kind, `${svc} ${method} ${query} ${body}`).not.toBe('read');
      },
    ), { numRuns: RUNS });
  });

  it('JSON protocols: whatever target casing, body fields, content types and query hints', () => {
    const op = fc.constantFrom(...Object.entries(JSON_MUTATIONS).flatMap(([svc, { prefix, ops }]) => ops.map((o) => [svc, prefix, o] as const)));
    fc.assert(fc.property(
      op.chain(([svc, prefix, name]) => fc.tuple(fc.constant(svc), recased(prefix), recased(name))),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      fc.constantFrom('application/x-amz-json-1.0', 'application/x-amz-json-1.1', 'application/json', 'text/plain'),
      fc.constantFrom('', '?Action=DescribeTable', '?Action=GetItem&Version=1', '?x=1'),
      fc.constantFrom('POST', 'GET'),
      ([svc, prefix, name], fields, contentType, query, method) => {
        const c = classify({
          method, host: `${svc}.us-east-1.amazonaws.com`, target: `/${query}`, body: Buffer.from(JSON.stringify({ TableName: 'orders', ...fields })),
          headers: { authorization: authorization(svc), 'x-amz-target': `${prefix}.${name}`, 'content-type': contentType },
        });
        expect(c.kind, `${svc} ${prefix}.${name} ${query}`).not.toBe('read');
      },
    ), { numRuns: RUNS });
  });

  /** S3 and Lambda mutations as method + path (+ subresource): never reads, whatever is added to them. */
  const REST_MUTATIONS: ReadonlyArray<readonly [string, 's3' | 'lambda', string, string]> = [
    ['PutObject', 's3', 'PUT', '/seb-data/reports/q3.csv'], ['DeleteObject', 's3', 'DELETE', '/seb-data/reports/q3.csv'],
    ['CreateBucket', 's3', 'PUT', '/seb-data'], ['DeleteBucket', 's3', 'DELETE', '/seb-data'], ['PutBucketPolicy', 's3', 'PUT', '/seb-data?policy'],
    ['DeleteBucketPolicy', 's3', 'DELETE', '/seb-data?policy'], ['PutObjectAcl', 's3', 'PUT', '/seb-data/k?acl'], ['PutBucketAcl', 's3', 'PUT', '/seb-data?acl'],
    ['DeleteObjects', 's3', 'POST', '/seb-data?delete'], ['CreateMultipartUpload', 's3', 'POST', '/seb-data/k?uploads'],
    ['UploadPart', 's3', 'PUT', '/seb-data/k?partNumber=1&uploadId=u'], ['CompleteMultipartUpload', 's3', 'POST', '/seb-data/k?uploadId=u'],
    ['RestoreObject', 's3', 'POST', '/seb-data/k?restore'], ['PutBucketVersioning', 's3', 'PUT', '/seb-data?versioning'],
    ['CreateSession', 's3', 'GET', '/seb-data?session'],
    ['DeleteFunction', 'lambda', 'DELETE', '/2015-03-31/functions/resize'], ['UpdateFunctionConfiguration', 'lambda', 'PUT', '/2015-03-31/functions/resize/configuration'],
    ['UpdateFunctionCode', 'lambda', 'PUT', '/2015-03-31/functions/resize/code'], ['CreateFunction', 'lambda', 'POST', '/2015-03-31/functions'],
    ['Invoke', 'lambda', 'POST', '/2015-03-31/functions/resize/invocations'], ['AddPermission', 'lambda', 'POST', '/2015-03-31/functions/resize/policy'],
    ['PutFunctionConcurrency', 'lambda', 'PUT', '/2017-10-31/functions/resize/concurrency'], ['TagResource', 'lambda', 'POST', '/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aresize'],
  ];

  it('REST protocols (S3, Lambda): whatever method casing, path encoding, extra query parameters and headers', () => {
    fc.assert(fc.property(
      fc.constantFrom(...REST_MUTATIONS).chain(([name, svc, method, target]) => fc.tuple(fc.constant(name), fc.constant(svc), fc.constantFrom(method, method.toLowerCase()), encoded(target.split('?')[0]!).map((p) => p.replaceAll('%2F', '/')), fc.constant(target.split('?')[1]))),
      extras, fc.boolean(),
      fc.dictionary(fc.constantFrom('x-http-method-override', 'x-amz-target', 'x-amz-acl', 'content-type', 'x-amz-copy-source', 'range'), fc.constantFrom('GET', 'x.GetObject', 'public-read', 'application/json', '/a/b', 'bytes=0-1'), { maxKeys: 3 }),
      ([name, svc, method, p, sub], more, virtual, headers) => {
        const host = svc === 'lambda' ? 'lambda.us-east-1.amazonaws.com' : virtual ? 'seb-data.s3.us-east-1.amazonaws.com' : 's3.us-east-1.amazonaws.com';
        const path = svc === 's3' && virtual ? p.replace(/^\/seb-data/, '') || '/' : p;
        const query = [sub, joinParams(more)].filter(Boolean).join('&');
        const c = classify({
          method, host, target: `${path}${query ? `?${query}` : ''}`, body: Buffer.from('{}'),
          headers: { authorization: authorization(svc), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers },
        });
        expect(c.kind, `${name}: ${method} ${host}${path}?${query}`).not.toBe('read');
      },
    ), { numRuns: RUNS });
  });
});

describe('Query and JSON reads are exactly the listed operations', () => {
  const PREFIX: Record<string, string> = { dynamodb: 'DynamoDB_20120810', kms: 'TrentService', ssm: 'AmazonSSM', logs: 'Logs_20140328', sqs: 'AmazonSQS', secretsmanager: 'secretsmanager' };
  const services = [...Object.keys(READ_OPERATIONS), 'sns', 'monitoring', 'elasticloadbalancing', 'cloudformation', 'sqs', 'secretsmanager'];
  const listed = Object.values(READ_OPERATIONS).flatMap((ops) => [...ops]);
  /** Listed reads (of any service), read-like names seb does not list, and arbitrary names. */
  const action = fc.oneof(
    fc.constantFrom(...listed),
    fc.tuple(fc.constantFrom('Describe', 'Get', 'List', 'Search', 'Lookup', 'Query', 'Scan', 'BatchGet', 'Head', 'Filter'), fc.constantFrom('Secret', 'Token', 'Parameter', 'PasswordData', 'Anything', 'Value', 'Instances2', ''), fc.stringMatching(/^[A-Za-z0-9]{0,6}$/)).map((parts) => parts.join('')),
    fc.stringMatching(/^[A-Z][A-Za-z0-9]{1,20}$/),
  );

  it('an operation is a read if and only if its service lists it (logs events: while masked)', () => {
    fc.assert(fc.property(fc.constantFrom(...services), action, fc.tuple(fc.subarray(['unmask', 'Name', 'logGroupName', 'WithDecryption']), fc.boolean()).map(([keys, upper]) => Object.fromEntries(keys.map((k) => [upper ? k[0]!.toUpperCase() + k.slice(1) : k, 'true']))),
      (service, op, params) => {
        if (!/^[A-Z][A-Za-z0-9]{1,127}$/.test(op)) return; // neither protocol names such an operation
        const host = awsEndpointHost(service, 'us-east-1');
        const json = PREFIX[service] !== undefined;
        const c = classify({
          method: 'POST', host, target: '/', body: Buffer.from(json ? JSON.stringify(params) : new URLSearchParams({ Action: op, ...params }).toString()),
          headers: { authorization: authorization(service), 'content-type': json ? 'application/x-amz-json-1.1' : 'application/x-www-form-urlencoded', ...(json ? { 'x-amz-target': `${PREFIX[service]}.${op}` } : {}) },
        });
        const expected = isReadOperation(service, op, params as never);
        expect(expected).toBe((READ_OPERATIONS[service]?.has(op) ?? false) && !(service === 'logs' && Object.keys(params).some((k) => k.toLowerCase() === 'unmask') && /^(GetLogEvents|FilterLogEvents|GetLogRecord)$/.test(op)));
        expect(c.kind === 'read', `${service}:${op} ${JSON.stringify(params)}`).toBe(expected);
      },
    ), { numRuns: RUNS });
  });
});
