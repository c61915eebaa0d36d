// The AWS execution path: seb verifies the agent's SigV4 signature against the placeholder credentials it issued,
// re-signs reads with its own credentials, and executes a certified mutation with an STS session of the executor
// role scoped to exactly that change. End to end against moto with IAM enforcement on: the agent's own
// credentials cannot mutate, and moto accepts seb's re-signing with the minted session.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assumeExecutorRole, createSts, sessionName, sessionPolicy, tagValue } from '../platforms/aws/mint.ts';
import { loadConfig } from '../config/load.ts';
import { signRequest, verifyAgentSignature, type SignableRequest } from '../platforms/aws/sigv4.ts';
import type { VerifiedCertificate } from '../certs/sab/verify.ts';
import { awsQuery, sha256, xmlField } from './helpers/aws-query.ts';
import { createTestSab, type TestSab } from './helpers/sab.ts';
import { startTestSeb, tempDir, type TestSeb } from './helpers/seb.ts';
import { requireCommand, startMoto, type Moto } from './helpers/services.ts';
import { REPO_ROOT, run, runSeb } from './helpers/run.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';

const AGENT_KEY = { accessKeyId: 'AKIASEBAGENTPLACEHOLDER', secretAccessKey: 'seb-placeholder-agent-secret-0123456789' };
const HOST = 'ec2.us-east-1.amazonaws.com';

/** A request signed by @smithy/signature-v4 itself, as seb receives it (lower-case headers, no Host). */
async function smithySigned(body: string, opts: { key?: typeof AGENT_KEY; date?: Date; headers?: Record<string, string>; path?: string; applyChecksum?: boolean } = {}): Promise<SignableRequest & { signedHeaders: Record<string, string> }> {
  const signer = new SignatureV4({ service: 'ec2', region: 'us-east-1', credentials: opts.key ?? AGENT_KEY, sha256, applyChecksum: opts.applyChecksum ?? true });
  const signed = await signer.sign({
    method: 'POST', protocol: 'https:', hostname: HOST, path: opts.path ?? '/', query: {},
    headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...opts.headers }, body,
  }, { signingDate: opts.date ?? new Date() });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') headers[k.toLowerCase()] = v;
  return { method: 'POST', url: new URL(opts.path ?? '/', 'http://origin.invalid'), headers, body: Buffer.from(body), signedHeaders: signed.headers };
}

