// The resources an AWS mutation touches, as ARNs (what the certificate names and the session policy will allow).
// One small function per resource family; an operation seb has no rule for is refused, never guessed.
import type { JsonValue } from '../../certs/sab/types.ts';

type Where = { readonly region: string; readonly accountId: string };
type Targets = { readonly ok: true; readonly arns: string[] } | { readonly ok: false; readonly reason: string };

const get = (params: JsonValue, key: string): JsonValue | undefined =>
  params !== null && typeof params === 'object' && !Array.isArray(params) ? (params as Record<string, JsonValue>)[key] : undefined;

const strings = (v: JsonValue | undefined): string[] | undefined =>
  typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;

const SAFE_ID = /^[A-Za-z0-9._:/@+=-]{1,255}$/;

export function targetsOf(service: string, action: string, params: JsonValue, where: Where): Targets {
  const arn = (svc: string, resource: string) => `arn:aws:${svc}:${where.region}:${where.accountId}:${resource}`;
  const ids = (key: string, make: (id: string) => string): Targets => {
    const values = strings(get(params, key));
    if (!values || values.length === 0) return { ok: false, reason: `${service}:${action} names no ${key}, so seb cannot tell which resource it changes` };
    if (!values.every((v) => SAFE_ID.test(v))) return { ok: false, reason: `${key} holds characters that cannot appear in a resource id` };
    return { ok: true, arns: [...new Set(values.map(make))].sort() };
  };
  if (service === 'ec2') {
    if (action === 'CreateSecurityGroup') return { ok: true, arns: [arn('ec2', 'security-group/*')] };
    if (/SecurityGroup/.test(action) && get(params, 'GroupId') !== undefined) return ids('GroupId', (id) => arn('ec2', `security-group/${id}`));
    if (get(params, 'InstanceId') !== undefined) return ids('InstanceId', (id) => arn('ec2', `instance/${id}`));
  }
  if (service === 'autoscaling' && get(params, 'AutoScalingGroupName') !== undefined) {
    return ids('AutoScalingGroupName', (name) => arn('autoscaling', `autoScalingGroup:*:autoScalingGroupName/${name}`));
  }
  return { ok: false, reason: `seb does not know yet which resources ${service}:${action} changes, so it cannot be certified and is refused` };
}
