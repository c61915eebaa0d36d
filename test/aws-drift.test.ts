// AWS drift probes: a certificate's admitted per-path digests are checked against the security group as seb reads
// it, with its own identity, right before executing. Rules are sets: their order (and how AWS groups them into
// permissions) is not drift; a rule added out of band after certification is. End to end with the real aws CLI
// through HTTPS_PROXY, against moto with IAM enforcement.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, CreateTagsCommand, DescribeSecurityGroupsCommand, RevokeSecurityGroupIngressCommand, type IpPermission } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABSENT_DIGEST, type AwsContract } from '../certs/sab/index.ts';
import { createAwsObserver, probeTargetOf } from '../platforms/aws/observe.ts';
import { permissionsState, securityGroupState } from '../platforms/aws/observe-state.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';
import { AGENT_KEY, cliErrorCode, sgArn, startAwsWorld, type AwsWorld } from './helpers/aws-world.ts';
import { runSeb } from './helpers/run.ts';
import { tempDir } from './helpers/seb.ts';
import { requireCommand } from './helpers/services.ts';

describe('security group state is canonical', () => {
  const web: IpPermission = { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }, { CidrIp: '10.1.0.0/16', Description: 'office' }], Ipv6Ranges: [], PrefixListIds: [{ PrefixListId: 'pl-1' }], UserIdGroupPairs: [{ GroupId: 'sg-b', UserId: '1' }, { GroupId: 'sg-a', UserId: '1', GroupName: 'shown-sometimes', PeeringStatus: 'active' }] };
  const ssh: IpPermission = { IpProtocol: '6', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.1/32' }] };

  it('does not depend on the order of rules, ranges, groups or prefix lists, nor on how rules are grouped', () => {
    const reordered: IpPermission[] = [
      { IpProtocol: 'TCP', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.1/32' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.1.0.0/16', Description: 'office' }], UserIdGroupPairs: [{ GroupId: 'sg-a', UserId: '1' }], PrefixListIds: [{ PrefixListId: 'pl-1' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }, { CidrIp: '10.0.0.0/8' }], UserIdGroupPairs: [{ GroupId: 'sg-b', UserId: '1' }] },
    ];
    expect(permissionsState(reordered)).toEqual(permissionsState([web, ssh]));
    expect(permissionsState([web, ssh])).toEqual([
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.1/32' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }, { CidrIp: '10.1.0.0/16', Description: 'office' }], Ipv6Ranges: [], PrefixListIds: [{ PrefixListId: 'pl-1' }], UserIdGroupPairs: [{ GroupId: 'sg-a', UserId: '1' }, { GroupId: 'sg-b', UserId: '1' }] },
    ]);
  });

  it('sees a changed range, description, port or an added rule; "all traffic" has no ports; tags become a map', () => {
    const base = permissionsState([web, ssh]);
    expect(permissionsState([{ ...web, IpRanges: [{ CidrIp: '10.0.0.0/8' }, { CidrIp: '10.1.0.0/16' }] }, ssh])).not.toEqual(base);
    expect(permissionsState([web, { ...ssh, ToPort: 23 }])).not.toEqual(base);
    expect(permissionsState([web, ssh, { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }])).not.toEqual(base);
    expect(permissionsState([{ IpProtocol: '-1', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }])).toEqual([{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] }]);
    expect(securityGroupState({ GroupId: 'sg-1', Tags: [{ Key: 'b', Value: '2' }, { Key: 'a', Value: '1' }] })).toEqual({ GroupId: 'sg-1', Tags: { a: '1', b: '2' }, IpPermissions: [], IpPermissionsEgress: [] });
  });

  it('knows which ARNs it can observe, and says why it cannot observe the others', () => {
    expect(probeTargetOf('arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc')).toEqual({ ok: true, value: { kind: 'security-group', region: 'eu-west-1', accountId: '123456789012', id: 'sg-0abc' } });
    expect(probeTargetOf('arn:aws:ec2:us-east-1:123456789012:instance/i-0abc')).toMatchObject({ ok: true, value: { kind: 'instance', id: 'i-0abc' } });
    expect(probeTargetOf('arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web/blue')).toMatchObject({ ok: true, value: { kind: 'auto-scaling-group', id: 'web/blue' } });
    expect(probeTargetOf('arn:aws:ec2:us-east-1:123456789012:security-group/*')).toMatchObject({ ok: false, error: expect.stringMatching(/does not exist yet/) });
    expect(probeTargetOf('arn:aws:s3:::bucket')).toMatchObject({ ok: false, error: expect.stringMatching(/drift probes for EC2 security groups, EC2 instances and Auto Scaling groups only/) });
  });

  it('refuses contracts it cannot observe without calling AWS', async () => {
    const observer = createAwsObserver({ endpoint: 'http://127.0.0.1:9', credentials: AGENT_KEY, accountId: '123456789012' });
    const contract = (targets: string[]): AwsContract => ({ platform: 'aws', operation: 'ec2:RevokeSecurityGroupIngress', targets, params: {}, risk: 'low' });
    expect(await observer.observe(contract(['arn:aws:ec2:us-east-1:999999999999:security-group/sg-1']))).toMatchObject({ ok: false, error: { code: 'SEB_DRIFT_UNOBSERVABLE', message: expect.stringMatching(/account 999999999999, seb reads account 123456789012/) } });
    expect(await observer.observe(contract([]))).toMatchObject({ ok: false, error: { code: 'SEB_DRIFT_UNOBSERVABLE', message: expect.stringMatching(/names no target ARNs/) } });
    expect(await observer.observe(contract(['arn:aws:ec2:us-east-1:123456789012:security-group/sg-1', 'arn:aws:ec2:us-west-2:123456789012:security-group/sg-1']))).toMatchObject({ ok: false, error: { message: expect.stringMatching(/share the id sg-1/) } });
  });
});

