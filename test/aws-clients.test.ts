// The real AWS CLI and boto3, configured only by `seb agent-env`, reach moto_server through seb's TLS
// interception: reads and writes succeed and seb's log names each decrypted operation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';
import { requireCommand, startMoto, type Moto } from './helpers/services.ts';
import { run, runSeb } from './helpers/run.ts';

const skipReason = requireCommand('moto_server', 'moto (AWS emulator)') ?? requireCommand('aws', 'the AWS CLI');

describe.skipIf(skipReason !== undefined)('AWS CLI and boto3 through seb (moto upstream)', () => {
  let moto: Moto;
  let seb: TestSeb;
  let agentEnv: Record<string, string>;

  beforeAll(async () => {
    moto = await startMoto();
    seb = await startTestSeb({ upstreams: { aws: moto.url } });
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

  it('agent-env names the proxy and the CA bundle', () => {
    expect(agentEnv.HTTPS_PROXY).toBe(`http://127.0.0.1:${seb.proxyPort}`);
    for (const key of ['AWS_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'NO_PROXY']) expect(agentEnv[key]).toBeTruthy();
  });

  it('aws ec2 describe-security-groups and create-security-group succeed, and seb logs the operations', async () => {
    const created = await run('aws', ['ec2', 'create-security-group', '--group-name', 'seb-cli', '--description', 'made through seb', '--output', 'json'], { env: clientEnv() });
    expect(created.code, created.stderr).toBe(0);
    const groupId = (JSON.parse(created.stdout) as { GroupId: string }).GroupId;
    expect(groupId).toMatch(/^sg-/);

    const described = await run('aws', ['ec2', 'describe-security-groups', '--group-ids', groupId, '--output', 'json'], { env: clientEnv() });
    expect(described.code, described.stderr).toBe(0);
    const groups = (JSON.parse(described.stdout) as { SecurityGroups: Array<{ GroupName: string }> }).SecurityGroups;
    expect(groups.map((g) => g.GroupName)).toEqual(['seb-cli']);

    const requests = seb.logs.filter((l) => l.msg === 'request' && l.platform === 'aws');
    expect(requests).toContainEqual(expect.objectContaining({ via: 'connect', host: 'ec2.us-east-1.amazonaws.com:443', service: 'ec2', region: 'us-east-1', operation: 'CreateSecurityGroup', status: 200, outcome: 'forwarded' }));
    expect(requests).toContainEqual(expect.objectContaining({ operation: 'DescribeSecurityGroups', status: 200, outcome: 'forwarded' }));
  });

  it('boto3 does the same', async () => {
    const script = [
      'import boto3, json',
      "ec2 = boto3.client('ec2', region_name='us-east-1')",
      "gid = ec2.create_security_group(GroupName='seb-boto3', Description='made through seb')['GroupId']",
      "names = [g['GroupName'] for g in ec2.describe_security_groups(GroupIds=[gid])['SecurityGroups']]",
      'print(json.dumps({"gid": gid, "names": names}))',
    ].join('\n');
    const out = await run('python3', ['-c', script], { env: clientEnv() });
    expect(out.code, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout) as { gid: string; names: string[] };
    expect(result.names).toEqual(['seb-boto3']);
    const ops = seb.logs.filter((l) => l.msg === 'request').map((l) => l.operation);
    expect(ops.filter((o) => o === 'CreateSecurityGroup').length).toBeGreaterThanOrEqual(2);
  });
});
