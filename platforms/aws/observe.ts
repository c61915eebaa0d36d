// AWS drift probes: the current state of a certificate's targets, read with seb's own identity, as the JSON the
// admitted per-path digests are checked against. One probe per resource family the parser names by ARN: EC2
// security groups, EC2 instances, Auto Scaling groups. The observed document is keyed by resource id
// (`{"sg-0abc": {...}, "i-0123": {...}}`), so paths read `/sg-0abc/IpPermissions`; a target that no longer exists
// is `null`, which makes every path under it absent (drift). Targets the probes do not know (`security-group/*` of
// CreateSecurityGroup, other services) are unobservable: the SAB must waive drift for them.
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { sebError } from '../../errors/codes.ts';
import type { Contract, JsonValue } from '../../certs/sab/types.ts';
import type { Result } from '../../pipeline/types.ts';
import { autoScalingGroupState, instanceState, securityGroupState } from './observe-state.ts';
import type { AwsCredentials } from './sigv4.ts';

export type ProbeKind = 'security-group' | 'instance' | 'auto-scaling-group';

export interface ProbeTarget {
  readonly kind: ProbeKind;
  readonly region: string;
  readonly accountId: string;
  /** Group id, instance id or Auto Scaling group name: the key of the target in the observed document. */
  readonly id: string;
}

export interface AwsObserverConfig {
  /** seb's own read identity; undefined: the AWS SDK's default credential chain. */
  readonly credentials?: AwsCredentials | undefined;
  /** upstreams.aws (moto, LocalStack); undefined: each service's regional endpoint. */
  readonly endpoint?: string | undefined;
  /** aws.accountId: targets in other accounts cannot be read with seb's identity, so they are refused. */
  readonly accountId?: string | undefined;
  /** Bound on each probe's calls. */
  readonly timeoutMs?: number;
  /** Whose credentials these are, for messages ("seb's identity", "the SAB's credentials"). */
  readonly identity?: string;
}

export interface AwsObserver {
  observe(contract: Contract): Promise<Result<JsonValue>>;
}

const PROBES = 'EC2 security groups, EC2 instances and Auto Scaling groups';
/** AWS error names that mean the reading identity is not allowed (or not recognised). */
const DENIED = /AccessDenied|Unauthorized|AuthFailure|InvalidClientTokenId|SignatureDoesNotMatch|ExpiredToken/;
/** A bound on paging, so an upstream that always answers with a NextToken cannot keep a probe going. */
const MAX_PAGES = 20;
const ARN = /^arn:aws(?:-cn|-us-gov)?:(ec2|autoscaling):([a-z0-9-]+):(\d{12}):(.+)$/;

/** The probe for one target ARN, or why there is none. */
export function probeTargetOf(arn: string): Result<ProbeTarget, string> {
  const m = ARN.exec(arn);
  const none = (why: string): Result<ProbeTarget, string> => ({ ok: false, error: `${arn}: ${why}` });
  if (!m) return none(`seb has drift probes for ${PROBES} only`);
  const [, service, region, accountId, resource] = m as unknown as [string, string, string, string, string];
  const at = (kind: ProbeKind, id: string): Result<ProbeTarget, string> =>
    id === '*' || id === '' ? none('the resource does not exist yet (the call creates it), so there is no state to compare') : { ok: true, value: { kind, region, accountId, id } };
  if (service === 'ec2' && resource.startsWith('security-group/')) return at('security-group', resource.slice('security-group/'.length));
  if (service === 'ec2' && resource.startsWith('instance/')) return at('instance', resource.slice('instance/'.length));
  const asg = /^autoScalingGroup:[^:]*:autoScalingGroupName\/(.*)$/.exec(resource);
  if (service === 'autoscaling' && asg) return at('auto-scaling-group', asg[1]!);
  return none(`seb has drift probes for ${PROBES} only`);
}

// The SDK clients are large (@aws-sdk/client-ec2 takes about a second to load): every `seb` command and every
// seb start would pay for them, so they are loaded on the first probe that needs them.
let ec2Sdk: Promise<typeof import('@aws-sdk/client-ec2')> | undefined;
let autoscalingSdk: Promise<typeof import('@aws-sdk/client-auto-scaling')> | undefined;
const loadEc2 = () => (ec2Sdk ??= import('@aws-sdk/client-ec2'));
const loadAutoscaling = () => (autoscalingSdk ??= import('@aws-sdk/client-auto-scaling'));

