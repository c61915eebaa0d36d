// The AWS deployment artefacts in manifests/aws: every document is strict JSON and valid policy grammar for its
// kind (identity policy, trust policy, SCP); the CloudFormation templates embed exactly the same documents and
// pass cfn-lint (whose action database also checks every action name and prefix); and, against moto_server with
// IAM enforcement on, the roles and users built from these files behave as the rollout promises: the agent may
// only describe, only seb may assume the executor role (with seb's own session name, source identity and tags),
// and that session may mutate.
//
// moto checks signatures, identity policies (Action/NotAction; for EC2 only Resource "*"), and a trust policy's
// principal; it ignores trust-policy conditions other than StringEquals on sts:ExternalId, session policies, and
// SCPs (it stores them). Those parts are checked here against the exact AssumeRole request seb's minting code
// sends, with a small evaluator of the condition operators the documents use: our reading of IAM, not AWS's.
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assumeExecutorRole, createSts, sessionName } from '../platforms/aws/mint.ts';
import { strictJsonBody } from '../parsers/body.ts';
import { READ_OPERATIONS, RELEASES_SECRETS } from '../parsers/aws/reads.ts';
import type { VerifiedCertificate } from '../certs/sab/verify.ts';
import { awsQuery, xmlField } from './helpers/aws-query.ts';
import { requireCommand, startMoto, type Moto } from './helpers/services.ts';
import { REPO_ROOT, run } from './helpers/run.ts';

const DIR = path.join(REPO_ROOT, 'manifests', 'aws');
const ACCOUNT = '123456789012';
const VALUES: Record<string, string> = {
  ACCOUNT_ID: ACCOUNT,
  EXECUTOR_ROLE_NAME: 'seb-executor',
  SEB_PRINCIPAL_ARN: `arn:aws:iam::${ACCOUNT}:user/seb-broker`, // a user: moto compares a trust principal with the caller's ARN literally
  SEB_ROLE_NAME: 'seb-broker',
};
const EXECUTOR_ARN = `arn:aws:iam::${ACCOUNT}:role/seb-executor`;

type Kind = 'identity' | 'trust' | 'scp';
const DOCUMENTS: Record<string, Kind> = {
  'scp-deny-mutations': 'scp',
  'executor-trust-policy': 'trust',
  'executor-permissions': 'identity',
  'agent-read-only': 'identity',
  'seb-policy': 'identity',
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Statement { Sid?: string; Effect: 'Allow' | 'Deny'; Action?: string | string[]; NotAction?: string | string[]; Resource?: string | string[]; NotResource?: string | string[]; Principal?: Json; Condition?: Record<string, Record<string, string | string[]>> }
interface Policy { Version: string; Statement: Statement[] }

const raw = (name: string) => readFileSync(path.join(DIR, `${name}.json`), 'utf8');
const render = (text: string, values = VALUES) => text.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
  if (!(key in values)) throw new Error(`unknown placeholder {{${key}}}`);
  return values[key]!;
});
const rendered = (name: string): Policy => JSON.parse(render(raw(name))) as Policy;
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM policy grammar, as the IAM and Organizations references state it, per kind of document. */
function grammarErrors(doc: unknown, kind: Kind): string[] {
  const errors: string[] = [];
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return ['not a JSON object'];
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!['Version', 'Id', 'Statement'].includes(k)) errors.push(`unknown top-level element ${k}`);
  if (d.Version !== '2012-10-17') errors.push('Version must be "2012-10-17" (policy variables and the current grammar)');
  if (!Array.isArray(d.Statement) || d.Statement.length === 0) return [...errors, 'Statement must be a non-empty array'];
  const sids = new Set<string>();
  d.Statement.forEach((s: Record<string, unknown>, i: number) => {
    const at = `Statement[${i}]${typeof s.Sid === 'string' ? ` (${s.Sid})` : ''}`;
    const allowed = ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition', ...(kind === 'trust' ? ['Principal', 'NotPrincipal'] : [])];
    for (const k of Object.keys(s)) if (!allowed.includes(k)) errors.push(`${at}: ${k} has no place in a${kind === 'identity' ? 'n identity policy' : kind === 'trust' ? ' trust policy' : 'n SCP'}`);
    if (s.Sid !== undefined) {
      if (typeof s.Sid !== 'string' || !/^[A-Za-z0-9]+$/.test(s.Sid)) errors.push(`${at}: Sid must be alphanumeric`);
      else if (sids.has(s.Sid)) errors.push(`${at}: duplicate Sid`);
      else sids.add(s.Sid);
    }
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') errors.push(`${at}: Effect must be Allow or Deny`);
    if ((s.Action === undefined) === (s.NotAction === undefined)) errors.push(`${at}: exactly one of Action and NotAction`);
    const actions = [s.Action, s.NotAction].filter((a) => a !== undefined).flatMap((a) => (Array.isArray(a) ? a : [a]));
    if (actions.length === 0) errors.push(`${at}: no actions`);
    for (const a of actions) {
      if (typeof a !== 'string' || !/^[a-z0-9-]+:[A-Za-z0-9*?]+$/.test(a)) errors.push(`${at}: action ${JSON.stringify(a)} is not service:Action`);
      else if (kind === 'scp' && /[*?]./.test(a.split(':')[1]!)) errors.push(`${at}: an SCP allows a wildcard only alone or at the end of an action (${a})`);
      else if (kind === 'trust' && !a.startsWith('sts:')) errors.push(`${at}: a trust policy names sts: actions only (${a})`);
    }
    if ((s.Resource !== undefined) && (s.NotResource !== undefined)) errors.push(`${at}: Resource and NotResource together`);
    if (kind === 'trust') {
      if (s.Resource !== undefined || s.NotResource !== undefined) errors.push(`${at}: a trust policy has no Resource`);
      if (!s.Principal || typeof s.Principal !== 'object') errors.push(`${at}: a trust policy statement needs a Principal`);
    } else if (s.Resource === undefined && s.NotResource === undefined) {
      errors.push(`${at}: Resource is required`);
    }
    if (kind === 'scp' && s.Effect === 'Allow' && (s.Condition !== undefined || s.NotAction !== undefined || s.Resource !== '*')) errors.push(`${at}: SCP Allow statements take Action and Resource "*" only`);
    if (s.Condition !== undefined) {
      if (!s.Condition || typeof s.Condition !== 'object') errors.push(`${at}: Condition must be an object`);
      for (const [op, block] of Object.entries((s.Condition ?? {}) as Record<string, unknown>)) {
        if (!/^(ForAllValues:|ForAnyValue:)?(String(Not)?Equals(IgnoreCase)?|String(Not)?Like|Numeric(Not)?Equals|Numeric(Less|Greater)Than(Equals)?|Date(Not)?Equals|Date(Less|Greater)Than(Equals)?|Bool|BinaryEquals|(Not)?IpAddress|Arn(Not)?(Equals|Like))(IfExists)?$|^Null$/.test(op)) errors.push(`${at}: unknown condition operator ${op}`);
        if (!block || typeof block !== 'object' || Array.isArray(block)) { errors.push(`${at}: ${op} must map keys to values`); continue; }
        for (const [key, value] of Object.entries(block)) {
          if (!/^[a-zA-Z0-9-]+:[\w/:.-]+$/.test(key)) errors.push(`${at}: condition key ${key} is malformed`);
          const values = Array.isArray(value) ? value : [value];
          if (values.length === 0 || !values.every((v) => typeof v === 'string')) errors.push(`${at}: ${op} ${key} needs string values`);
          if (op === 'Null' && !values.every((v) => v === 'true' || v === 'false')) errors.push(`${at}: Null takes "true" or "false"`);
        }
      }
    }
  });
  const size = JSON.stringify(doc).length; // whitespace outside strings does not count once minified
  if (kind === 'scp' && size > 5120) errors.push(`an SCP may hold 5,120 characters; this one has ${size}`);
  if (kind === 'identity' && size > 6144) errors.push(`a managed policy may hold 6,144 characters; this one has ${size}`);
  if (kind === 'trust' && size > 2048) errors.push(`a trust policy holds 2,048 characters by default; this one has ${size}`);
  return errors;
}

