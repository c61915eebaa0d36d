// The AWS sequence from an unmodified boto3 agent holding only seb's placeholder keys, through HTTPS_PROXY, against
// moto with IAM enforcement: reads pass; a mutation needs a certificate; a staged, drift-checked certificate
// executes under a minted STS session (moto accepts the re-signed call and shows the rule); reuse is a replay;
// a certificate for another port is a contract mismatch; a rule added out of band after certification is drift.
// Each denial reaches the script as a botocore ClientError carrying seb's code. The agent's own keys, straight
// at moto, cannot make the change.
import type { AwsContract } from '../certs/sab/index.ts';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';
import { boto3SkipReason, startBoto3Agent, type Boto3Agent } from './helpers/aws-boto3.ts';
import { REGION, sgArn, startAwsWorld, type AwsWorld } from './helpers/aws-world.ts';
import { requireCommand } from './helpers/services.ts';

const skipReason = requireCommand('moto_server', 'moto (AWS emulator)') ?? boto3SkipReason();
const SUBJECT = 'agent-aws-boto3';

describe.skipIf(skipReason !== undefined)('a boto3 agent with placeholder keys through HTTPS_PROXY (moto with IAM enforcement)', () => {
  let world: AwsWorld;
  let agent: Boto3Agent;
  let group: string;

  beforeAll(async () => {
    world = await startAwsWorld(SUBJECT);
    group = (await world.operator.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'seb-boto3', Description: 'target of the boto3 agent' }))).GroupId!;
    agent = startBoto3Agent({
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...world.agentEnv,
      AWS_DEFAULT_REGION: REGION, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true',
    });
  }, 120_000);
  afterAll(async () => {
    await agent?.stop();
    await world?.stop();
  });

  const contract = (port: number, cidr: string): AwsContract => ({
    platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [sgArn(group)],
    params: { GroupId: group, IpPermissions: [{ IpProtocol: 'tcp', FromPort: String(port), ToPort: String(port), IpRanges: [{ CidrIp: cidr }] }] }, risk: 'low',
  });
  const rulesPath = () => [`/${group}/IpPermissions`];
  let executedCert: string;

  it('describe passes, re-signed with seb\'s own identity', async () => {
    expect(world.agentEnv.AWS_ACCESS_KEY_ID).toBe('AKIASEBAGENTPLACEHOLDER');
    expect(await agent.call({ op: 'describe', group })).toEqual({ ok: true, rules: [] });
  });

  it('the mutation without a certificate raises ClientError SEB_CERT_MISSING', async () => {
    const refused = await agent.call({ op: 'authorize', group, port: 443, cidr: '10.20.0.0/16' });
    expect(refused).toMatchObject({ ok: false, error: 'ClientError', code: 'SEB_CERT_MISSING', status: 403 });
    expect(refused.text).toMatch(/An error occurred \(SEB_CERT_MISSING\) when calling the AuthorizeSecurityGroupIngress operation/);
  });

  it('with a staged, drift-checked certificate it executes under the minted session and moto shows the rule', async () => {
    executedCert = await world.issueObserved(contract(443, '10.20.0.0/16'), rulesPath());
    await world.stage(executedCert);
    expect(await agent.call({ op: 'authorize', group, port: 443, cidr: '10.20.0.0/16' })).toEqual({ ok: true });
    expect((await agent.call({ op: 'describe', group })).rules).toEqual([{ FromPort: 443, CidrIps: ['10.20.0.0/16'] }]);
    const line = world.seb.logs.findLast((l) => l.operation === 'AuthorizeSecurityGroupIngress' && l.outcome === 'executed');
    expect(line).toMatchObject({ status: 200, principal: expect.stringMatching(/assumed-role\/seb-executor\/seb-/), credentialId: expect.stringMatching(/^ASIA/) });
    expect(line?.stages).toContainEqual(expect.objectContaining({ stage: 'drift', ok: true, note: 'no drift' }));
  });

  it('the same certificate again is SEB_REPLAY', async () => {
    await world.stage(executedCert);
    expect(await agent.call({ op: 'authorize', group, port: 443, cidr: '10.20.0.0/16' })).toMatchObject({ ok: false, error: 'ClientError', code: 'SEB_REPLAY' });
  });

  it('a certificate for port 443 used for port 22 is SEB_CONTRACT_MISMATCH', async () => {
    const cid = await world.stage(await world.issueObserved(contract(443, '10.30.0.0/16'), rulesPath()));
    const refused = await agent.call({ op: 'authorize', group, port: 22, cidr: '10.30.0.0/16' });
    expect(refused).toMatchObject({ ok: false, error: 'ClientError', code: 'SEB_CONTRACT_MISMATCH', message: expect.stringMatching(/FromPort/) });
    await world.withdraw(cid);
  });

  it('a rule added out of band after certification is SEB_DRIFT', async () => {
    await world.stage(await world.issueObserved(contract(443, '10.40.0.0/16'), rulesPath()));
    await world.operator.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    const refused = await agent.call({ op: 'authorize', group, port: 443, cidr: '10.40.0.0/16' });
    expect(refused).toMatchObject({ ok: false, error: 'ClientError', code: 'SEB_DRIFT', message: expect.stringContaining(`/${group}/IpPermissions`) });
    expect((await agent.call({ op: 'describe', group })).rules?.flatMap((r) => r.CidrIps)).not.toContain('10.40.0.0/16');
  });

  it('the agent\'s own credentials, used directly at moto, get AccessDenied for the mutation', async () => {
    const direct = { endpoint: world.moto.url, ...world.agentOwn };
    expect((await agent.call({ op: 'describe', group, direct })).ok).toBe(true); // its own keys may read
    const denied = await agent.call({ op: 'authorize', group, port: 443, cidr: '10.50.0.0/16', direct });
    expect(denied).toMatchObject({ ok: false, error: 'ClientError', code: 'AccessDenied', status: 403 });
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(world.seb);
    expect(world.seb.audit.length).toBeGreaterThan(0);
  });
});