const skipReason = requireCommand('moto_server', 'moto (AWS emulator)') ?? requireCommand('aws', 'the AWS CLI');
const SUBJECT = 'agent-aws-drift';

describe.skipIf(skipReason !== undefined)('drift-checked AWS certificates, end to end (aws CLI, moto with IAM enforcement)', () => {
  let world: AwsWorld;
  let groupId: string;
  let cliSabDir: string;

  beforeAll(async () => {
    cliSabDir = path.join(await tempDir('seb-aws-drift-sab-'), 'sab');
    world = await startAwsWorld(SUBJECT, { cliSabDir });
    const sg = await world.operator.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'seb-drift', Description: 'target of drift-checked changes' }));
    groupId = sg.GroupId!;
    await world.operator.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }, { CidrIp: '10.1.0.0/16' }] },
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.1/32' }] },
    ] }));
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  const contract = (cidr: string): AwsContract => ({
    platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [sgArn(groupId)],
    params: { GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: '443', ToPort: '443', IpRanges: [{ CidrIp: cidr }] }] }, risk: 'low',
  });
  const authorize = (cidr: string) => world.aws(['ec2', 'authorize-security-group-ingress', '--group-id', groupId, '--ip-permissions', `IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=${cidr}}]`]);
  /** The same change from an SDK agent in endpoint mode (in-process: quicker than another aws CLI run). */
  const authorizeBySdk = (cidr: string) => world.agentQuery('ec2', 'AuthorizeSecurityGroupIngress', { GroupId: groupId, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': '443', 'IpPermissions.1.ToPort': '443', 'IpPermissions.1.IpRanges.1.CidrIp': cidr });
  const rawRules = async () => (await world.operator.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }))).SecurityGroups![0]!.IpPermissions!;
  const hasRule = async (cidr: string) => (await rawRules()).some((p) => p.FromPort === 443 && p.IpRanges?.some((r) => r.CidrIp === cidr));

  it('a certificate from `seb sab issue --observe` (the dev SAB reads through the same probe) executes, drift-checked', async () => {
    const contractFile = path.join(world.dir, 'authorize.json');
    await writeFile(contractFile, JSON.stringify(contract('10.20.0.0/16')));
    const issued = await runSeb(['sab', 'issue', '--key', path.join(cliSabDir, 'sab.key'), '--contract', contractFile, '--sub', SUBJECT, '--observe', '--paths', `/${groupId}/IpPermissions`, '--aws-endpoint', world.moto.url], {
      env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: world.sabReader.accessKeyId, AWS_SECRET_ACCESS_KEY: world.sabReader.secretAccessKey, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    });
    expect(issued.code, issued.stderr).toBe(0);
    const certFile = path.join(world.dir, 'observed-cert.txt');
    await writeFile(certFile, issued.stdout);
    const inspected = await runSeb(['cert', 'inspect', certFile], { env: { ...process.env, SEB_TRUST_FILE: world.sab.trustFile } });
    expect(inspected.stdout, inspected.stderr).toContain(`/${groupId}/IpPermissions`);
    await world.stage(issued.stdout.trim());
    const executed = await authorize('10.20.0.0/16');
    expect(executed.code, executed.stderr).toBe(0);
    expect(await hasRule('10.20.0.0/16')).toBe(true);
    const line = world.seb.logs.findLast((l) => l.operation === 'AuthorizeSecurityGroupIngress' && l.outcome === 'executed');
    expect(line?.stages).toContainEqual(expect.objectContaining({ stage: 'drift', ok: true, note: 'no drift' }));
  });

  it('rule order differences alone are not drift', async () => {
    const cert = await world.issueObserved(contract('10.21.0.0/16'), [`/${groupId}/IpPermissions`]);
    const before = JSON.stringify(await rawRules());
    // Out of band: take rules away and put the same ones back; moto now lists them in another order.
    const op = world.operator.ec2;
    await op.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] }));
    await op.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] }));
    await op.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.1/32' }] }] }));
    await op.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.1/32' }] }] }));
    const after = JSON.stringify(await rawRules());
    expect(after).not.toBe(before); // the same rules, presented differently
    expect(JSON.parse(after)).toHaveLength(JSON.parse(before).length);

    await world.stage(cert);
    const executed = await authorize('10.21.0.0/16');
    expect(executed.code, executed.stderr).toBe(0);
    expect(await hasRule('10.21.0.0/16')).toBe(true);
  });

  it('a rule added out of band after certification is SEB_DRIFT, naming the changed path', async () => {
    const cert = await world.issueObserved(contract('10.22.0.0/16'), [`/${groupId}/IpPermissions`]);
    await world.operator.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    await world.stage(cert);
    const refused = await authorize('10.22.0.0/16');
    expect(refused.code).not.toBe(0);
    expect(cliErrorCode(refused)).toBe('SEB_DRIFT');
    expect(refused.stderr).toMatch(new RegExp(`An error occurred \\(SEB_DRIFT\\) when calling the AuthorizeSecurityGroupIngress operation: the target changed since the SAB certified it \\(/${groupId}/IpPermissions`));
    expect(await hasRule('10.22.0.0/16')).toBe(false);
  });

  it('epsilon tolerates a fraction of changed paths', async () => {
    const paths = [`/${groupId}/IpPermissions`, `/${groupId}/Tags`];
    const tolerant = await world.issueObserved(contract('10.23.0.0/16'), paths, 0.5);
    const strict = await world.issueObserved(contract('10.24.0.0/16'), paths, 0);
    await world.operator.ec2.send(new CreateTagsCommand({ Resources: [groupId], Tags: [{ Key: 'touched', Value: 'out-of-band' }] }));
    await world.stage(tolerant);
    const allowed = await authorizeBySdk('10.23.0.0/16');
    expect(allowed.status, allowed.body).toBe(200); // 1 of 2 paths changed: 0.5, not above 0.5
    await world.stage(strict);
    expect((await authorizeBySdk('10.24.0.0/16')).code).toBe('SEB_DRIFT');
  });

  it('an operation with no probe needs an explicit waiver: SEB_DRIFT_UNOBSERVABLE', async () => {
    const create: AwsContract = { platform: 'aws', operation: 'ec2:CreateSecurityGroup', targets: [sgArn('*')], params: { GroupName: 'seb-new', GroupDescription: 'new' }, risk: 'low' };
    const cid = await world.stage(world.sab.issue(create, { admitted: { waived: false, state: { [`/seb-new`]: ABSENT_DIGEST }, epsilon: 0 } }));
    const params = { GroupName: 'seb-new', GroupDescription: 'new' };
    const refused = await world.agentQuery('ec2', 'CreateSecurityGroup', params);
    expect(refused.code).toBe('SEB_DRIFT_UNOBSERVABLE');
    expect(refused.body).toMatch(/does not exist yet.*waive the drift check for ec2:CreateSecurityGroup/);
    await world.withdraw(cid); // kept staged after this transient denial
    // With the waiver it executes.
    await world.stage(world.sab.issue(create));
    const created = await world.agentQuery('ec2', 'CreateSecurityGroup', params);
    expect(created.status, created.body).toBe(200);
  });

  it('probes read several targets, report a missing one as null, and name the permission an identity lacks', async () => {
    const missing = 'sg-0123456789abcdef0';
    const both: AwsContract = { ...contract('x'), operation: 'ec2:DeleteSecurityGroup', targets: [sgArn(groupId), sgArn(missing)] };
    const state = await world.observe(both) as Record<string, { GroupName?: string } | null>;
    expect(state[groupId]?.GroupName).toBe('seb-drift');
    expect(state[missing]).toBeNull();
    const placeholder = await createAwsObserver({ endpoint: world.moto.url, credentials: AGENT_KEY }).observe(both);
    expect(placeholder).toMatchObject({ ok: false, error: { code: 'SEB_DRIFT_UNOBSERVABLE', message: expect.stringMatching(/ec2:DescribeSecurityGroups for .* with seb's identity failed: \w+/) } });
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(world.seb);
    expect(world.seb.audit.length).toBeGreaterThan(0);
  });
});