// ---- a small evaluator of the condition operators these documents use (for what moto does not evaluate) ----

type Context = Record<string, string | string[] | undefined>;
const glob = (pattern: string, value: string, caseInsensitive = false) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, caseInsensitive ? 'i' : '').test(value);

function conditionHolds(condition: Statement['Condition'], ctx: Context): boolean {
  for (const [op, block] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(block)) {
      const wanted = list(expected);
      const actual = ctx[key];
      const present = actual !== undefined;
      const values = list(actual);
      const one = (test: (w: string, v: string) => boolean) => present && values.some((v) => wanted.some((w) => test(w, v)));
      let ok: boolean;
      switch (op) {
        case 'StringEquals': ok = one((w, v) => w === v); break;
        case 'StringLike': ok = one((w, v) => glob(w, v)); break;
        case 'ArnLike': ok = one((w, v) => glob(w, v)); break;
        case 'ArnNotLike': ok = !one((w, v) => glob(w, v)); break; // negated operators hold when the key is absent
        case 'StringNotLike': ok = !one((w, v) => glob(w, v)); break;
        case 'Null': ok = (wanted[0] === 'true') === !present; break;
        case 'ForAllValues:StringEquals': ok = values.every((v) => wanted.includes(v)); break;
        default: throw new Error(`the test's evaluator does not know ${op}: extend it before using ${op} in a manifest`);
      }
      if (!ok) return false;
    }
  }
  return true;
}

const matchesAction = (s: Statement, action: string) =>
  s.Action !== undefined ? list(s.Action).some((p) => glob(p, action, true)) : !list(s.NotAction).some((p) => glob(p, action, true));
const matchesResource = (s: Statement, resource: string) => list(s.Resource).some((p) => glob(p, resource));

/** Does the SCP deny `action` on `resource` to `principalArn`? (SCPs here only deny; FullAWSAccess allows the rest.) */
function scpDenies(scp: Policy, principalArn: string, action: string, resource = '*', ctx: Context = {}): boolean {
  return scp.Statement.some((s) => s.Effect === 'Deny' && matchesAction(s, action) && matchesResource(s, resource) && conditionHolds(s.Condition, { ...ctx, 'aws:PrincipalArn': principalArn }));
}

