// Classification: what seb takes for a read, which mutation contract it builds, and what it refuses (fail closed).
import { describe, expect, it } from 'vitest';
import { classifyKube } from '../parsers/kube/classify.ts';
import { classifyAws } from '../parsers/aws/classify.ts';
import { queryProtocolParams } from '../parsers/aws/params.ts';
import type { GateRequest } from '../pipeline/gate.ts';

const kube = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => classifyKube({
  host: 'kubernetes.default.svc', method, url: new URL(path, 'https://k'), headers: { 'content-type': 'application/json', ...headers },
  body: body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});
const unsupported = (c: ReturnType<typeof kube>) => (c.kind === 'unsupported' ? c.error.message : `not refused: ${c.kind}`);

describe('Kubernetes classification', () => {
  it('reads: GET, list, watch, discovery', () => {
    for (const p of ['/api/v1/namespaces/a/configmaps/b', '/apis/apps/v1/deployments', '/api/v1/namespaces/a/pods?watch=1', '/apis', '/version', '/openapi/v3']) expect(kube('GET', p).kind, p).toBe('read');
  });

  it('mutations become contracts naming the one object, with the body as parameters', () => {
    expect(kube('PATCH', '/apis/apps/v1/namespaces/shop/deployments/web/scale', { spec: { replicas: 5 } }, { 'content-type': 'application/merge-patch+json' })).toEqual({
      kind: 'mutation',
      contract: { platform: 'kube', operation: 'patch', targets: [{ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web', subresource: 'scale' }], params: { body: { spec: { replicas: 5 } }, patchType: 'merge' } },
    });
    const created = kube('POST', '/api/v1/namespaces/a/configmaps', { metadata: { name: 'cfg' }, data: {} });
    expect(created.kind === 'mutation' && created.contract.targets).toEqual([{ group: '', version: 'v1', resource: 'configmaps', namespace: 'a', name: 'cfg' }]);
    const ns = kube('DELETE', '/api/v1/namespaces/a');
    expect(ns.kind === 'mutation' && ns.contract.targets).toEqual([{ group: '', version: 'v1', resource: 'namespaces', name: 'a' }]);
    const apply = kube('PATCH', '/apis/apps/v1/namespaces/a/deployments/web?fieldManager=x&force=true', 'spec:\n  paused: on\n', { 'content-type': 'application/apply-patch+yaml' });
    expect(apply.kind === 'mutation' && apply.contract.params).toEqual({ body: { spec: { paused: true } }, query: { fieldManager: ['x'], force: ['true'] }, patchType: 'apply' });
    // What is forwarded is the JSON of what was checked, so no YAML reader can see something else.
    expect(apply.kind === 'mutation' && apply.body?.toString()).toBe('{"spec":{"paused":true}}');
  });

  it('GETs that open sessions into workloads are mutations, bound to their query (the command)', () => {
    for (const sub of ['exec', 'attach', 'portforward', 'proxy']) {
      const c = kube('GET', `/api/v1/namespaces/a/pods/p/${sub}`);
      expect(c.kind === 'mutation' && c.contract.operation, sub).toBe('create');
    }
    const exec = kube('GET', '/api/v1/namespaces/a/pods/p/exec?command=rm&command=-rf&container=c');
    expect(exec.kind === 'mutation' && exec.contract.params).toEqual({ query: { command: ['rm', '-rf'], container: ['c'] } });
    const del = kube('DELETE', '/api/v1/namespaces/a/pods/p?gracePeriodSeconds=0&propagationPolicy=Orphan');
    expect(del.kind === 'mutation' && del.contract.params).toEqual({ query: { gracePeriodSeconds: ['0'], propagationPolicy: ['Orphan'] } });
  });

  it('refuses percent-encoded paths and GETs on non-resource paths that are not discovery', () => {
    expect(kube('GET', '/%61pi/v1/namespaces/d/pods/p/exec?command=sh').kind).toBe('unsupported');
    expect(kube('GET', '/logs/kube-apiserver.log').kind).toBe('unsupported');
    expect(kube('GET', '/api/v1').kind).toBe('read');
    expect(kube('GET', '/apis/apps/v1').kind).toBe('read');
    expect(kube('GET', '/openapi/v3/apis/apps/v1').kind).toBe('read');
    expect(unsupported(kube('PATCH', '/api/v1/namespaces/a/configmaps/b', { data: {} }, { 'content-type': 'text/plain' }))).toContain('not decoded');
    expect(unsupported(kube('PATCH', '/api/v1/namespaces/a/configmaps/b', { data: {} }, { 'content-type': 'application/json' }))).toContain('not a Kubernetes patch type');
  });

  it('refuses what it cannot express or what could execute differently than checked', () => {
    expect(unsupported(kube('POST', '/api/v1/namespaces/a/configmaps', { metadata: { generateName: 'x-' } }))).toContain('generateName');
    expect(unsupported(kube('DELETE', '/api/v1/namespaces/a/configmaps'))).toContain('deletecollection');
    expect(unsupported(kube('POST', '/api/v1/namespaces/a/configmaps', Buffer.from([0x6b, 0x38, 0x73, 0]).toString('latin1'), { 'content-type': 'application/vnd.kubernetes.protobuf' }))).toContain('not decoded');
    expect(unsupported(kube('PATCH', '/api/v1/namespaces/a/configmaps/b', '{"data":{"k":"1"},"data":{"k":"2"}}'))).toContain('duplicate');
    expect(unsupported(kube('PATCH', '/api/v1/namespaces/a/configmaps/b', { data: {} }, { 'impersonate-user': 'admin' }))).toContain('impersonat');
    expect(unsupported(kube('PATCH', '/api/v1/namespaces/a/configmaps/b', { data: {} }, { 'x-http-method-override': 'GET' }))).toContain('Override');
    expect(unsupported(kube('PATCH', '/api/v1/namespaces/a/configmaps/b', 'a: &x 1\nb: *x\n', { 'content-type': 'application/apply-patch+yaml' }))).toContain('YAML');
    for (const p of ['/api/v1/namespaces/a/configmaps/b/', '/api/v1/namespaces/a/configmaps/b%2Fc', '/api/v1//namespaces/a/configmaps/b']) {
      expect(kube('PUT', p, {}).kind, p).toBe('unsupported');
      expect(kube('GET', p).kind, p).toBe('unsupported');
    }
    expect(unsupported(kube('POST', '/apis', {}))).toContain('not a Kubernetes resource request');
  });
});

const aws = (opts: { method?: string; path?: string; form?: string; target?: string; json?: unknown; accountId?: string; host?: string }): ReturnType<typeof classifyAws> => {
  const req: GateRequest = {
    host: opts.host ?? 'ec2.us-east-1.amazonaws.com', method: opts.method ?? 'POST', url: new URL(opts.path ?? '/', 'https://aws'),
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/${(opts.host ?? 'ec2.').split('.')[0]}/aws4_request, SignedHeaders=host, Signature=00`,
      ...(opts.form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } : {}),
      ...(opts.target ? { 'x-amz-target': opts.target, 'content-type': 'application/x-amz-json-1.1' } : {}),
    },
    body: Buffer.from(opts.form ?? (opts.json !== undefined ? JSON.stringify(opts.json) : '')),
  };
  return classifyAws(req, { host: req.host, accountId: 'accountId' in opts ? opts.accountId : '123456789012' });
};

describe('AWS classification', () => {
  it('reads are the listed read-only operations; those that hand out credentials or secrets are not', () => {
    expect(aws({ form: 'Action=DescribeSecurityGroups&Version=2016-11-15' }).kind).toBe('read');
    expect(aws({ form: 'Action=GetPasswordData&InstanceId=i-1&Version=2016-11-15' }).kind).toBe('mutation');
    expect(aws({ method: 'GET', path: '/bucket/key', host: 's3.us-east-1.amazonaws.com' }).kind).toBe('read');
    expect(aws({ host: 'sts.us-east-1.amazonaws.com', form: 'Action=GetCallerIdentity&Version=2011-06-15' }).kind).toBe('read');
    for (const action of ['GetWebIdentityToken', 'GetDelegatedAccessToken', 'GetSessionToken', 'AssumeRole']) {
      expect(aws({ host: 'sts.us-east-1.amazonaws.com', form: `Action=${action}&Version=2011-06-15` }).kind, action).toBe('unsupported');
    }
    expect(aws({ host: 'ssm.us-east-1.amazonaws.com', target: 'AmazonSSM.GetParameterHistory', json: { Name: 'db', WithDecryption: true } }).kind).toBe('mutation');
    expect(aws({ form: 'Action=DescribeSomethingNew&Version=2016-11-15' }).kind).not.toBe('read');
  });

  it('structures Query parameters and names the target ARNs', () => {
    const c = aws({ form: 'Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=443&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8' });
    expect(c).toEqual({
      kind: 'mutation',
      contract: {
        platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: ['arn:aws:ec2:us-east-1:123456789012:security-group/sg-1'],
        params: { GroupId: 'sg-1', IpPermissions: [{ FromPort: '443', IpProtocol: 'tcp', IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] },
      },
    });
    const terminate = aws({ form: 'Action=TerminateInstances&InstanceId.1=i-b&InstanceId.2=i-a' });
    expect(terminate.kind === 'mutation' && terminate.contract.targets).toEqual(['arn:aws:ec2:us-east-1:123456789012:instance/i-a', 'arn:aws:ec2:us-east-1:123456789012:instance/i-b']);
  });

  it('refuses duplicated or conflicting parameters, unknown targets, REST mutations and a missing account', () => {
    const refused = (c: ReturnType<typeof aws>) => (c.kind === 'unsupported' ? c.error.message : `not refused: ${c.kind}`);
    expect(refused(aws({ path: '/?Action=RunInstances', form: 'Action=TerminateInstances&InstanceId.1=i-1' }))).toContain('more than once');
    expect(refused(aws({ form: 'Action=TerminateInstances&InstanceId.1=i-1&InstanceId.1=i-2' }))).toContain('more than once');
    expect(refused(aws({ form: 'Action=CreateVpc&CidrBlock=10.0.0.0%2F16' }))).toContain('does not know yet');
    expect(refused(aws({ method: 'POST', path: '/2013-04-01/hostedzone', host: 'route53.amazonaws.com' }))).toContain('REST-protocol');
    expect(refused(aws({ method: 'GET', path: '/2013-04-01/hostedzone', host: 'route53.amazonaws.com' }))).toContain('REST-protocol'); // no reads known
    const overridden = classifyAws({ host: 'ec2.us-east-1.amazonaws.com', method: 'POST', url: new URL('https://aws/'), headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00', 'content-type': 'application/x-www-form-urlencoded', 'x-http-method-override': 'DELETE' }, body: Buffer.from('Action=DescribeInstances') }, { host: 'ec2.us-east-1.amazonaws.com', accountId: '1' });
    expect(refused(overridden)).toContain('x-http-method-override header is refused'); // as for Kubernetes
    expect(refused(aws({ form: 'Action=TerminateInstances&InstanceId.1=i-1', accountId: undefined }))).toContain('aws.accountId');
    const elsewhere = classifyAws({ host: 'ec2.us-west-2.amazonaws.com', method: 'POST', url: new URL('https://aws/'), headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00', 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('Action=DeleteVpc&VpcId=vpc-1') }, { host: 'ec2.us-west-2.amazonaws.com', accountId: '1' });
    expect(refused(elsewhere)).toContain('signed for ec2 in us-east-1 but addressed to ec2.us-west-2');
  });

  it('takes the protocol from the service, never from client hints', () => {
    const refused = (c: ReturnType<typeof aws>) => (c.kind === 'unsupported' ? c.error.message : `not refused: ${c.kind}`);
    // an X-Amz-Target naming a read on a Query service, with a mutating Action in the query string
    expect(refused(aws({ path: '/?Action=TerminateInstances&InstanceId.1=i-1', target: 'x.DescribeInstances', json: {} }))).toContain('X-Amz-Target header is not allowed');
    // a form body under a content type seb does not read
    const hidden = classifyAws({ host: 'ec2.us-east-1.amazonaws.com', method: 'POST', url: new URL('https://aws/?Action=DescribeRegions'), headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00', 'content-type': 'text/plain' }, body: Buffer.from('Action=TerminateInstances&InstanceId.1=i-1') }, { host: 'ec2.us-east-1.amazonaws.com', accountId: '1' });
    expect(refused(hidden)).toContain('form-encoded');
    const s3 = (method: string, extra: Record<string, string>, path = '/bucket/key') => classifyAws({ host: 's3.us-east-1.amazonaws.com', method, url: new URL(path, 'https://aws'), headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00', ...extra }, body: Buffer.alloc(0) }, { host: 's3.us-east-1.amazonaws.com', accountId: '1' });
    expect(s3('DELETE', { 'x-amz-target': 'x.GetObject' }).kind).toBe('unsupported');
    expect(s3('PUT', {}, '/bucket/key?Action=GetX').kind).toBe('unsupported');
    expect(s3('GET', {}).kind).toBe('read');
    const apiGateway = classifyAws({ host: 'abc.execute-api.us-east-1.amazonaws.com', method: 'GET', url: new URL('https://aws/prod/run'), headers: {}, body: Buffer.alloc(0) }, { host: 'abc.execute-api.us-east-1.amazonaws.com', accountId: '1' });
    expect(apiGateway.kind).toBe('unsupported'); // a GET there runs customer code
    expect(aws({ form: 'Action=BatchGetSecretValue' }).kind).not.toBe('read');
  });

  it('parses Query lists and rejects malformed names', () => {
    expect(queryProtocolParams(new URLSearchParams(), Buffer.from('Action=Xy&Tag.member.1.Key=a&Tag.member.2.Key=b'), 'application/x-www-form-urlencoded')).toEqual({ ok: true, action: 'Xy', params: { Tag: [{ Key: 'a' }, { Key: 'b' }] } });
    expect(queryProtocolParams(new URLSearchParams(), Buffer.from('Action=Xy&A.__proto__.b=1'), 'application/x-www-form-urlencoded').ok).toBe(false);
    expect(queryProtocolParams(new URLSearchParams(), Buffer.from('Action=Xy&A=1&A.B=2'), 'application/x-www-form-urlencoded').ok).toBe(false);
  });
});