export function createAwsObserver(config: AwsObserverConfig): AwsObserver {
  const timeoutMs = config.timeoutMs ?? 10_000;
  const identity = config.identity ?? "seb's identity";
  const clientConfig = (region: string) => ({
    region,
    maxAttempts: 2,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: { accessKeyId: config.credentials.accessKeyId, secretAccessKey: config.credentials.secretAccessKey, ...(config.credentials.sessionToken ? { sessionToken: config.credentials.sessionToken } : {}) } } : {}),
  });
  const ec2Clients = new Map<string, EC2Client>();
  const asgClients = new Map<string, AutoScalingClient>();
  const ec2 = async (region: string) => {
    const { EC2Client } = await loadEc2();
    return ec2Clients.get(region) ?? ec2Clients.set(region, new EC2Client(clientConfig(region))).get(region)!;
  };
  const autoscaling = async (region: string) => {
    const { AutoScalingClient } = await loadAutoscaling();
    return asgClients.get(region) ?? asgClients.set(region, new AutoScalingClient(clientConfig(region))).get(region)!;
  };
  const opts = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });

  /** Several ids in one call; when one is missing EC2 fails the whole call, so then each is read alone. */
  async function describeEach(ids: readonly string[], notFound: string, describe: (ids: string[]) => Promise<Map<string, JsonValue>>): Promise<Map<string, JsonValue | null>> {
    try {
      return await describe([...ids]);
    } catch (err) {
      if ((err as { name?: string }).name !== notFound) throw err;
    }
    const out = new Map<string, JsonValue | null>();
    await Promise.all(ids.map(async (id) => {
      try {
        out.set(id, (await describe([id])).get(id) ?? null);
      } catch (err) {
        if ((err as { name?: string }).name !== notFound) throw err;
        out.set(id, null);
      }
    }));
    return out;
  }

  const probes: Record<ProbeKind, { action: string; read: (region: string, ids: readonly string[]) => Promise<Map<string, JsonValue | null>> }> = {
    'security-group': {
      action: 'ec2:DescribeSecurityGroups',
      read: (region, ids) => describeEach(ids, 'InvalidGroup.NotFound', async (some) => {
        const { DescribeSecurityGroupsCommand } = await loadEc2();
        const out = await (await ec2(region)).send(new DescribeSecurityGroupsCommand({ GroupIds: some }), opts());
        return new Map((out.SecurityGroups ?? []).map((g) => [g.GroupId ?? '', securityGroupState(g)]));
      }),
    },
    instance: {
      action: 'ec2:DescribeInstances',
      read: (region, ids) => describeEach(ids, 'InvalidInstanceID.NotFound', async (some) => {
        const { DescribeInstancesCommand } = await loadEc2();
        const out = await (await ec2(region)).send(new DescribeInstancesCommand({ InstanceIds: some }), opts());
        return new Map((out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId ?? '', instanceState(i)]));
      }),
    },
    'auto-scaling-group': {
      action: 'autoscaling:DescribeAutoScalingGroups',
      // Names that match nothing are simply not in the answer; it is paged.
      read: async (region, names) => {
        const { DescribeAutoScalingGroupsCommand } = await loadAutoscaling();
        const client = await autoscaling(region);
        const found = new Map<string, JsonValue | null>();
        let token: string | undefined;
        let pages = 0;
        do {
          if (++pages > MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages of Auto Scaling groups for ${names.length} names`);
          const out = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [...names], NextToken: token }), opts());
          for (const g of out.AutoScalingGroups ?? []) if (g.AutoScalingGroupName) found.set(g.AutoScalingGroupName, autoScalingGroupState(g));
          token = out.NextToken;
        } while (token);
        return found;
      },
    },
  };

  return {
    async observe(contract) {
      const unobservable = (message: string): Result<JsonValue> => ({ ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', message) });
      if (contract.platform !== 'aws') return unobservable('not an AWS contract');
      if (!Array.isArray(contract.targets) || contract.targets.length === 0 || !contract.targets.every((t) => typeof t === 'string')) return unobservable('the contract names no target ARNs');
      const targets: ProbeTarget[] = [];
      for (const arn of contract.targets) {
        const t = probeTargetOf(arn);
        if (!t.ok) return unobservable(`${t.error}; ask the SAB to waive the drift check for ${contract.operation}`);
        if (config.accountId && t.value.accountId !== config.accountId) return unobservable(`${arn} is in account ${t.value.accountId}, seb reads account ${config.accountId}`);
        if (targets.some((o) => o.id === t.value.id)) return unobservable(`two targets share the id ${t.value.id}, so their states cannot be told apart`);
        targets.push(t.value);
      }
      // One call per probe and region, all at once.
      const batches = new Map<string, { kind: ProbeKind; region: string; ids: string[] }>();
      for (const t of targets) {
        const key = `${t.kind} ${t.region}`;
        const batch = batches.get(key) ?? batches.set(key, { kind: t.kind, region: t.region, ids: [] }).get(key)!;
        batch.ids.push(t.id);
      }
      const state: { [id: string]: JsonValue } = {};
      try {
        await Promise.all([...batches.values()].map(async ({ kind, region, ids }) => {
          const probe = probes[kind];
          try {
            const found = await probe.read(region, ids);
            for (const id of ids) state[id] = found.get(id) ?? null;
          } catch (err) {
            const e = err as { name?: string; message?: string };
            const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${timeoutMs} ms`
              : `${e.name ?? 'Error'}: ${e.message ?? String(err)}${DENIED.test(e.name ?? '') ? ` (${identity} needs ${probe.action})` : ''}`;
            throw new Error(`${probe.action} for ${ids.join(', ')} in ${region} with ${identity} failed: ${why}`);
          }
        }));
      } catch (err) {
        return unobservable((err as Error).message);
      }
      return { ok: true, value: state };
    },
  };
}
