// REST-protocol mutations end to end: S3 through seb with the real AWS CLI, judged by moto with IAM enforcement
// on. The CLI sends PutObject as STREAMING-UNSIGNED-PAYLOAD-TRAILER (an aws-chunked body with a trailing CRC32):
// seb decodes it to judge the content, re-signs the request with the minted executor session, and moto stores the
// object — while the agent's own credentials cannot write at all.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contract } from '../certs/sab/index.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';
import { awsQuery, xmlField } from './helpers/aws-query.ts';
import { run, runSeb } from './helpers/run.ts';
import { createTestSab, type TestSab } from './helpers/sab.ts';
import { startTestSeb, tempDir, type TestSeb } from './helpers/seb.ts';
import { requireCommand, startMoto, type Moto } from './helpers/services.ts';

const AGENT_KEY = { accessKeyId: 'AKIASEBAGENTPLACEHOLDER', secretAccessKey: 'seb-placeholder-agent-secret-0123456789' };
const ACCOUNT = '123456789012';
const SUBJECT = 'agent-aws-rest';
const BUCKET = 'seb-rest-e2e';
const skipReason = requireCommand('moto_server', 'moto (AWS emulator)') ?? requireCommand('aws', 'the AWS CLI');

// Each test runs the AWS CLI (a Python start-up of seconds on a loaded machine) several times.
describe.skipIf(skipReason !== undefined)('S3 mutations through seb execute under a minted session (moto with IAM enforcement)', { timeout: 60_000 }, () => {
  let moto: Moto;
  let seb: TestSeb;
  let sab: TestSab;
  let dir: string;
  let agentEnv: Record<string, string>;
  let agentOwn: { accessKeyId: string; secretAccessKey: string };
  const root = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/seb-executor`;
  const report = 'region,revenue\neu,1200\nus,3400\n';

  beforeAll(async () => {
    const SETUP_CALLS = 8; // from then on moto checks signatures and IAM policies
    moto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: String(SETUP_CALLS) });
    const iam = async (action: string, params: Record<string, string>) => {
      const r = await awsQuery(moto.url, { service: 'iam', credentials: root, action, params });
      if (r.status !== 200) throw new Error(`${action}: ${r.status} ${r.body}`);
      return r.body;
    };
    const policy = (statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statement });
    const s3Read = { Effect: 'Allow', Action: ['s3:Get*', 's3:List*'], Resource: '*' };
    await iam('CreateUser', { UserName: 'seb-broker' });
    await iam('PutUserPolicy', { UserName: 'seb-broker', PolicyName: 'broker', PolicyDocument: policy([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn }, s3Read]) });
    const sebKeys = await iam('CreateAccessKey', { UserName: 'seb-broker' });
    await iam('CreateUser', { UserName: 'agent' });
    await iam('PutUserPolicy', { UserName: 'agent', PolicyName: 'read-only', PolicyDocument: policy([s3Read]) });
    const agentKeys = await iam('CreateAccessKey', { UserName: 'agent' });
    await iam('CreateRole', { RoleName: 'seb-executor', AssumeRolePolicyDocument: policy([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/seb-broker` }, Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'] }]) });
    await iam('PutRolePolicy', { RoleName: 'seb-executor', PolicyName: 'execute', PolicyDocument: policy([{ Effect: 'Allow', Action: 's3:*', Resource: '*' }]) });
    const sebOwn = { accessKeyId: xmlField(sebKeys, 'AccessKeyId')!, secretAccessKey: xmlField(sebKeys, 'SecretAccessKey')! };
    agentOwn = { accessKeyId: xmlField(agentKeys, 'AccessKeyId')!, secretAccessKey: xmlField(agentKeys, 'SecretAccessKey')! };

    dir = await tempDir();
    await writeFile(path.join(dir, 'q3.csv'), report);
    sab = await createTestSab(dir, SUBJECT);
    seb = await startTestSeb({
      upstreams: { aws: moto.url }, trust: { file: sab.trustFile }, agent: { subject: SUBJECT },
      aws: { accountId: ACCOUNT, agentAccessKeyId: AGENT_KEY.accessKeyId, agentSecretAccessKey: AGENT_KEY.secretAccessKey, executorRoleArn: roleArn, sebAccessKeyId: sebOwn.accessKeyId, sebSecretAccessKey: sebOwn.secretAccessKey },
    });
    const out = await runSeb(['agent-env', '--format', 'json', '--state-dir', seb.stateDir, '--proxy-listen', `127.0.0.1:${seb.proxyPort}`]);
    expect(out.code, out.stderr).toBe(0);
    agentEnv = JSON.parse(out.stdout) as Record<string, string>;
  }, 60_000);
  afterAll(async () => {
    await seb?.stop();
    await moto?.stop();
  });

  const baseEnv = (key: { accessKeyId: string; secretAccessKey: string }) => ({
    PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });
  /** The AWS CLI as the agent runs it: through seb, with the placeholder keys. */
  const aws = (args: string[]) => run('aws', [...args, '--output', 'json'], { env: { ...baseEnv(AGENT_KEY), ...agentEnv } });
  /** The AWS CLI straight at moto with the agent's own (read-only) keys. */
  const direct = (args: string[]) => run('aws', [...args, '--output', 'json', '--endpoint-url', moto.url], { env: baseEnv(agentOwn) });
  /** Stages a certificate through seb's local API (what `seb cert stage` does), returning it. */
  const stage = async (contract: Contract | string) => {
    const cert = typeof contract === 'string' ? contract : sab.issue(contract);
    const token = (await readFile(path.join(seb.stateDir, 'admin.token'), 'utf8')).trim();
    const res = await fetch(`${seb.adminUrl}/v1/certificates`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: cert });
    expect(res.status, await res.text()).toBe(201);
    return cert;
  };
  const digest = (text: string) => ({ sha256: createHash('sha256').update(text).digest('hex'), length: Buffer.byteLength(text) });
  const putContract = (key: string, content: string, headers: Record<string, string> = {}): Contract => ({
    platform: 'aws', operation: 's3:PutObject', targets: [`arn:aws:s3:::${BUCKET}/${key}`], risk: 'low',
    params: { Bucket: BUCKET, Key: key, ...(Object.keys(headers).length > 0 ? { Headers: headers } : {}), Body: digest(content) },
  });

  it('the agent\'s own credentials cannot create a bucket at moto (bypass gains nothing)', async () => {
    const denied = await direct(['s3api', 'create-bucket', '--bucket', BUCKET]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/AccessDenied/);
  });

  it('PutObject without a certificate is refused with SEB_CERT_MISSING', async () => {
    const refused = await aws(['s3api', 'put-object', '--bucket', BUCKET, '--key', 'reports/q3.csv', '--body', path.join(dir, 'q3.csv')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/An error occurred \(SEB_CERT_MISSING\) when calling the PutObject operation/);
  });

  it('a certified CreateBucket executes under the minted session', async () => {
    await stage({ platform: 'aws', operation: 's3:CreateBucket', targets: [`arn:aws:s3:::${BUCKET}`], params: { Bucket: BUCKET }, risk: 'low' });
    const created = await aws(['s3api', 'create-bucket', '--bucket', BUCKET]);
    expect(created.code, created.stderr).toBe(0);
    expect(seb.logs).toContainEqual(expect.objectContaining({ outcome: 'executed', status: 200, principal: expect.stringMatching(/assumed-role\/seb-executor\//) }));
  });

  it('a certified PutObject (aws-chunked, trailing CRC32) executes, and moto stores exactly the certified bytes', async () => {
    await stage(putContract('reports/q3.csv', report));
    const put = await aws(['s3api', 'put-object', '--bucket', BUCKET, '--key', 'reports/q3.csv', '--body', path.join(dir, 'q3.csv')]);
    expect(put.code, put.stderr).toBe(0);
    const line = seb.logs.find((l) => l.outcome === 'executed' && l.method === 'PUT' && String(l.path).endsWith('/reports/q3.csv'));
    expect(line).toMatchObject({ status: 200, mutation: true, principal: expect.stringMatching(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/seb-executor/seb-`)), credentialId: expect.stringMatching(/^ASIA/) });
    const out = path.join(dir, 'fetched.csv');
    const fetched = await direct(['s3api', 'get-object', '--bucket', BUCKET, '--key', 'reports/q3.csv', out]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(report);
  });

  it('the same certificate again is a replay; a certificate for other bytes is a contract mismatch', async () => {
    const cert = await stage(putContract('reports/q3.csv', report));
    expect((await aws(['s3api', 'put-object', '--bucket', BUCKET, '--key', 'reports/q3.csv', '--body', path.join(dir, 'q3.csv')])).code).toBe(0);
    await stage(cert);
    expect((await aws(['s3api', 'put-object', '--bucket', BUCKET, '--key', 'reports/q3.csv', '--body', path.join(dir, 'q3.csv')])).stderr).toMatch(/An error occurred \(SEB_REPLAY\)/);
    await stage(putContract('reports/q3.csv', 'region,revenue\neu,9999\n'));
    const other = await aws(['s3api', 'put-object', '--bucket', BUCKET, '--key', 'reports/q3.csv', '--body', path.join(dir, 'q3.csv')]);
    expect(other.stderr).toMatch(/SEB_CONTRACT_MISMATCH\).*\/Body\/(length|sha256)/);
  });

  it('aws s3 cp with a certificate executes; a read through seb lists the objects', async () => {
    await stage(putContract('copies/q3.csv', report, { 'content-type': 'text/csv' }));
    const copied = await aws(['s3', 'cp', path.join(dir, 'q3.csv'), `s3://${BUCKET}/copies/q3.csv`]);
    expect(copied.code, copied.stderr).toBe(0);
    const listed = await aws(['s3api', 'list-objects-v2', '--bucket', BUCKET]);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { Contents: Array<{ Key: string }> }).Contents.map((c) => c.Key).sort()).toEqual(['copies/q3.csv', 'reports/q3.csv']);
  });

  it('the agent\'s own credentials cannot write the object directly either', async () => {
    const denied = await direct(['s3api', 'put-object', '--bucket', BUCKET, '--key', 'reports/q3.csv', '--body', path.join(dir, 'q3.csv')]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/AccessDenied/);
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(seb);
    expect(seb.audit.length).toBeGreaterThan(0);
  });
});