describe('SigV4 verification and re-signing', () => {
  const body = 'Action=DescribeSecurityGroups&Version=2016-11-15';
  const now = () => Date.now() / 1000;

  it('re-signs exactly as @smithy/signature-v4 signs', async () => {
    const date = new Date('2026-07-01T12:00:00Z');
    const creds = { accessKeyId: 'ASIAEXECUTOR000000001', secretAccessKey: 'executor-secret', sessionToken: 'token-of-the-session' };
    const req: SignableRequest = { method: 'POST', url: new URL('/', 'http://x'), headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', authorization: 'AWS4-HMAC-SHA256 stale', 'x-amz-date': '20200101T000000Z', 'x-amz-content-sha256': 'aa'.repeat(32) }, body: Buffer.from(body) };
    const ours = signRequest(req, { credentials: creds, host: HOST, region: 'us-east-1', service: 'ec2', date });
    const reference = await new SignatureV4({ service: 'ec2', region: 'us-east-1', credentials: creds, sha256 }).sign({
      method: 'POST', protocol: 'https:', hostname: HOST, path: '/', query: {},
      headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
    }, { signingDate: date });
    expect(ours.authorization).toBe(reference.headers.authorization);
    expect(ours['x-amz-security-token']).toBe('token-of-the-session');
    expect(ours['x-amz-date']).toBe('20260701T120000Z');
  });

  it('accepts the agent\'s signature made with the placeholder credentials', async () => {
    const req = await smithySigned(body);
    expect(verifyAgentSignature(req, { key: AGENT_KEY, hostHeader: HOST, now: now() })).toBeUndefined();
    const unsigned = await smithySigned(body, { headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expect(verifyAgentSignature(unsigned, { key: AGENT_KEY, hostHeader: HOST, now: now() })).toBeUndefined();
  });

  it('refuses a wrong secret, an unknown key, an altered body, another Host, a stale date', async () => {
    const verify = (req: SignableRequest, hostHeader = HOST) => verifyAgentSignature(req, { key: AGENT_KEY, hostHeader, now: now() })?.message;
    expect(verify(await smithySigned(body, { key: { ...AGENT_KEY, secretAccessKey: 'wrong-secret-wrong-secret' } }))).toMatch(/signature does not match/);
    expect(verify(await smithySigned(body, { key: { ...AGENT_KEY, accessKeyId: 'AKIAOTHERKEY00000000' } }))).toMatch(/unknown access key AKIAOTHERKEY00000000/);
    const altered = await smithySigned(body);
    expect(verify({ ...altered, body: Buffer.from(body.replace('Describe', 'Delete')) })).toMatch(/x-amz-content-sha256 does not match the body received/);
    const { 'x-amz-content-sha256': _, ...withoutHash } = altered.headers;
    expect(verify({ ...altered, headers: withoutHash })).toMatch(/signed header x-amz-content-sha256 is missing/);
    const bare = await smithySigned(body, { applyChecksum: false }); // as botocore signs EC2: the body's hash is only inside the signature
    expect(bare.headers['x-amz-content-sha256']).toBeUndefined();
    expect(verify(bare)).toBeUndefined();
    expect(verify({ ...bare, body: Buffer.from(body.replace('Describe', 'Delete')) })).toMatch(/signature does not match/);
    expect(verify(await smithySigned(body, { headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }), 'ec2.eu-west-1.amazonaws.com')).toMatch(/signature does not match/);
    expect(verify(await smithySigned(body, { date: new Date(Date.now() - 20 * 60_000) }))).toMatch(/more than 15 minutes/);
    expect(verify({ ...altered, headers: { ...altered.headers, authorization: undefined } })).toMatch(/no SigV4 Authorization/);
  });

  it('refuses presigned and chunk-signed requests with their own reasons', async () => {
    const req = await smithySigned(body);
    const presigned = verifyAgentSignature({ ...req, url: new URL('/?X-Amz-Signature=00&X-Amz-Credential=x', 'http://x') }, { key: AGENT_KEY, hostHeader: HOST, now: now() });
    expect(presigned?.message).toMatch(/presigned AWS requests/);
    expect(presigned?.code).toBe('SEB_PRESIGNED_UNSUPPORTED');
    const streaming = verifyAgentSignature({ ...req, headers: { ...req.headers, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } }, { key: AGENT_KEY, hostHeader: HOST, now: now() });
    expect(streaming).toMatchObject({ code: 'SEB_STREAMING_UNSUPPORTED', message: expect.stringMatching(/chunk-signed uploads/) });
  });

  it('scopes the session policy to the certified action and resources until the certificate expires', () => {
    const cert = { payload: { cid: 'c1d2', nonce: 'n_o-nce', exp: 1_800_000_000, contract: { platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: ['arn:aws:ec2:us-east-1:123456789012:security-group/sg-1'], params: {} } } } as unknown as VerifiedCertificate;
    expect(JSON.parse(sessionPolicy(cert))).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'SebCertifiedChange', Effect: 'Allow', Action: 'ec2:AuthorizeSecurityGroupIngress', Resource: ['arn:aws:ec2:us-east-1:123456789012:security-group/sg-1'], Condition: { DateLessThan: { 'aws:CurrentTime': '2027-01-15T08:00:00Z' } } }],
    });
    expect(sessionName('a'.repeat(80))).toHaveLength(64);
    expect(sessionName('abc/def')).toBe(`seb-${Buffer.from('abc/def').toString('hex')}`);
    expect(tagValue('AZaz09_-')).toBe('AZaz09_-');
    expect(tagValue('a*b')).toBe(`hex:${Buffer.from('a*b').toString('hex')}`);
  });
});