/** Does an identity policy without conditions deny, or allow, `action` on every resource? */
const identityDenies = (policy: Policy, action: string) => policy.Statement.some((s) => s.Effect === 'Deny' && matchesAction(s, action) && matchesResource(s, '*'));
const identityAllows = (policy: Policy, action: string) => !identityDenies(policy, action) && policy.Statement.some((s) => s.Effect === 'Allow' && matchesAction(s, action) && matchesResource(s, '*'));

/** READ_OPERATIONS as IAM actions: an API operation is authorised under its own name, but for these. */
const IAM_ACTION_OF: Record<string, string> = { 'dynamodb:TransactGetItems': 'dynamodb:GetItem' };
const READ_ACTIONS = Object.entries(READ_OPERATIONS).flatMap(([service, ops]) => [...ops].map((op) => IAM_ACTION_OF[`${service}:${op}`] ?? `${service}:${op}`));
/** The secret reads seb certifies (targets.ts) and mints executor sessions for: the SCP lets only the executor make them. */
const CERTIFIABLE_SECRET_READS = ['ec2:GetPasswordData', 'ec2:GetConsoleScreenshot', 'ec2:GetConsoleOutput', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParameterHistory'];
/** Sessions the SCP leaves to IAM (they stay under the SCP), except the executor role's, which only seb may start. */
const SESSIONS_LEFT_TO_IAM = ['sts:AssumeRole', 'sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity'];

/** Does the trust policy allow `action` for `principalArn` with this request context? (No Deny statements here.) */
function trustAllows(trust: Policy, principalArn: string, action: string, ctx: Context): boolean {
  return trust.Statement.some((s) => s.Effect === 'Allow' && matchesAction(s, action)
    && list((s.Principal as { AWS?: string | string[] } | undefined)?.AWS).includes(principalArn) && conditionHolds(s.Condition, ctx));
}

/** The request context STS builds from an AssumeRole request (the keys these trust conditions read). */
function assumeRoleContext(form: URLSearchParams): Context {
  const ctx: Context = { 'sts:RoleSessionName': form.get('RoleSessionName') ?? undefined, 'sts:SourceIdentity': form.get('SourceIdentity') ?? undefined };
  const keys: string[] = [];
  for (let i = 1; form.has(`Tags.member.${i}.Key`); i++) {
    const key = form.get(`Tags.member.${i}.Key`)!;
    keys.push(key);
    ctx[`aws:RequestTag/${key}`] = form.get(`Tags.member.${i}.Value`) ?? '';
  }
  if (keys.length > 0) ctx['aws:TagKeys'] = keys;
  const transitive = [...form.keys()].filter((k) => k.startsWith('TransitiveTagKeys.member.')).map((k) => form.get(k)!);
  if (transitive.length > 0) ctx['sts:TransitiveTagKeys'] = transitive;
  return ctx;
}

const certFor = (cid: string, nonce: string) => ({ payload: { cid, nonce, exp: Math.floor(Date.now() / 1000) + 600, contract: { platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [`arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/sg-1`], params: {} } } }) as unknown as VerifiedCertificate;

/** The AssumeRole request seb's own minting code sends, captured on the wire (the form body of the STS call). */
async function mintedRequest(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }, cert: VerifiedCertificate) {
  const sts = createSts({ endpoint, credentials });
  let form: URLSearchParams | undefined;
  sts.client('us-east-1').middlewareStack.add((next) => async (args) => {
    const body = (args.request as { body?: unknown }).body;
    if (typeof body === 'string') form = new URLSearchParams(body);
    return next(args);
  }, { step: 'finalizeRequest', name: 'captureAssumeRoleForTest' });
  const minted = await assumeExecutorRole(sts, EXECUTOR_ARN, cert, 'us-east-1');
  return { minted, form };
}

const lintSkip = requireCommand('cfn-lint', 'cfn-lint (CloudFormation linter)');
let lintRun: Promise<{ code: number; output: string }> | undefined;

/** cfn-lint takes seconds to start, so it runs in the background while the other suites do. It validates IAM
 * documents inside IAM resources (grammar, and its database of actions) but not an Organizations policy's
 * Content, so the SCP is also linted wrapped as an IAM managed policy. */
