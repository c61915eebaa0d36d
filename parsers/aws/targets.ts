// The resources a Query- or JSON-protocol AWS mutation touches, as ARNs (what the certificate names and the
// session policy will allow). Operations are listed by their exact names; one small rule per resource family. An
// operation seb has no rule for is refused, never guessed (REST services: s3.ts, lambda.ts).
import type { JsonValue } from '../../certs/sab/types.ts';

type Where = { readonly region: string; readonly accountId: string };
type Targets = { readonly ok: true; readonly arns: string[] } | { readonly ok: false; readonly reason: string };

const get = (params: JsonValue, key: string): JsonValue | undefined =>
  params !== null && typeof params === 'object' && !Array.isArray(params) ? (params as Record<string, JsonValue>)[key] : undefined;

const strings = (v: JsonValue | undefined): string[] | undefined =>
  typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;

const SAFE_ID = /^[A-Za-z0-9._:/@+=-]{1,255}$/;
const IAM_NAME = /^[A-Za-z0-9+=.@_-]{1,128}$/; // no commas: they would read as a list in a policy
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/; // a name, not a table ARN
const PARAMETER_NAME = /^\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/; // no ARN, no empty path segment
const LOG_GROUP_NAME = /^[A-Za-z0-9_./#-]{1,512}$/;

const SECURITY_GROUP_OPS = new Set([
  'AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress',
  'DeleteSecurityGroup', 'ModifySecurityGroupRules', 'UpdateSecurityGroupRuleDescriptionsIngress', 'UpdateSecurityGroupRuleDescriptionsEgress',
]);
const INSTANCE_OPS = new Set([
  'TerminateInstances', 'StopInstances', 'StartInstances', 'RebootInstances', 'ModifyInstanceAttribute', 'MonitorInstances',
  'UnmonitorInstances', 'ResetInstanceAttribute',
  // reads that release secrets (reads.ts): certified like changes, so a certificate names the instance
  'GetPasswordData', 'GetConsoleScreenshot', 'GetConsoleOutput',
]);
const ASG_OPS = new Set([
  'SetDesiredCapacity', 'UpdateAutoScalingGroup', 'DeleteAutoScalingGroup', 'CreateAutoScalingGroup', 'SuspendProcesses', 'ResumeProcesses',
  'AttachInstances', 'DetachInstances', 'SetInstanceProtection', 'PutScalingPolicy', 'EnterStandby', 'ExitStandby',
  'StartInstanceRefresh', 'CancelInstanceRefresh',
]);
const IAM_USER_OPS = new Set(['CreateUser', 'DeleteUser', 'AttachUserPolicy', 'DetachUserPolicy', 'PutUserPolicy', 'DeleteUserPolicy', 'CreateAccessKey', 'DeleteAccessKey']);
const IAM_ROLE_OPS = new Set(['CreateRole', 'AttachRolePolicy', 'DetachRolePolicy', 'PutRolePolicy', 'DeleteRolePolicy', 'DeleteRole', 'UpdateAssumeRolePolicy']);
// GetParameter(s) and GetParameterHistory release values (reads.ts): certified like changes, per parameter.
// Not GetParametersByPath: its path names a whole subtree, whatever is added under it later.
const SSM_PARAMETER_OPS = new Set(['PutParameter', 'DeleteParameter', 'LabelParameterVersion', 'GetParameter', 'GetParameterHistory']);
const LOG_GROUP_OPS = new Set(['CreateLogGroup', 'DeleteLogGroup', 'PutRetentionPolicy', 'DeleteRetentionPolicy']);
const DYNAMODB_TABLE_OPS = new Set(['PutItem', 'DeleteItem', 'UpdateItem', 'CreateTable', 'DeleteTable', 'UpdateTable', 'UpdateTimeToLive']);

export function targetsOf(service: string, action: string, params: JsonValue, where: Where): Targets {
  const arn = (svc: string, resource: string, region = where.region) => `arn:aws:${svc}:${region}:${where.accountId}:${resource}`;
  const ids = (key: string, make: (id: string) => string, values = strings(get(params, key)), shape = SAFE_ID): Targets => {
    if (!values || values.length === 0) return { ok: false, reason: `${service}:${action} names no ${key}, so seb cannot tell which resource it changes` };
    if (!values.every((v) => shape.test(v))) return { ok: false, reason: `${key} holds characters that cannot appear in a resource name seb can certify` };
    return { ok: true, arns: [...new Set(values.map(make))].sort() };
  };
  if (service === 'ec2') {
    if (action === 'CreateSecurityGroup') return { ok: true, arns: [arn('ec2', 'security-group/*')] };
    if (SECURITY_GROUP_OPS.has(action)) return ids('GroupId', (id) => arn('ec2', `security-group/${id}`));
    if (INSTANCE_OPS.has(action)) return ids('InstanceId', (id) => arn('ec2', `instance/${id}`));
  }
  if (service === 'autoscaling' && ASG_OPS.has(action)) {
    return ids('AutoScalingGroupName', (name) => arn('autoscaling', `autoScalingGroup:*:autoScalingGroupName/${name}`));
  }
  if (service === 'iam') {
    // IAM names carry an optional path in their ARN; seb certifies path-less names only, which it can write exactly.
    if (get(params, 'Path') !== undefined && get(params, 'Path') !== '/') return { ok: false, reason: `${service}:${action} with a Path is not certifiable yet: seb names IAM users and roles without paths` };
    if (IAM_USER_OPS.has(action)) return ids('UserName', (name) => arn('iam', `user/${name}`, ''), undefined, IAM_NAME);
    if (IAM_ROLE_OPS.has(action)) return ids('RoleName', (name) => arn('iam', `role/${name}`, ''), undefined, IAM_NAME);
  }
  if (service === 'dynamodb') {
    if (DYNAMODB_TABLE_OPS.has(action)) return ids('TableName', (name) => arn('dynamodb', `table/${name}`), undefined, TABLE_NAME);
    if (action === 'BatchWriteItem') {
      const items = get(params, 'RequestItems');
      const tables = items !== null && typeof items === 'object' && !Array.isArray(items) ? Object.keys(items) : undefined;
      return ids('RequestItems', (name) => arn('dynamodb', `table/${name}`), tables, TABLE_NAME);
    }
  }
  if (service === 'ssm' && (SSM_PARAMETER_OPS.has(action) || action === 'GetParameters')) {
    // "/a/b" and "a" are both parameter names; the ARN writes them without the leading slash
    return ids(action === 'GetParameters' ? 'Names' : 'Name', (name) => arn('ssm', `parameter/${name.replace(/^\//, '')}`), undefined, PARAMETER_NAME);
  }
  if (service === 'logs' && LOG_GROUP_OPS.has(action)) return ids('logGroupName', (name) => arn('logs', `log-group:${name}`), undefined, LOG_GROUP_NAME);
  return { ok: false, reason: `seb does not know yet which resources ${service}:${action} changes, so it cannot be certified and is refused` };
}