describe('aws configuration', () => {
  it('takes the agent, executor and seb credentials from the environment, in pairs', () => {
    const env = { SEB_AWS_AGENT_ACCESS_KEY_ID: AGENT_KEY.accessKeyId, SEB_AWS_AGENT_SECRET_ACCESS_KEY: AGENT_KEY.secretAccessKey, SEB_AWS_EXECUTOR_ROLE_ARN: 'arn:aws:iam::123456789012:role/seb-executor' };
    const loaded = loadConfig({}, env);
    expect(loaded.ok && loaded.value.aws).toEqual({ agentAccessKeyId: AGENT_KEY.accessKeyId, agentSecretAccessKey: AGENT_KEY.secretAccessKey, executorRoleArn: 'arn:aws:iam::123456789012:role/seb-executor', readWithAgentCredentials: false });
    const half = loadConfig({}, { SEB_AWS_ACCESS_KEY_ID: 'AKIASEBBROKER0000000' });
    expect(!half.ok && half.error).toMatch(/aws\.sebSecretAccessKey: sebAccessKeyId and sebSecretAccessKey are set together or not at all/);
    const badRole = loadConfig({}, { SEB_AWS_EXECUTOR_ROLE_ARN: 'seb-executor' });
    expect(!badRole.ok && badRole.error).toMatch(/aws\.executorRoleArn: expected an IAM role ARN/);
  });
});

const skipReason = requireCommand('moto_server', 'moto (AWS emulator)') ?? requireCommand('aws', 'the AWS CLI');
const ACCOUNT = '123456789012';
const SUBJECT = 'agent-aws-mint';

