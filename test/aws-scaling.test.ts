// Auto Scaling set-desired-capacity and EC2 terminate-instances end to end: the real aws CLI through HTTPS_PROXY
// with placeholder keys, drift-checked certificates (the SAB observes the group / instances through seb's probes,
// seb re-observes them before executing), the change executed under a minted STS session and seen in moto. A
// certificate names exact targets: one for one instance does not allow a request naming two.
import { CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand, DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsContract } from '../certs/sab/index.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';
import { asgArn, cliErrorCode, instanceArn, startAwsWorld, type AwsWorld } from './helpers/aws-world.ts';
import { requireCommand } from './helpers/services.ts';

const skipReason = requireCommand('moto_server', 'moto (AWS emulator)') ?? requireCommand('aws', 'the AWS CLI');
const SUBJECT = 'agent-aws-scaling';
const GROUP = 'seb-web';

describe.skipIf(skipReason !== undefined)('Auto Scaling and instance termination with drift-checked certificates (aws CLI, moto with IAM enforcement)', () => {
  let world: AwsWorld;
  let instances: string[];

  beforeAll(async () => {
    world = await startAwsWorld(SUBJECT);
    const { ec2, autoscaling } = world.operator;
    await autoscaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'seb-lc', ImageId: 'ami-12345678', InstanceType: 't3.micro' }));
    await autoscaling.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: GROUP, LaunchConfigurationName: 'seb-lc', MinSize: 1, MaxSize: 5, DesiredCapacity: 1, AvailabilityZones: ['us-east-1a'] }));
    const run = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12345678', MinCount: 3, MaxCount: 3, InstanceType: 't3.micro', TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'role', Value: 'batch' }] }] }));
    instances = run.Instances!.map((i) => i.InstanceId!);
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  const desired = async () => (await world.operator.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }))).AutoScalingGroups![0]!.DesiredCapacity;
  const states = async (ids: string[]) => (await world.operator.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) => r.Instances!).map((i) => i.State!.Name);
  const scaleTo = (n: number): AwsContract => ({ platform: 'aws', operation: 'autoscaling:SetDesiredCapacity', targets: [asgArn(GROUP)], params: { AutoScalingGroupName: GROUP, DesiredCapacity: String(n) }, risk: 'medium' });
  const terminate = (ids: string[]): AwsContract => ({ platform: 'aws', operation: 'ec2:TerminateInstances', targets: ids.map(instanceArn).sort(), params: { InstanceId: ids }, risk: 'high' });
  const sizePaths = [`/${GROUP}/MinSize`, `/${GROUP}/MaxSize`, `/${GROUP}/DesiredCapacity`];

  it('set-desired-capacity with a drift-checked certificate executes under the minted session; moto shows the new capacity', async () => {
    const refused = await world.aws(['autoscaling', 'set-desired-capacity', '--auto-scaling-group-name', GROUP, '--desired-capacity', '3']);
    expect(cliErrorCode(refused)).toBe('SEB_CERT_MISSING');
    await world.stage(await world.issueObserved(scaleTo(3), sizePaths));
    const executed = await world.aws(['autoscaling', 'set-desired-capacity', '--auto-scaling-group-name', GROUP, '--desired-capacity', '3']);
    expect(executed.code, executed.stderr).toBe(0);
    expect(await desired()).toBe(3);
    const line = world.seb.logs.findLast((l) => l.operation === 'SetDesiredCapacity' && l.outcome === 'executed');
    expect(line).toMatchObject({ principal: expect.stringMatching(/assumed-role\/seb-executor\/seb-/), credentialId: expect.stringMatching(/^ASIA/) });
    expect(line?.stages).toContainEqual(expect.objectContaining({ stage: 'drift', ok: true, note: 'no drift' }));
    // The agent reads the group through seb (re-signed with seb's identity).
    const read = await world.aws(['autoscaling', 'describe-auto-scaling-groups', '--auto-scaling-group-names', GROUP]);
    expect(read.code, read.stderr).toBe(0);
    expect((JSON.parse(read.stdout) as { AutoScalingGroups: Array<{ DesiredCapacity: number }> }).AutoScalingGroups[0]!.DesiredCapacity).toBe(3);
  });

  it('a capacity changed out of band after certification is SEB_DRIFT', async () => {
    const cert = await world.issueObserved(scaleTo(4), sizePaths);
    await world.operator.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: GROUP, DesiredCapacity: 2 }));
    await world.stage(cert);
    const refused = await world.aws(['autoscaling', 'set-desired-capacity', '--auto-scaling-group-name', GROUP, '--desired-capacity', '4']);
    expect(cliErrorCode(refused)).toBe('SEB_DRIFT');
    expect(refused.stderr).toContain(`/${GROUP}/DesiredCapacity`);
    expect(await desired()).toBe(2);
  });

  it('terminate-instances with a drift-checked certificate for one instance executes; moto shows it terminated', async () => {
    const [first] = instances as [string];
    await world.stage(await world.issueObserved(terminate([first]), [`/${first}/State`, `/${first}/InstanceType`, `/${first}/Tags`]));
    const executed = await world.aws(['ec2', 'terminate-instances', '--instance-ids', first]);
    expect(executed.code, executed.stderr).toBe(0);
    expect(await states([first])).toEqual([expect.stringMatching(/^(shutting-down|terminated)$/)]);
  });

  it('a certificate for one instance id does not allow a request naming two; one naming both observes each and executes', async () => {
    const [, second, third] = instances as [string, string, string];
    const forOne = await world.issueObserved(terminate([second]), [`/${second}/State`]);
    // Sent with the request (Seb-Certificate header), the contract stage names the uncertified target.
    const inHeader = await world.agentQuery('ec2', 'TerminateInstances', { 'InstanceId.1': second, 'InstanceId.2': third }, { certificate: forOne });
    expect(inHeader.code).toBe('SEB_CONTRACT_MISMATCH');
    expect(inHeader.body).toContain(`target ${instanceArn(third)} is not certified`);
    // Staged, it is never paired with a request naming more targets; the aws CLI is told what differs.
    const cid = await world.stage(world.sab.issue(terminate([second])));
    const refused = await world.aws(['ec2', 'terminate-instances', '--instance-ids', second, third]);
    expect(cliErrorCode(refused)).toBe('SEB_CONTRACT_MISMATCH');
    expect(refused.stderr).toContain(`target ${instanceArn(third)} is not certified`);
    expect(await states([second, third])).toEqual(['running', 'running']);
    await world.withdraw(cid);

    const both = terminate([second, third]);
    const state = await world.observe(both) as Record<string, { State: string; Tags: Record<string, string> }>;
    expect(state[second]).toMatchObject({ State: 'running', Tags: { role: 'batch' } });
    expect(state[third]).toMatchObject({ State: 'running' });
    await world.stage(await world.issueObserved(both, [`/${second}/State`, `/${third}/State`]));
    const executed = await world.aws(['ec2', 'terminate-instances', '--instance-ids', second, third]);
    expect(executed.code, executed.stderr).toBe(0);
    expect(await states([second, third])).toEqual([expect.stringMatching(/^(shutting-down|terminated)$/), expect.stringMatching(/^(shutting-down|terminated)$/)]);
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(world.seb);
    expect(world.seb.audit.length).toBeGreaterThan(0);
  });
});
