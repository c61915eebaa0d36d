// The AWS sequence from an unmodified @aws-sdk/client-ec2 agent in endpoint mode (the SDK ignores HTTPS_PROXY):
// it holds only what `seb agent-env` prints (placeholder keys, seb's CA in NODE_EXTRA_CA_CERTS) plus
// AWS_ENDPOINT_URL pointing at seb's endpoint listener, against moto with IAM enforcement. Reads pass; a mutation
// needs a certificate (sent in the Seb-Certificate header by an SDK middleware, or staged through the local API);
// the certified change executes under a minted STS session and moto shows the rule; reuse is a replay; a
// certificate for another port is a contract mismatch; a rule added out of band after certification is drift.
// Each denial reaches the agent as an SDK ServiceException whose name and Code are seb's code.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsContract } from '../certs/sab/index.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';
import { REGION, sgArn, startAwsWorld, type AwsWorld } from './helpers/aws-world.ts';
import { REPO_ROOT } from './helpers/run.ts';
import { requireCommand } from './helpers/services.ts';

const skipReason = requireCommand('moto_server', 'moto (AWS emulator)');
const SUBJECT = 'agent-aws-sdk';

// The agent: one long-lived Node process (importing the SDK costs a while, so not once per call) reading JSON
// commands on stdin and answering one JSON line each. Its EC2Client is configured by the environment alone; the
// certificate, when a command carries one, is added as the Seb-Certificate header by a middleware on that command.
const AGENT_SCRIPT = String.raw`
import { createInterface } from 'node:readline';
import { EC2Client, AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';

const agent = new EC2Client({ maxAttempts: 1 });
const clientFor = (cmd) => cmd.direct
  ? new EC2Client({ endpoint: cmd.direct.endpoint, credentials: { accessKeyId: cmd.direct.accessKeyId, secretAccessKey: cmd.direct.secretAccessKey }, maxAttempts: 1 })
  : agent;
const withCertificate = (command, certificate) => {
  if (certificate) command.middlewareStack.add((next) => (args) => { args.request.headers['seb-certificate'] = certificate; return next(args); }, { step: 'build', name: 'sebCertificate' });
  return command;
};

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line);
  const client = clientFor(cmd);
  let answer;
  try {
    if (cmd.op === 'describe') {
      const out = await client.send(new DescribeSecurityGroupsCommand({ GroupIds: [cmd.group] }));
      answer = { ok: true, rules: out.SecurityGroups[0].IpPermissions.map((p) => ({ FromPort: p.FromPort, CidrIps: (p.IpRanges ?? []).map((r) => r.CidrIp) })) };
    } else if (cmd.op === 'authorize') {
      const permission = { IpProtocol: 'tcp', FromPort: cmd.port, ToPort: cmd.port, IpRanges: [{ CidrIp: cmd.cidr }] };
      const out = await client.send(withCertificate(new AuthorizeSecurityGroupIngressCommand({ GroupId: cmd.group, IpPermissions: [permission] }), cmd.certificate));
      answer = { ok: true, returned: out.Return };
    } else {
      answer = { ok: false, error: 'unknown op ' + cmd.op };
    }
  } catch (e) {
    answer = { ok: false, error: e.constructor?.name, name: e.name, Code: e.Code, message: e.message, fault: e.$fault, status: e.$metadata?.httpStatusCode };
  }
  if (client !== agent) client.destroy();
  process.stdout.write(JSON.stringify(answer) + '\n');
}
agent.destroy();
`;

type SdkCommand =
  | { op: 'describe'; group: string; direct?: { endpoint: string; accessKeyId: string; secretAccessKey: string } }
  | { op: 'authorize'; group: string; port: number; cidr: string; certificate?: string; direct?: { endpoint: string; accessKeyId: string; secretAccessKey: string } };
interface SdkAnswer {
  readonly ok: boolean;
  readonly error?: string;
  readonly name?: string;
  readonly Code?: string;
  readonly message?: string;
  readonly fault?: string;
  readonly status?: number;
  readonly returned?: boolean;
  readonly rules?: Array<{ FromPort?: number; CidrIps: string[] }>;
}

function startSdkAgent(env: Record<string, string>) {
  // --input-type=module -e: bare imports resolve from the working directory, the repository's node_modules.
  const child = spawn(process.execPath, ['--input-type=module', '-e', AGENT_SCRIPT], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const waiting: Array<(line: string | undefined) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  child.once('exit', () => { for (const w of waiting.splice(0)) w(undefined); });
  return {
    call(cmd: SdkCommand): Promise<SdkAnswer> {
      return new Promise((resolve, reject) => {
        waiting.push((line) => (line === undefined ? reject(new Error(`the SDK agent exited: ${stderr}`)) : resolve(JSON.parse(line) as SdkAnswer)));
        child.stdin.write(JSON.stringify(cmd) + '\n');
      });
    },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin.end();
    }),
  };
}