describe.skipIf(skipReason !== undefined)('certified AWS mutations execute under a minted STS session (moto with IAM enforcement)', () => {
  let moto: Moto;
  let seb: TestSeb;
  let sab: TestSab;
  let dir: string;
  let agentEnv: Record<string, string>;
  let groupId: string;
  let agentOwn: { accessKeyId: string; secretAccessKey: string };
  let seb_: { accessKeyId: string; secretAccessKey: string };
  const root = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/seb-executor`;

  beforeAll(async () => {
    // Exactly this many calls run unauthenticated; from then on moto checks signatures and IAM policies.
    const SETUP_CALLS = 9;
    moto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: String(SETUP_CALLS) });
    const iam = async (action: string, params: Record<string, string>) => {
      const r = await awsQuery(moto.url, { service: 'iam', credentials: root, action, params });
      if (r.status !== 200) throw new Error(`${action}: ${r.status} ${r.body}`);
      return r.body;
    };
    const policy = (statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statement });
    await iam('CreateUser', { UserName: 'seb-broker' });
    await iam('PutUserPolicy', { UserName: 'seb-broker', PolicyName: 'broker', PolicyDocument: policy([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn }, { Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }]) });
    const sebKeys = await iam('CreateAccessKey', { UserName: 'seb-broker' });
    await iam('CreateUser', { UserName: 'agent' });
    await iam('PutUserPolicy', { UserName: 'agent', PolicyName: 'read-only', PolicyDocument: policy([{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }]) });
    const agentKeys = await iam('CreateAccessKey', { UserName: 'agent' });
    await iam('CreateRole', { RoleName: 'seb-executor', AssumeRolePolicyDocument: policy([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/seb-broker` }, Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'] }]) });
    await iam('PutRolePolicy', { RoleName: 'seb-executor', PolicyName: 'execute', PolicyDocument: policy([{ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }]) });
    const sg = await awsQuery(moto.url, { service: 'ec2', credentials: root, action: 'CreateSecurityGroup', params: { GroupName: 'seb-target', GroupDescription: 'target of the certified change' } });
    groupId = xmlField(sg.body, 'groupId')!;
    expect(groupId, sg.body).toMatch(/^sg-/);
    seb_ = { accessKeyId: xmlField(sebKeys, 'AccessKeyId')!, secretAccessKey: xmlField(sebKeys, 'SecretAccessKey')! };
    agentOwn = { accessKeyId: xmlField(agentKeys, 'AccessKeyId')!, secretAccessKey: xmlField(agentKeys, 'SecretAccessKey')! };

    dir = await tempDir();
    sab = await createTestSab(dir, SUBJECT);
    seb = await startTestSeb({
      upstreams: { aws: moto.url }, trust: { file: sab.trustFile }, agent: { subject: SUBJECT },
      aws: { accountId: ACCOUNT, agentAccessKeyId: AGENT_KEY.accessKeyId, agentSecretAccessKey: AGENT_KEY.secretAccessKey, executorRoleArn: roleArn, sebAccessKeyId: seb_.accessKeyId, sebSecretAccessKey: seb_.secretAccessKey },
    });
    const out = await runSeb(['agent-env', '--format', 'json', '--state-dir', seb.stateDir, '--proxy-listen', `127.0.0.1:${seb.proxyPort}`]);
    expect(out.code, out.stderr).toBe(0);
    agentEnv = JSON.parse(out.stdout) as Record<string, string>;
  }, 30_000);
  afterAll(async () => {
    await seb?.stop();
    await moto?.stop();
  });

  const aws = (args: string[], key: { accessKeyId: string; secretAccessKey: string } = AGENT_KEY) => run('aws', [...args, '--output', 'json'], {
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, ...agentEnv,
      AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  });
  const permission = { IpProtocol: 'tcp', FromPort: '443', ToPort: '443', IpRanges: [{ CidrIp: '10.20.0.0/16' }] };
  const ingressArgs = () => ['ec2', 'authorize-security-group-ingress', '--group-id', groupId, '--ip-permissions', 'IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=10.20.0.0/16}]'];

  it('moto enforces IAM: the agent\'s own credentials cannot make the change directly', async () => {
    const direct = await awsQuery(moto.url, { service: 'ec2', credentials: agentOwn, action: 'AuthorizeSecurityGroupIngress', params: { GroupId: groupId, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': '443', 'IpPermissions.1.ToPort': '443', 'IpPermissions.1.IpRanges.1.CidrIp': '10.20.0.0/16' } });
    expect(direct.status).toBe(403);
    expect(direct.body).toMatch(/AccessDenied|UnauthorizedOperation/);
    const read = await awsQuery(moto.url, { service: 'ec2', credentials: agentOwn, action: 'DescribeSecurityGroups' });
    expect(read.status, read.body).toBe(200);
    const placeholder = await awsQuery(moto.url, { service: 'ec2', credentials: AGENT_KEY, action: 'DescribeSecurityGroups' });
    expect(placeholder.status).not.toBe(200); // the placeholder is worthless without seb
  });

  it('a read with the placeholder credentials passes, re-signed with seb\'s own', async () => {
    const described = await aws(['ec2', 'describe-security-groups', '--group-ids', groupId]);
    expect(described.code, described.stderr).toBe(0);
    expect((JSON.parse(described.stdout) as { SecurityGroups: Array<{ GroupName: string }> }).SecurityGroups.map((g) => g.GroupName)).toEqual(['seb-target']);
  });

  it('a request signed with a wrong agent secret is refused by seb', async () => {
    const refused = await aws(['ec2', 'describe-security-groups'], { ...AGENT_KEY, secretAccessKey: 'not-the-placeholder-secret' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/An error occurred \(SEB_AGENT_AUTH\) when calling the DescribeSecurityGroups operation: AWS request authentication failed: the SigV4 signature does not match/);
    const unknown = await aws(['ec2', 'describe-security-groups'], agentOwn);
    expect(unknown.stderr).toMatch(/SEB_AGENT_AUTH.*unknown access key/);
  });

  it('the mutation without a certificate is refused', async () => {
    const refused = await aws(ingressArgs());
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/An error occurred \(SEB_CERT_MISSING\) when calling the AuthorizeSecurityGroupIngress operation/);
  });

  it('with a staged certificate it executes under the minted session, and moto shows the rule', async () => {
    const cert = sab.issue({ platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [`arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${groupId}`], params: { GroupId: groupId, IpPermissions: [permission] }, risk: 'low' });
    await writeFile(path.join(dir, 'cert.txt'), cert);
    const staged = await runSeb(['cert', 'stage', path.join(dir, 'cert.txt'), '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')]);
    expect(staged.code, staged.stderr).toBe(0);
    const executed = await aws(ingressArgs());
    expect(executed.code, executed.stderr).toBe(0);
    const line = seb.logs.find((l) => l.operation === 'AuthorizeSecurityGroupIngress' && l.outcome === 'executed');
    expect(line).toMatchObject({ status: 200, mutation: true, principal: expect.stringMatching(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/seb-executor/seb-`)), credentialId: expect.stringMatching(/^ASIA/) });
    const described = await aws(['ec2', 'describe-security-groups', '--group-ids', groupId]);
    const rules = (JSON.parse(described.stdout) as { SecurityGroups: Array<{ IpPermissions: Array<{ FromPort: number; IpRanges: Array<{ CidrIp: string }> }> }> }).SecurityGroups[0]!.IpPermissions;
    expect(rules).toContainEqual(expect.objectContaining({ FromPort: 443, IpRanges: [expect.objectContaining({ CidrIp: '10.20.0.0/16' })] }));
  });

  it('the same certificate again is a replay; a certificate for port 443 used for port 22 is a contract mismatch', async () => {
    const again = await runSeb(['cert', 'stage', path.join(dir, 'cert.txt'), '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')]);
    expect(again.code, again.stderr).toBe(0);
    expect((await aws(ingressArgs())).stderr).toMatch(/An error occurred \(SEB_REPLAY\)/);
    const for443 = sab.issue({ platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [`arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${groupId}`], params: { GroupId: groupId, IpPermissions: [{ ...permission, IpRanges: [{ CidrIp: '10.30.0.0/16' }] }] }, risk: 'low' });
    await writeFile(path.join(dir, 'cert443.txt'), for443);
    expect((await runSeb(['cert', 'stage', path.join(dir, 'cert443.txt'), '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')])).code).toBe(0);
    const port22 = await aws(['ec2', 'authorize-security-group-ingress', '--group-id', groupId, '--ip-permissions', 'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.30.0.0/16}]']);
    expect(port22.stderr).toMatch(/SEB_CONTRACT_MISMATCH\).*FromPort/);
  });

  it('an @aws-sdk/client-ec2 agent in endpoint mode, with the placeholder keys and the certificate in a header, executes', async () => {
    const cert = sab.issue({ platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [`arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${groupId}`], params: { GroupId: groupId, IpPermissions: [{ ...permission, IpRanges: [{ CidrIp: '10.40.0.0/16' }] }] }, risk: 'low' });
    const script = `
      import { EC2Client, AuthorizeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
      const ec2 = new EC2Client({});
      ec2.middlewareStack.add((next) => (args) => { args.request.headers['seb-certificate'] = process.argv[2]; return next(args); }, { step: 'build' });
      const out = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: process.argv[3], IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.40.0.0/16' }] }] }));
      console.log(JSON.stringify({ ok: out.Return }));
    `;
    const file = path.join(REPO_ROOT, 'node_modules', '.seb-aws-mint-endpoint.mjs');
    await writeFile(file, script);
    const out = await run(process.execPath, [file, cert, groupId], {
      env: {
        PATH: process.env.PATH, AWS_ENDPOINT_URL: `https://127.0.0.1:${seb.endpointPort}`, NODE_EXTRA_CA_CERTS: path.join(seb.stateDir, 'ca', 'ca.crt'),
        AWS_ACCESS_KEY_ID: AGENT_KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: AGENT_KEY.secretAccessKey, AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ ok: true });
    expect(seb.logs).toContainEqual(expect.objectContaining({ via: 'endpoint', operation: 'AuthorizeSecurityGroupIngress', outcome: 'executed', credentialId: expect.stringMatching(/^ASIA/) }));
  });

  it('a role seb may not assume is SEB_MINT_FAILED, naming STS\'s answer', async () => {
    const cert = { payload: { cid: 'cid-x', nonce: 'nonce-x', exp: Math.floor(Date.now() / 1000) + 300, contract: { platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: ['arn:aws:ec2:us-east-1:123456789012:security-group/sg-1'], params: {} } } } as unknown as VerifiedCertificate;
    const minted = await assumeExecutorRole(createSts({ endpoint: moto.url, credentials: seb_ }), `arn:aws:iam::${ACCOUNT}:role/not-the-executor`, cert, 'us-east-1');
    expect(minted).toMatchObject({ ok: false, error: { code: 'SEB_MINT_FAILED', message: expect.stringMatching(/AssumeRole on arn:aws:iam::123456789012:role\/not-the-executor failed: AccessDenied/) } });
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(seb);
    expect(seb.audit.length).toBeGreaterThan(0);
  });
});
