// The real AWS CLI and boto3, configured only by `seb agent-env`, reach moto_server through seb's TLS
// interception: reads pass, a mutation without a certificate is refused in the CLI's own error format, and the
// same mutation with a certificate (staged, or in the Seb-Certificate header) executes; seb logs each operation.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeb, tempDir, type TestSeb } from './helpers/seb.ts';
import { createTestSab, type TestSab } from './helpers/sab.ts';
import { requireCommand, startMoto, type Moto } from './helpers/services.ts';
import { run, runSeb } from './helpers/run.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';

const skipReason = requireCommand('moto_server', 'moto (AWS emulator)') ?? requireCommand('aws', 'the AWS CLI');
const ACCOUNT = '123456789012'; // moto's default account
const SUBJECT = 'agent-aws';

describe.skipIf(skipReason !== undefined)('AWS CLI and boto3 through seb (moto upstream)', () => {
  let moto: Moto;
  let seb: TestSeb;
  let sab: TestSab;
  let dir: string;
  let agentEnv: Record<string, string>;
  const createContract = (name: string) => ({
    platform: 'aws' as const,
    operation: 'ec2:CreateSecurityGroup',
    targets: [`arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/*`],
    params: { GroupName: name, GroupDescription: 'made through seb' }, // wire names, as the Query protocol sends them
    risk: 'low' as const,
  });

  beforeAll(async () => {
    moto = await startMoto();
    dir = await tempDir();
    sab = await createTestSab(dir, SUBJECT);
    seb = await startTestSeb({ upstreams: { aws: moto.url }, trust: { file: sab.trustFile }, agent: { subject: SUBJECT }, aws: { accountId: ACCOUNT } });
    const out = await runSeb(['agent-env', '--format', 'json', '--state-dir', seb.stateDir, '--proxy-listen', `127.0.0.1:${seb.proxyPort}`]);
    expect(out.code, out.stderr).toBe(0);
    agentEnv = JSON.parse(out.stdout) as Record<string, string>;
  });
  afterAll(async () => {
    await seb?.stop();
    await moto?.stop();
  });

  const clientEnv = () => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...agentEnv,
    AWS_ACCESS_KEY_ID: 'AKIDSEBTESTAGENT',
    AWS_SECRET_ACCESS_KEY: 'agent-secret',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });
  const aws = (...args: string[]) => run('aws', [...args, '--output', 'json'], { env: clientEnv() });

  it('agent-env names the proxy and the CA bundle', () => {
    expect(agentEnv.HTTPS_PROXY).toBe(`http://127.0.0.1:${seb.proxyPort}`);
    for (const key of ['AWS_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'NO_PROXY']) expect(agentEnv[key]).toBeTruthy();
  });

  it('aws ec2 describe-security-groups passes as a read', async () => {
    const described = await aws('ec2', 'describe-security-groups');
    expect(described.code, described.stderr).toBe(0);
    expect((JSON.parse(described.stdout) as { SecurityGroups: unknown[] }).SecurityGroups.length).toBeGreaterThan(0);
    expect(seb.logs).toContainEqual(expect.objectContaining({ msg: 'request', via: 'connect', host: 'ec2.us-east-1.amazonaws.com:443', service: 'ec2', region: 'us-east-1', operation: 'DescribeSecurityGroups', status: 200, outcome: 'forwarded' }));
  });

  it('aws ec2 create-security-group without a certificate is refused, in the CLI\'s error format', async () => {
    const refused = await aws('ec2', 'create-security-group', '--group-name', 'seb-cli', '--description', 'made through seb');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/An error occurred \(SEB_CERT_MISSING\) when calling the CreateSecurityGroup operation: .*seb cert stage/);
    expect(seb.logs).toContainEqual(expect.objectContaining({ operation: 'CreateSecurityGroup', outcome: 'denied', code: 'SEB_CERT_MISSING' }));
  });

  it('with a staged certificate, create-security-group executes, and the certificate is single-use', async () => {
    await writeFile(path.join(dir, 'cert.txt'), sab.issue(createContract('seb-cli')));
    const staged = await runSeb(['cert', 'stage', path.join(dir, 'cert.txt'), '--state-dir', seb.stateDir, '--admin-listen', seb.adminUrl.replace('http://', '')]);
    expect(staged.code, staged.stderr).toBe(0);
    const created = await aws('ec2', 'create-security-group', '--group-name', 'seb-cli', '--description', 'made through seb');
    expect(created.code, created.stderr).toBe(0);
    const groupId = (JSON.parse(created.stdout) as { GroupId: string }).GroupId;
    const described = await aws('ec2', 'describe-security-groups', '--group-ids', groupId);
    expect((JSON.parse(described.stdout) as { SecurityGroups: Array<{ GroupName: string }> }).SecurityGroups.map((g) => g.GroupName)).toEqual(['seb-cli']);
    expect(seb.logs).toContainEqual(expect.objectContaining({ operation: 'CreateSecurityGroup', outcome: 'executed', status: 200, mutation: true }));
    const again = await aws('ec2', 'create-security-group', '--group-name', 'seb-cli', '--description', 'made through seb');
    expect(again.stderr).toContain('SEB_CERT_MISSING');
  });

  it('boto3 sends the certificate in the Seb-Certificate header; a replay is refused', async () => {
    const cert = sab.issue(createContract('seb-boto3'));
    const script = [
      'import boto3, json, sys',
      "ec2 = boto3.client('ec2', region_name='us-east-1')",
      "ec2.meta.events.register('before-sign.ec2.CreateSecurityGroup', lambda request, **kw: request.headers.__setitem__('Seb-Certificate', sys.argv[1]))",
      "gid = ec2.create_security_group(GroupName='seb-boto3', Description='made through seb')['GroupId']",
      "names = [g['GroupName'] for g in ec2.describe_security_groups(GroupIds=[gid])['SecurityGroups']]",
      'try:',
      "    ec2.create_security_group(GroupName='seb-boto3', Description='made through seb')",
      "    replay = 'executed'",
      'except Exception as e:',
      "    replay = e.response['Error']['Code']",
      'print(json.dumps({"names": names, "replay": replay}))',
    ].join('\n');
    const out = await run('python3', ['-c', script, cert], { env: clientEnv() });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ names: ['seb-boto3'], replay: 'SEB_REPLAY' });
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(seb);
    expect(seb.audit.length).toBeGreaterThan(0);
  });
});