describe.skipIf(skipReason !== undefined)('an @aws-sdk/client-ec2 agent in endpoint mode with placeholder keys (moto with IAM enforcement)', () => {
  let world: AwsWorld;
  let agent: ReturnType<typeof startSdkAgent>;
  let group: string;

  beforeAll(async () => {
    world = await startAwsWorld(SUBJECT);
    group = (await world.operator.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'seb-sdk', Description: 'target of the SDK agent' }))).GroupId!;
    agent = startSdkAgent({
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...world.agentEnv,
      AWS_ENDPOINT_URL: `https://127.0.0.1:${world.seb.endpointPort}`,
      AWS_REGION: REGION, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true',
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
  /** The rules as moto holds them (read straight from moto as the operator). */
  const motoCidrs = async () => ((await world.operator.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [group] }))).SecurityGroups![0]!.IpPermissions ?? []).flatMap((p) => (p.IpRanges ?? []).map((r) => `${p.FromPort}:${r.CidrIp}`));
  /** An SDK ServiceException carrying seb's code as its name and Code, with seb's status. */
  const sebDenial = (code: string, status = 403) => ({ ok: false, name: code, Code: code, fault: 'client', status });
  let executedCert: string;

  it('describe passes through the endpoint listener, re-signed with seb\'s own identity', async () => {
    expect(world.agentEnv.AWS_ACCESS_KEY_ID).toBe('AKIASEBAGENTPLACEHOLDER');
    expect(await agent.call({ op: 'describe', group })).toEqual({ ok: true, rules: [] });
    expect(world.seb.logs).toContainEqual(expect.objectContaining({ via: 'endpoint', operation: 'DescribeSecurityGroups', outcome: 'forwarded', status: 200 }));
  });

  it('the mutation without a certificate raises SEB_CERT_MISSING', async () => {
    const refused = await agent.call({ op: 'authorize', group, port: 443, cidr: '10.20.0.0/16' });
    expect(refused).toMatchObject(sebDenial('SEB_CERT_MISSING'));
    expect(refused.message).toMatch(/seb cert stage/);
  });

  it('with a drift-checked certificate in the Seb-Certificate header it executes under the minted session; moto shows the rule', async () => {
    executedCert = await world.issueObserved(contract(443, '10.20.0.0/16'), rulesPath());
    expect(await agent.call({ op: 'authorize', group, port: 443, cidr: '10.20.0.0/16', certificate: executedCert })).toEqual({ ok: true, returned: true });
    expect(await motoCidrs()).toEqual(['443:10.20.0.0/16']);
    const line = world.seb.logs.findLast((l) => l.operation === 'AuthorizeSecurityGroupIngress' && l.outcome === 'executed');
    expect(line).toMatchObject({ via: 'endpoint', status: 200, principal: expect.stringMatching(/assumed-role\/seb-executor\/seb-/), credentialId: expect.stringMatching(/^ASIA/) });
    expect(line?.stages).toContainEqual(expect.objectContaining({ stage: 'drift', ok: true, note: 'no drift' }));
  });

  it('the same certificate again is SEB_REPLAY', async () => {
    const refused = await agent.call({ op: 'authorize', group, port: 443, cidr: '10.20.0.0/16', certificate: executedCert });
    expect(refused).toMatchObject(sebDenial('SEB_REPLAY'));
    expect(refused.message).toMatch(/has already been used/);
  });

  it('a certificate for port 443 used for port 22 is SEB_CONTRACT_MISMATCH', async () => {
    const for443 = await world.issueObserved(contract(443, '10.30.0.0/16'), rulesPath());
    const refused = await agent.call({ op: 'authorize', group, port: 22, cidr: '10.30.0.0/16', certificate: for443 });
    expect(refused).toMatchObject(sebDenial('SEB_CONTRACT_MISMATCH'));
    expect(refused.message).toMatch(/FromPort/);
    expect(await motoCidrs()).not.toContain('22:10.30.0.0/16');
  });

  it('a rule added out of band after certification is SEB_DRIFT (the certificate staged through the local API)', async () => {
    await world.stage(await world.issueObserved(contract(443, '10.40.0.0/16'), rulesPath()));
    await world.operator.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    const refused = await agent.call({ op: 'authorize', group, port: 443, cidr: '10.40.0.0/16' });
    expect(refused).toMatchObject(sebDenial('SEB_DRIFT'));
    expect(refused.message).toContain(`/${group}/IpPermissions`);
    expect(await motoCidrs()).not.toContain('443:10.40.0.0/16');
  });

  it('the agent\'s own credentials, used directly at moto, get AccessDenied for the mutation', async () => {
    const direct = { endpoint: world.moto.url, ...world.agentOwn };
    expect((await agent.call({ op: 'describe', group, direct })).ok).toBe(true); // its own keys may read
    expect(await agent.call({ op: 'authorize', group, port: 443, cidr: '10.50.0.0/16', direct })).toMatchObject({ ok: false, name: 'AccessDenied', status: 403 });
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(world.seb);
    // Five attempts reached seb (no certificate, executed, replay, mismatch, drift); one was forwarded.
    const records = world.seb.audit.map((r) => `${String(r.kind)}:${String((r.body as Record<string, unknown>).decision ?? '')}:${String((r.body as Record<string, unknown>).code ?? '')}`);
    expect(records.filter((r) => r.startsWith('decision:')).sort()).toEqual(['decision:allow:', 'decision:deny:SEB_CERT_MISSING', 'decision:deny:SEB_CONTRACT_MISMATCH', 'decision:deny:SEB_DRIFT', 'decision:deny:SEB_REPLAY']);
    expect(records.filter((r) => r.startsWith('outcome:'))).toHaveLength(1);
  });
});