async function lintManifests(): Promise<{ code: number; output: string }> {
  const dir = await mkdtemp(path.join(REPO_ROOT, 'node_modules', '.seb-aws-manifests-'));
  try {
    const wrapped = path.join(dir, 'scp-as-iam.json');
    await writeFile(wrapped, JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: { Scp: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: rendered('scp-deny-mutations') } } } }));
    const lint = await run('cfn-lint', [path.join(DIR, 'cloudformation', 'member-account.json'), path.join(DIR, 'cloudformation', 'organization-scp.json'), wrapped], { timeoutMs: 120_000 });
    return { code: lint.code, output: lint.stdout + lint.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

beforeAll(() => {
  if (lintSkip === undefined) lintRun = lintManifests();
});

describe('manifests/aws: documents', () => {
  it('every file is strict JSON (no duplicate keys), and only documented placeholders are used', () => {
    const files = [...readdirSync(DIR).filter((f) => f.endsWith('.json')), ...readdirSync(path.join(DIR, 'cloudformation')).map((f) => `cloudformation/${f}`)];
    expect(files.sort()).toEqual([...Object.keys(DOCUMENTS).map((n) => `${n}.json`), 'cloudformation/member-account.json', 'cloudformation/organization-scp.json'].sort());
    const readme = readFileSync(path.join(DIR, 'README.md'), 'utf8');
    for (const f of files) {
      const text = readFileSync(path.join(DIR, f), 'utf8');
      const parsed = strictJsonBody(Buffer.from(text));
      expect(parsed.ok ? undefined : parsed.message, f).toBeUndefined();
      for (const [, key] of text.matchAll(/\{\{([A-Z_]+)\}\}/g)) {
        expect(Object.keys(VALUES), `${f} uses {{${key}}}`).toContain(key);
        expect(readme, `manifests/aws/README.md documents {{${key}}}`).toContain(`{{${key}}}`);
      }
    }
  });

  it('each document is valid policy grammar for its kind, raw and rendered', () => {
    for (const [name, kind] of Object.entries(DOCUMENTS)) {
      expect(grammarErrors(JSON.parse(raw(name)), kind), name).toEqual([]);
      expect(grammarErrors(rendered(name), kind), name).toEqual([]);
    }
  });

  it('the grammar check itself refuses what IAM and Organizations refuse', () => {
    const scp = rendered('scp-deny-mutations');
    const bad = (mutate: (d: Record<string, any>) => void, kind: Kind, doc: unknown = scp) => {
      const copy = structuredClone(doc) as Record<string, any>;
      mutate(copy);
      return grammarErrors(copy, kind).join('; ');
    };
    expect(bad((d) => { d.Version = '2008-10-17'; }, 'scp')).toMatch(/Version/);
    expect(bad((d) => { d.Statement[0].NotAction.push('*:Describe*'); }, 'scp')).toMatch(/not service:Action/);
    expect(bad((d) => { d.Statement[0].NotAction.push('ec2:*Security*'); }, 'scp')).toMatch(/wildcard only alone or at the end/);
    expect(bad((d) => { d.Statement[0].Principal = '*'; }, 'scp')).toMatch(/Principal has no place in an SCP/);
    expect(bad((d) => { d.Statement[1].Action = 'ec2:GetPasswordData'; d.Statement[1].NotAction = ['x:Y']; }, 'scp')).toMatch(/exactly one of Action and NotAction/);
    expect(bad((d) => { d.Statement[0].Condition = { StringLikes: { 'aws:PrincipalArn': 'x' } }; }, 'scp')).toMatch(/unknown condition operator StringLikes/);
    expect(bad((d) => { d.Statement[0].Effect = 'Alow'; }, 'scp')).toMatch(/Effect must be Allow or Deny/);
    expect(bad((d) => { d.Statement[0].NotAction = Array.from({ length: 400 }, (_, i) => `ec2:Describe${'X'.repeat(10)}${i}`); }, 'scp')).toMatch(/5,120 characters/);
    expect(bad((d) => { d.Statement[0].Resource = '*'; }, 'trust', rendered('executor-trust-policy'))).toMatch(/no Resource/);
    expect(bad((d) => { delete d.Statement[0].Resource; }, 'identity', rendered('seb-policy'))).toMatch(/Resource is required/);
  });

  it('the CloudFormation templates embed exactly these documents', () => {
    const params = { 'AWS::Partition': 'aws', 'AWS::AccountId': ACCOUNT, ExecutorRoleName: VALUES.EXECUTOR_ROLE_NAME!, SebPrincipalArn: VALUES.SEB_PRINCIPAL_ARN!, SebRoleName: VALUES.SEB_ROLE_NAME! } as Record<string, string>;
    const resolve = (v: Json): Json => {
      if (Array.isArray(v)) return v.map(resolve);
      if (v && typeof v === 'object') {
        if ('Fn::Sub' in v && typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'].replace(/\$\{([\w:]+)\}/g, (_, k: string) => params[k] ?? `<unresolved ${k}>`);
        if ('Ref' in v && typeof v.Ref === 'string') return params[v.Ref] ?? `<unresolved ${v.Ref}>`;
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
      }
      return v;
    };
    const template = (name: string) => JSON.parse(readFileSync(path.join(DIR, 'cloudformation', `${name}.json`), 'utf8')) as { Resources: Record<string, { Properties: Record<string, any> }> };
    const member = template('member-account').Resources;
    expect(resolve(member.ExecutorRole!.Properties.AssumeRolePolicyDocument)).toEqual(rendered('executor-trust-policy'));
    expect(resolve(member.ExecutorRole!.Properties.Policies[0].PolicyDocument)).toEqual(rendered('executor-permissions'));
    expect(resolve(member.SebPolicy!.Properties.PolicyDocument)).toEqual(rendered('seb-policy'));
    expect(resolve(member.AgentReadOnlyPolicy!.Properties.PolicyDocument)).toEqual(rendered('agent-read-only'));
    const scp = template('organization-scp').Resources.SebDenyMutations!.Properties;
    expect(scp.Type).toBe('SERVICE_CONTROL_POLICY');
    expect(resolve(scp.Content)).toEqual(rendered('scp-deny-mutations'));
  });

  it('the SCP denies every change, and the secret-handing reads, to everyone but the executor role; only seb may start its sessions', () => {
    const scp = rendered('scp-deny-mutations');
    const agent = `arn:aws:iam::${ACCOUNT}:role/agent`;
    const seb = `arn:aws:iam::${ACCOUNT}:role/seb-broker`;
    const admin = `arn:aws:iam::${ACCOUNT}:role/OrganizationAccountAccessRole`;
    const changes = ['ec2:AuthorizeSecurityGroupIngress', 'ec2:ModifySecurityGroupRules', 'ec2:TerminateInstances', 'ec2:RunInstances', 'autoscaling:SetDesiredCapacity',
      'iam:UpdateAssumeRolePolicy', 'iam:PutRolePolicy', 'iam:CreateAccessKey', 's3:PutObject', 'lambda:UpdateFunctionCode', 'organizations:LeaveOrganization', 'ec2:GetPasswordData', 'sts:GetFederationToken', 'newservice:DoAnything'];
    for (const who of [agent, seb, admin]) for (const action of changes) expect(scpDenies(scp, who, action), `${who} ${action}`).toBe(true);
    for (const action of changes.filter((a) => a !== 'newservice:DoAnything' && a !== 'sts:GetFederationToken')) expect(scpDenies(scp, `arn:aws:iam::${ACCOUNT}:role/seb-executor`, action), action).toBe(false);
    for (const read of ['ec2:DescribeSecurityGroups', 'ec2:describeinstances', 'autoscaling:DescribeAutoScalingGroups', 'sts:GetCallerIdentity', 'iam:GetRole']) expect(scpDenies(scp, agent, read), read).toBe(false);
    for (const a of ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity']) {
      expect(scpDenies(scp, seb, a, `arn:aws:iam::${ACCOUNT}:role/seb-executor`), a).toBe(false);
      expect(scpDenies(scp, agent, a, `arn:aws:iam::${ACCOUNT}:role/seb-executor`), a).toBe(true);
      expect(scpDenies(scp, agent, a, `arn:aws:iam::${ACCOUNT}:role/some-other-role`), a).toBe(false); // other roles stay under this SCP
    }
    expect(scpDenies(scp, agent, 'sts:AssumeRoleWithWebIdentity', `arn:aws:iam::${ACCOUNT}:role/seb-executor`)).toBe(true);
  });

  it('every read that releases a secret (RELEASES_SECRETS) is denied to the agent, and by the SCP (the executor may make only the certifiable ones)', () => {
    const agentPolicy = rendered('agent-read-only');
    const scp = rendered('scp-deny-mutations');
    const agent = `arn:aws:iam::${ACCOUNT}:role/agent`;
    const seb = `arn:aws:iam::${ACCOUNT}:role/seb-broker`;
    const executor = EXECUTOR_ARN;
    for (const a of [...CERTIFIABLE_SECRET_READS, ...SESSIONS_LEFT_TO_IAM]) expect(Object.keys(RELEASES_SECRETS), a).toContain(a);
    for (const action of Object.keys(RELEASES_SECRETS)) {
      expect(identityDenies(agentPolicy, action), `agent-read-only.json denies ${action}`).toBe(true);
      if (SESSIONS_LEFT_TO_IAM.includes(action)) {
        for (const who of [agent, executor]) expect(scpDenies(scp, who, action, EXECUTOR_ARN), `${who} ${action} on the executor role`).toBe(true);
        expect(scpDenies(scp, seb, action, `arn:aws:iam::${ACCOUNT}:role/other`), action).toBe(false); // role sessions stay under this SCP
        continue;
      }
      for (const who of [agent, seb]) expect(scpDenies(scp, who, action), `the SCP denies ${action} to ${who}`).toBe(true);
      expect(scpDenies(scp, executor, action), `the SCP ${CERTIFIABLE_SECRET_READS.includes(action) ? 'lets' : 'denies'} the executor ${action}`).toBe(!CERTIFIABLE_SECRET_READS.includes(action));
    }
    // a certified SecureString read decrypts through SSM: only that Decrypt is left to the executor
    expect(scpDenies(scp, executor, 'kms:Decrypt', '*', { 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com' })).toBe(false);
    expect(scpDenies(scp, executor, 'kms:Decrypt', '*', { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' })).toBe(true);
    expect(scpDenies(scp, agent, 'kms:Decrypt', '*', { 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com' })).toBe(true);
  });

  it('every read seb passes (READ_OPERATIONS) is allowed to seb\'s identity and to the agent\'s policy, and not denied by the SCP; services seb refuses are not granted', () => {
    const sebPolicy = rendered('seb-policy');
    const agentPolicy = rendered('agent-read-only');
    const scp = rendered('scp-deny-mutations');
    expect(READ_ACTIONS.length).toBeGreaterThan(200);
    for (const action of READ_ACTIONS) {
      expect(identityAllows(sebPolicy, action), `seb-policy.json allows ${action}`).toBe(true);
      expect(identityAllows(agentPolicy, action), `agent-read-only.json allows ${action}`).toBe(true);
      for (const who of ['agent', 'seb-broker']) expect(scpDenies(scp, `arn:aws:iam::${ACCOUNT}:role/${who}`, action), `the SCP lets ${who} ${action}`).toBe(false);
    }
    const services = new Set([...Object.keys(READ_OPERATIONS), 'sts']);
    for (const policy of [sebPolicy, agentPolicy]) for (const s of policy.Statement.filter((x) => x.Effect === 'Allow')) {
      for (const a of list(s.Action)) expect(services, `${s.Sid} grants ${a}, of a service seb has no reads of`).toContain(a.split(':')[0]);
    }
  });

  it.skipIf(lintSkip !== undefined)('every wildcard seb\'s and the agent\'s policies allow matches only reads seb passes (in cfn-lint\'s action database)', async () => {
    const found = await run('python3', ['-c', 'import cfnlint, os; print(os.path.join(os.path.dirname(cfnlint.__file__), "data", "AdditionalSpecs", "Policies.json"))']);
    expect(found.code, found.stderr).toBe(0);
    const db = JSON.parse(readFileSync(found.stdout.trim(), 'utf8')) as Record<string, { Actions: Record<string, unknown> }>;
    const reads = new Set(READ_ACTIONS.map((a) => a.toLowerCase()));
    for (const name of ['seb-policy', 'agent-read-only']) for (const s of rendered(name).Statement.filter((x) => x.Effect === 'Allow')) {
      for (const pattern of list(s.Action).filter((a) => a.includes('*'))) {
        const [service, action] = pattern.split(':') as [string, string];
        const matching = Object.keys(db[service]?.Actions ?? {}).filter((a) => glob(action, a, true));
        expect(matching.length, `${name}: ${pattern} matches actions`).toBeGreaterThan(1);
        for (const a of matching) expect(reads.has(`${service}:${a}`), `${name}: ${pattern} also allows ${service}:${a}, which seb does not pass as a read`).toBe(true);
      }
    }
  }, 30_000);

  it('the trust policy admits exactly the AssumeRole request seb\'s minting code makes, and nothing looser', async () => {
    const trust = rendered('executor-trust-policy');
    // seb's request, as mint.ts builds it (captured from the wire in the moto suite below; here from its parts)
    const cid = '0b7f3c2e-6d4a-4f8e-9c1a-2b3c4d5e6f70';
    const name = sessionName(cid);
    const form = new URLSearchParams({ RoleSessionName: name, SourceIdentity: name, 'Tags.member.1.Key': 'seb:cid', 'Tags.member.1.Value': cid, 'Tags.member.2.Key': 'seb:nonce', 'Tags.member.2.Value': 'bm9uY2Utb2Ytc2V2ZW50ZWVu' });
    const seb = VALUES.SEB_PRINCIPAL_ARN!;
    const allows = (f: URLSearchParams, who = seb) => ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'].every((a) => trustAllows(trust, who, a, assumeRoleContext(f)));
    expect(allows(form)).toBe(true);
    expect(allows(form, `arn:aws:iam::${ACCOUNT}:user/agent`)).toBe(false);
    const without = (key: string) => { const f = new URLSearchParams(form); f.delete(key); return f; };
    expect(allows(without('SourceIdentity'))).toBe(false);
    expect(allows(without('Tags.member.2.Key'))).toBe(false);
    expect(trustAllows(trust, seb, 'sts:AssumeRole', assumeRoleContext(new URLSearchParams({ RoleSessionName: name, SourceIdentity: name })))).toBe(false);
    const extraTag = new URLSearchParams(form);
    extraTag.set('Tags.member.3.Key', 'admin');
    extraTag.set('Tags.member.3.Value', 'true');
    expect(allows(extraTag)).toBe(false);
    const transitive = new URLSearchParams(form);
    transitive.set('TransitiveTagKeys.member.1', 'seb:cid');
    expect(allows(transitive)).toBe(false);
    const otherName = new URLSearchParams(form);
    otherName.set('RoleSessionName', 'admin-console');
    expect(allows(otherName)).toBe(false);
  });
});

// Creates, through boto3 and with IAM enforcement on after the first three calls, everything the rollout creates
// in a member account, from the rendered documents; prints the keys and ids the test needs as JSON.
const SETUP = String.raw`
import json, sys, boto3
from botocore.exceptions import ClientError
url, docs = sys.argv[1], json.loads(sys.stdin.read())
root = dict(aws_access_key_id='AKIAIOSFODNN7EXAMPLE', aws_secret_access_key='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')
def client(svc, keys): return boto3.client(svc, endpoint_url=url, region_name='us-east-1', **keys)
iam0 = client('iam', root)
iam0.create_user(UserName='admin')
iam0.put_user_policy(UserName='admin', PolicyName='all', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))
k = iam0.create_access_key(UserName='admin')['AccessKey']  # the third call: from here on every call is checked
admin = dict(aws_access_key_id=k['AccessKeyId'], aws_secret_access_key=k['SecretAccessKey'])
iam = client('iam', admin)
out = {}
def keys(user):
    a = iam.create_access_key(UserName=user)['AccessKey']
    return {'accessKeyId': a['AccessKeyId'], 'secretAccessKey': a['SecretAccessKey']}
policies = {n: iam.create_policy(PolicyName=n, PolicyDocument=docs[n])['Policy']['Arn'] for n in ('seb-policy', 'agent-read-only', 'executor-permissions')}
try:
    iam.create_policy(PolicyName='malformed', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 'ec2:DescribeInstances'}]}))
    out['malformed'] = 'accepted'
except ClientError as e:
    out['malformed'] = e.response['Error']['Code']
iam.create_user(UserName='seb-broker')
iam.attach_user_policy(UserName='seb-broker', PolicyArn=policies['seb-policy'])
iam.create_user(UserName='agent')
iam.attach_user_policy(UserName='agent', PolicyArn=policies['agent-read-only'])
iam.create_user(UserName='intruder')
iam.put_user_policy(UserName='intruder', PolicyName='assume-anything', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'], 'Resource': '*'}]}))
role = iam.create_role(RoleName=docs['executorRoleName'], AssumeRolePolicyDocument=docs['executor-trust-policy'], MaxSessionDuration=3600)['Role']
iam.update_assume_role_policy(RoleName=docs['executorRoleName'], PolicyDocument=docs['executor-trust-policy'])  # moto validates trust policies here
iam.attach_role_policy(RoleName=docs['executorRoleName'], PolicyArn=policies['executor-permissions'])
out.update(roleArn=role['Arn'], seb=keys('seb-broker'), agent=keys('agent'), intruder=keys('intruder'))
out['groupId'] = client('ec2', admin).create_security_group(GroupName='seb-target', Description='target of certified changes')['GroupId']
org = client('organizations', admin)
org.create_organization(FeatureSet='ALL')
ou = org.create_organizational_unit(ParentId=org.list_roots()['Roots'][0]['Id'], Name='agent-operated')['OrganizationalUnit']['Id']
scp = org.create_policy(Name='seb-deny-mutations', Description='only the seb executor role may change resources', Type='SERVICE_CONTROL_POLICY', Content=docs['scp-deny-mutations'])['Policy']['PolicySummary']['Id']
org.attach_policy(PolicyId=scp, TargetId=ou)
out['scp'] = {'id': scp, 'attached': [p['Id'] for p in org.list_policies_for_target(TargetId=ou, Filter='SERVICE_CONTROL_POLICY')['Policies']], 'content': org.describe_policy(PolicyId=scp)['Policy']['Content']}
print(json.dumps(out))
`;

const motoSkip = requireCommand('moto_server', 'moto (AWS emulator)') ?? requireCommand('aws', 'the AWS CLI') ?? requireCommand('python3', 'python3 with boto3');

interface Keys { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
interface World { roleArn: string; seb: Keys; agent: Keys; intruder: Keys; groupId: string; malformed: string; scp: { id: string; attached: string[]; content: string } }

describe.skipIf(motoSkip !== undefined)('manifests/aws: the roles and users built from them, judged by moto with IAM enforcement', () => {
  let moto: Moto;
  let world: World;

  beforeAll(async () => {
    moto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: '3' });
    const docs = { ...Object.fromEntries(Object.keys(DOCUMENTS).map((n) => [n, render(raw(n))])), executorRoleName: VALUES.EXECUTOR_ROLE_NAME };
    const setup = await run('python3', ['-c', SETUP, moto.url], { input: JSON.stringify(docs) });
    expect(setup.code, setup.stderr).toBe(0);
    world = JSON.parse(setup.stdout) as World;
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
  });

  const aws = (args: string[], key: Keys) => run('aws', [...args, '--endpoint-url', moto.url, '--output', 'json'], {
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, ...(key.sessionToken ? { AWS_SESSION_TOKEN: key.sessionToken } : {}),
    },
  });
  const ingress = (cidr: string) => ['ec2', 'authorize-security-group-ingress', '--group-id', world.groupId, '--ip-permissions', `IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=${cidr}}]`];
  /** The target group's ingress CIDRs, as the agent reads them (signed requests; the CLI is used where it matters). */
  const rules = async () => {
    const described = await awsQuery(moto.url, { service: 'ec2', credentials: world.agent, action: 'DescribeSecurityGroups', params: { 'GroupId.1': world.groupId } });
    expect(described.status, described.body).toBe(200);
    const ingress = /<ipPermissions>([\s\S]*?)<\/ipPermissions>/.exec(described.body)?.[1] ?? ''; // not ipPermissionsEgress
    return [...ingress.matchAll(/<cidrIp>([^<]*)<\/cidrIp>/g)].map((m) => m[1]);
  };
  const ingressQuery = (cidr: string) => ({ GroupId: world.groupId, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': '443', 'IpPermissions.1.ToPort': '443', 'IpPermissions.1.IpRanges.1.CidrIp': cidr });

  it('moto\'s own policy validators accepted every identity policy and the trust policy, and refuse a malformed one', () => {
    expect(world.roleArn).toBe(EXECUTOR_ARN);
    expect(world.malformed).toBe('MalformedPolicyDocument');
    expect(world.scp.attached).toContain(world.scp.id); // stored, not enforced: moto has no SCP evaluation
    expect(JSON.parse(world.scp.content)).toEqual(rendered('scp-deny-mutations'));
  });

  it('the agent (agent-read-only.json) may describe, and gets AccessDenied on authorize-security-group-ingress', async () => {
    const described = await aws(['ec2', 'describe-security-groups', '--group-ids', world.groupId], world.agent);
    expect(described.code, described.stderr).toBe(0);
    expect((JSON.parse(described.stdout) as { SecurityGroups: Array<{ GroupName: string; IpPermissions: unknown[] }> }).SecurityGroups).toMatchObject([{ GroupName: 'seb-target', IpPermissions: [] }]);
    const denied = await aws(ingress('10.1.0.0/16'), world.agent);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/An error occurred \(AccessDenied\) when calling the AuthorizeSecurityGroupIngress operation: User: arn:aws:iam::123456789012:user\/agent is not authorized to perform: ec2:AuthorizeSecurityGroupIngress/);
  });

  it('seb\'s identity (seb-policy.json) cannot mutate itself, but assumes the executor role as seb does, and that session mutates', async () => {
    const direct = await awsQuery(moto.url, { service: 'ec2', credentials: world.seb, action: 'AuthorizeSecurityGroupIngress', params: ingressQuery('10.2.0.0/16') });
    expect(direct.status).toBe(403);
    expect(direct.body).toMatch(/AccessDenied.*user\/seb-broker is not authorized to perform: ec2:AuthorizeSecurityGroupIngress/s);
    const cid = '3f0c9a52-7b1e-4c8d-a9f2-5e6d7c8b9a01';
    const assumed = await aws(['sts', 'assume-role', '--role-arn', world.roleArn, '--role-session-name', sessionName(cid), '--source-identity', sessionName(cid),
      '--duration-seconds', '900', '--tags', `Key=seb:cid,Value=${cid}`, 'Key=seb:nonce,Value=bm9uY2Utb2YtdGhlLWNsaQ'], world.seb);
    expect(assumed.code, assumed.stderr).toBe(0);
    const session = JSON.parse(assumed.stdout) as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string }; AssumedRoleUser: { Arn: string } };
    expect(session.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/seb-executor/${sessionName(cid)}`);
    const executed = await aws(ingress('10.3.0.0/16'), { accessKeyId: session.Credentials.AccessKeyId, secretAccessKey: session.Credentials.SecretAccessKey, sessionToken: session.Credentials.SessionToken });
    expect(executed.code, executed.stderr).toBe(0);
    expect(await rules()).toEqual(['10.3.0.0/16']);
  }, 30_000);

  it('seb\'s own minting code gets a session of the executor role, its request satisfies every trust condition, and the session mutates', async () => {
    const { minted, form } = await mintedRequest(moto.url, world.seb, certFor('7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6', 'bWludGVkLWJ5LXNlYi1pdHNlbGY'));
    expect(minted.ok ? minted.value.principal : minted.error.message).toMatch(/^arn:aws:sts::123456789012:assumed-role\/seb-executor\/seb-7d1e2f3a/);
    expect(form?.get('Action')).toBe('AssumeRole');
    for (const action of ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity']) expect(trustAllows(rendered('executor-trust-policy'), VALUES.SEB_PRINCIPAL_ARN!, action, assumeRoleContext(form!)), action).toBe(true);
    if (!minted.ok) return;
    const credentials = minted.value.credentials as Keys;
    const executed = await awsQuery(moto.url, { service: 'ec2', credentials, action: 'AuthorizeSecurityGroupIngress', params: ingressQuery('10.4.0.0/16') });
    expect(executed.status, executed.body).toBe(200);
    expect(await rules()).toContain('10.4.0.0/16');
  });

  it('a principal whose own policy allows sts:AssumeRole on everything is refused by the trust policy', async () => {
    const refused = await awsQuery(moto.url, { service: 'sts', credentials: world.intruder, action: 'AssumeRole', params: { RoleArn: world.roleArn, RoleSessionName: 'seb-forged', SourceIdentity: 'seb-forged', 'Tags.member.1.Key': 'seb:cid', 'Tags.member.1.Value': 'x', 'Tags.member.2.Key': 'seb:nonce', 'Tags.member.2.Value': 'y' } });
    expect(refused.status).toBe(403);
    expect(xmlField(refused.body, 'Code')).toBe('AccessDenied');
    expect(xmlField(refused.body, 'Message')).toMatch(/user\/intruder is not authorized to perform: sts:AssumeRole/);
  });

  it('moto does not evaluate the trust policy\'s conditions: seb\'s identity without tags or source identity is admitted there (AWS refuses it; see the evaluator above)', async () => {
    const loose = await awsQuery(moto.url, { service: 'sts', credentials: world.seb, action: 'AssumeRole', params: { RoleArn: world.roleArn, RoleSessionName: 'not-seb-shaped' } });
    expect(loose.status, 'if moto now enforces trust conditions, turn this into a refusal test').toBe(200);
    expect(trustAllows(rendered('executor-trust-policy'), VALUES.SEB_PRINCIPAL_ARN!, 'sts:AssumeRole', { 'sts:RoleSessionName': 'not-seb-shaped' })).toBe(false);
  });
});

describe.skipIf(lintSkip !== undefined)('manifests/aws: cfn-lint', () => {
  it('both templates lint clean, and every action and prefix in the SCP exists in cfn-lint\'s action database', async () => {
    const lint = await lintRun!;
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  }, 130_000);
});
