// AWS mutation overhead: the same AuthorizeSecurityGroupIngress / RevokeSecurityGroupIngress pair sent directly to
// moto (signed with an IAM user's own keys) and through seb with a fresh certificate each time (placeholder agent
// keys verified, the certificate's stages, an STS AssumeRole per mutation with a session policy, re-signing), in
// one run against moto with IAM enforcement on, the IAM set up from manifests/aws. seb runs twice: concurrent
// stages on and off (pipeline.concurrentStages); certificates either waive drift or carry the admitted state of
// the group's rules, which seb re-observes with DescribeSecurityGroups. Rounds alternate over every arm, so
// machine load drifts into all arms alike. A second, shorter phase holds every byte to and from moto for a modelled
// round trip (as to a real region), where running replay, drift and minting concurrently can show; then certified
// mutations per second at a fixed concurrency.
import { freePort, waitForPort } from './ports.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { digestState, generateSigningKey, newCid, newNonce, signCertificate, trustedKeyConfig, type Admitted, type JsonValue, type SigningKey } from '../certs/sab/index.ts';
import { awsQuery, sha256, xmlField } from '../test/helpers/aws-query.ts';
import { startMoto, type Moto } from '../test/helpers/services.ts';
import { summarize, type LatencySummary } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_AWS_ROUNDS ?? 4);
const PER_ROUND = Number(process.env.BENCH_AWS_PER_ROUND ?? 20); // per arm
const CONCURRENT = Number(process.env.BENCH_AWS_CONCURRENT ?? 160);
const CONCURRENCY = Number(process.env.BENCH_AWS_CONCURRENCY ?? 16);
/** A second, shorter phase with a modelled network: every byte between the callers (seb, the direct client) and
 * moto waits RTT/2 each way, as on a round trip to an AWS region; 0 skips it. */
const RTT_MS = Number(process.env.BENCH_AWS_RTT_MS ?? 20);
const RTT_ROUNDS = Number(process.env.BENCH_AWS_RTT_ROUNDS ?? 2);
const RTT_PER_ROUND = Number(process.env.BENCH_AWS_RTT_PER_ROUND ?? 12);
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const HOST = `ec2.${REGION}.amazonaws.com`;
const SUBJECT = 'bench-agent';
const AGENT_KEY = { accessKeyId: 'AKIASEBBENCHPLACEHOLD', secretAccessKey: 'seb-bench-placeholder-agent-secret-000' };
const RULE = { IpProtocol: 'tcp', FromPort: '443', ToPort: '443', IpRanges: [{ CidrIp: '10.20.0.0/16' }] };
const RULE_FORM = { 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': '443', 'IpPermissions.1.ToPort': '443', 'IpPermissions.1.IpRanges.1.CidrIp': '10.20.0.0/16' };

type Keys = { accessKeyId: string; secretAccessKey: string };
type Op = 'AuthorizeSecurityGroupIngress' | 'RevokeSecurityGroupIngress';
/** One security group per arm (or worker), alternating authorize and revoke of the same rule, so its state stays small and known. */
interface Lane { readonly groupId: string; next: Op; readonly digests?: Record<Op, Admitted> }

const progress = (what: string) => { if (process.env.BENCH_AWS_DEBUG) process.stderr.write(`aws bench: ${what} at ${Math.round(performance.now())} ms\n`); };

export async function benchAws(): Promise<Record<string, unknown>> {
  const moto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: '3' });
  progress('moto up');
  const dir = await mkdtemp(path.join(tmpdir(), 'seb-bench-aws-'));
  const sebs: ChildProcess[] = [];
  const dispatchers: Dispatcher[] = [];
  const relay = await startDelayRelay(moto.port); // delay 0 until the modelled-RTT phase; both paths go through it
  try {
    const world = await setUpIam(moto);
    progress('IAM set up');
    const upstream: Moto = { url: `http://127.0.0.1:${relay.port}`, port: relay.port, stop: async () => undefined };
    const key = generateSigningKey();
    await writeFile(path.join(dir, 'trust.json'), JSON.stringify({ keys: [trustedKeyConfig(key)] }));
    const [on, off] = await Promise.all([startSeb(dir, 'concurrent', true, upstream, world.seb, sebs), startSeb(dir, 'sequential', false, upstream, world.seb, sebs)]);
    progress('seb processes listening');
    const direct = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
    const viaOn = new ProxyAgent({ uri: `http://${on.proxy}`, requestTls: { ca: on.ca }, connections: CONCURRENCY });
    const viaOff = new ProxyAgent({ uri: `http://${off.proxy}`, requestTls: { ca: off.ca }, connections: CONCURRENCY });
    dispatchers.push(direct, viaOn, viaOff);

    const observe = await driftObserver(moto, world.seb);
    const lane = async (name: string, drift: boolean): Promise<Lane> => {
      const groupId = await createGroup(moto, world.admin, name);
      if (!drift || !observe) return { groupId, next: 'AuthorizeSecurityGroupIngress' };
      // The states the SAB would certify: the group's ingress rules before the authorize (none) and before the revoke (the rule).
      const before = await observe(groupId);
      if ((await callDirect(direct, moto, world.admin, 'AuthorizeSecurityGroupIngress', groupId)) !== 200) throw new Error(`preparing ${name}: authorize failed`);
      const after = await observe(groupId);
      if ((await callDirect(direct, moto, world.admin, 'RevokeSecurityGroupIngress', groupId)) !== 200) throw new Error(`preparing ${name}: revoke failed`);
      const pointer = `/${groupId}/IpPermissions`;
      return { groupId, next: 'AuthorizeSecurityGroupIngress', digests: {
        AuthorizeSecurityGroupIngress: { waived: false, state: digestState(before, [pointer]), epsilon: 0 },
        RevokeSecurityGroupIngress: { waived: false, state: digestState(after, [pointer]), epsilon: 0 },
      } };
    };
    const viaSeb = (dispatcher: Dispatcher) => (l: Lane) => callViaSeb(dispatcher, l.next, l.groupId, certificate(key, l));
    const arms: Arm[] = [
      { name: 'direct', lane: await lane('direct', false), send: (l) => callDirect(direct, upstream, world.direct, l.next, l.groupId) },
      { name: 'seb, concurrent stages, drift waived', lane: await lane('on-waived', false), send: viaSeb(viaOn) },
      { name: 'seb, sequential stages, drift waived', lane: await lane('off-waived', false), send: viaSeb(viaOff) },
    ];
    if (observe) {
      arms.push(
        { name: 'seb, concurrent stages, drift observed', lane: await lane('on-drift', true), send: viaSeb(viaOn) },
        { name: 'seb, sequential stages, drift observed', lane: await lane('off-drift', true), send: viaSeb(viaOff) },
      );
    }
    const armOfGroup = new Map(arms.map((a) => [groupArn(a.lane.groupId), a.name]));
    progress('set up');
    for (let w = 0; w < 6; w++) for (const arm of arms) await step(arm); // warm-up: connections, leaves, SDK clients, JIT
    progress('warmed up');

    const phase = async (rounds: number, perRound: number) => {
      const from = await Promise.all([on.log, off.log].map(async (f) => (await stat(f)).size));
      const result = await alternatingRounds(arms, rounds, perRound);
      await new Promise((r) => setTimeout(r, 200)); // let the seb processes flush their last log lines
      return { ...result, stagesMs: await stageTimes([on.log, off.log], from, armOfGroup) };
    };
    const loopback = await phase(ROUNDS, PER_ROUND);
    progress('loopback rounds done');
    relay.setDelay(RTT_MS / 2);
    const modelled = RTT_MS > 0 ? await phase(RTT_ROUNDS, RTT_PER_ROUND) : undefined;
    relay.setDelay(0);
    progress('modelled-RTT rounds done');

    // Throughput: certified mutations per second through one seb (concurrent stages, drift waived), each worker on
    // its own group, against the same calls sent directly at the same concurrency (moto's own ceiling).
    const lanes = async (prefix: string) => { // one after another: moto answers 500 to concurrent CreateSecurityGroup calls
      const out: Lane[] = [];
      for (let i = 0; i < CONCURRENCY; i++) out.push(await lane(`${prefix}-${i}`, false));
      return out;
    };
    const directRate = await throughput((l) => callDirect(direct, upstream, world.direct, l.next, l.groupId), await lanes('tp-direct'));
    const sebRate = await throughput(viaSeb(viaOn), await lanes('tp-seb'));
    progress('throughput done');

    return {
      description: 'AuthorizeSecurityGroupIngress / RevokeSecurityGroupIngress on a security group, alternating: direct to moto vs through seb with a fresh certificate each (placeholder keys verified, seven stages, STS AssumeRole with a session policy, re-signing), moto with IAM enforcement on',
      config: { rounds: ROUNDS, perRoundPerArm: PER_ROUND, modelledRttMs: RTT_MS, modelledRttRounds: RTT_ROUNDS, modelledRttPerRoundPerArm: RTT_PER_ROUND, concurrency: CONCURRENCY, concurrentAttempts: CONCURRENT },
      loopback,
      ...(modelled ? { modelledRtt: { rttMs: RTT_MS, note: 'every byte between the callers (seb, the direct client) and moto held RTT/2 each way by a relay: a model of a real region round trip, not a measurement of AWS', ...modelled } } : {}),
      certifiedMutationsPerSecond: { concurrency: CONCURRENCY, direct: directRate, throughSeb: sebRate },
      paperReference: { brokerOverheadP50Ms: 136.9, brokerOverheadP99Ms: 284.1, driftShareOfOverhead: 0.62, stsAdapterReqPerSecond: 240, stsAdapterThreads: 40 },
      ...(observe ? {} : { note: 'platforms/aws/observe.ts is not in this checkout: drift could only be waived' }),
      setting: 'moto_server (Python, IAM enforcement), two seb processes (PGlite ledgers, request logs to files) and this client on one machine; STS and EC2 are moto on loopback behind a pass-through relay',
    };
  } finally {
    for (const d of dispatchers) await d.close().catch(() => undefined);
    for (const s of sebs) await stop(s);
    await relay.close();
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

type Arm = { readonly name: string; readonly lane: Lane; readonly send: (l: Lane) => Promise<number> };

async function step(arm: Arm): Promise<void> {
  const status = await arm.send(arm.lane);
  if (status !== 200) throw new Error(`${arm.name}: ${arm.lane.next} answered ${status}`);
  arm.lane.next = arm.lane.next === 'AuthorizeSecurityGroupIngress' ? 'RevokeSecurityGroupIngress' : 'AuthorizeSecurityGroupIngress';
}

/** Rounds over every arm, the order reversed every other round (A/B/…, then …/B/A): latency, overhead vs direct. */
async function alternatingRounds(arms: Arm[], rounds: number, perRound: number) {
  const samples = new Map<string, number[]>(arms.map((a) => [a.name, []]));
  const roundsP50Ms: Array<Record<string, number>> = [];
  for (let r = 0; r < rounds; r++) {
    const roundP50: Record<string, number> = {};
    for (const arm of r % 2 === 0 ? arms : [...arms].reverse()) {
      const mine: number[] = [];
      for (let i = 0; i < perRound; i++) {
        const t = performance.now();
        await step(arm);
        mine.push(performance.now() - t);
      }
      samples.get(arm.name)!.push(...mine);
      roundP50[arm.name] = summarize(mine).p50;
    }
    roundsP50Ms.push(roundP50);
  }
  const latency = Object.fromEntries([...samples].map(([name, s]) => [name, summarize(s)])) as Record<string, LatencySummary>;
  const d = latency.direct!;
  const brokerOverhead = Object.fromEntries(arms.filter((a) => a.name !== 'direct').map((a) => {
    const s = latency[a.name]!;
    return [a.name, { p50Ms: round(s.p50 - d.p50), p99Ms: round(s.p99 - d.p99), p50Ratio: round(s.p50 / d.p50), p99Ratio: round(s.p99 / d.p99) }];
  }));
  return { latency, brokerOverhead, roundsP50Ms };
}

/** Mutations per second with one lane per worker (each lane's authorize/revoke stay in order). */
async function throughput(send: (l: Lane) => Promise<number>, lanes: Lane[]) {
  let left = CONCURRENT;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(lanes.map(async (l) => {
    while (left-- > 0) {
      if ((await send(l)) === 200) done++;
      l.next = l.next === 'AuthorizeSecurityGroupIngress' ? 'RevokeSecurityGroupIngress' : 'AuthorizeSecurityGroupIngress';
    }
  }));
  return { attempted: CONCURRENT, succeeded: done, perSecond: Math.round(done / ((performance.now() - t0) / 1000)) };
}

/** IAM as manifests/aws sets it up (rendered with this account): seb's user, the executor role, a direct caller. */
async function setUpIam(moto: Moto): Promise<{ admin: Keys; seb: Keys; direct: Keys }> {
  const root = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const iamAs = (credentials: Keys) => async (action: string, params: Record<string, string>) => {
    const r = await awsQuery(moto.url, { service: 'iam', credentials, action, params });
    if (r.status !== 200) throw new Error(`IAM ${action}: ${r.status} ${r.body}`);
    return r.body;
  };
  const keysOf = (xml: string): Keys => ({ accessKeyId: xmlField(xml, 'AccessKeyId')!, secretAccessKey: xmlField(xml, 'SecretAccessKey')! });
  // The first three calls are unauthenticated (INITIAL_NO_AUTH_ACTION_COUNT=3): they make an administrator.
  const bootstrap = iamAs(root);
  await bootstrap('CreateUser', { UserName: 'admin' });
  await bootstrap('PutUserPolicy', { UserName: 'admin', PolicyName: 'all', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) });
  const admin = keysOf(await bootstrap('CreateAccessKey', { UserName: 'admin' }));
  const iam = iamAs(admin);
  const values: Record<string, string> = { ACCOUNT_ID: ACCOUNT, EXECUTOR_ROLE_NAME: 'seb-executor', SEB_PRINCIPAL_ARN: `arn:aws:iam::${ACCOUNT}:user/seb-broker`, SEB_ROLE_NAME: 'seb-broker' };
  const manifest = async (name: string) => (await readFile(path.join(ROOT, 'manifests', 'aws', `${name}.json`), 'utf8')).replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => values[k]!);
  for (const name of ['seb-policy', 'agent-read-only', 'executor-permissions']) await iam('CreatePolicy', { PolicyName: name, PolicyDocument: await manifest(name) });
  const policyArn = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/${name}`;
  await iam('CreateUser', { UserName: 'seb-broker' });
  for (const name of ['seb-policy', 'agent-read-only']) await iam('AttachUserPolicy', { UserName: 'seb-broker', PolicyArn: policyArn(name) });
  const seb = keysOf(await iam('CreateAccessKey', { UserName: 'seb-broker' }));
  await iam('CreateRole', { RoleName: 'seb-executor', AssumeRolePolicyDocument: await manifest('executor-trust-policy'), MaxSessionDuration: '3600' });
  await iam('AttachRolePolicy', { RoleName: 'seb-executor', PolicyArn: policyArn('executor-permissions') });
  // The baseline caller holds long-lived keys with the executor's ceiling: what an agent without seb would use.
  await iam('CreateUser', { UserName: 'direct-caller' });
  await iam('AttachUserPolicy', { UserName: 'direct-caller', PolicyArn: policyArn('executor-permissions') });
  const direct = keysOf(await iam('CreateAccessKey', { UserName: 'direct-caller' }));
  return { admin, seb, direct };
}

async function createGroup(moto: Moto, admin: Keys, name: string): Promise<string> {
  const r = await awsQuery(moto.url, { service: 'ec2', credentials: admin, action: 'CreateSecurityGroup', params: { GroupName: `bench-${name}`, GroupDescription: 'seb AWS benchmark' } });
  const id = xmlField(r.body, 'groupId');
  if (!id) throw new Error(`CreateSecurityGroup ${name}: ${r.status} ${r.body}`);
  return id;
}

/** The SAB's view of a group, read with the same probe seb uses (undefined when this checkout has no AWS probes). */
async function driftObserver(moto: Moto, credentials: Keys): Promise<((groupId: string) => Promise<JsonValue>) | undefined> {
  const mod = await import('../platforms/aws/observe.ts').catch(() => undefined);
  if (!mod) return undefined;
  const observer = mod.createAwsObserver({ credentials, endpoint: moto.url, accountId: ACCOUNT });
  return async (groupId) => {
    const r = await observer.observe({ platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [groupArn(groupId)], params: {}, risk: 'low' });
    if (!r.ok) throw new Error(`observing ${groupId}: ${r.error.message}`);
    return r.value;
  };
}

const groupArn = (groupId: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${groupId}`;

function certificate(key: SigningKey, lane: Lane): string {
  const now = Math.floor(Date.now() / 1000);
  const signed = signCertificate({
    v: 1, cid: newCid(), iss: 'bench-sab', sub: SUBJECT,
    contract: { platform: 'aws', operation: `ec2:${lane.next}`, targets: [groupArn(lane.groupId)], params: { GroupId: lane.groupId, IpPermissions: [RULE] }, risk: 'low' },
    admitted: lane.digests?.[lane.next] ?? { waived: true, reason: 'benchmark: drift waived' },
    nbf: now - 5, exp: now + 600, policyEpoch: 0, revocationEpoch: 0, nonce: newNonce(),
  }, key);
  if (!signed.ok) throw new Error(signed.error.message);
  return signed.value;
}

/** A Query request to EC2 signed with `keys` for `host`, sent with `dispatcher` to `origin`. */
async function signedCall(dispatcher: Dispatcher, origin: string, host: string, keys: Keys, op: Op, groupId: string, extra: Record<string, string> = {}): Promise<number> {
  const body = new URLSearchParams({ Action: op, Version: '2016-11-15', GroupId: groupId, ...RULE_FORM }).toString();
  const signer = new SignatureV4({ service: 'ec2', region: REGION, credentials: keys, sha256 });
  const signed = await signer.sign({ method: 'POST', protocol: 'https:', hostname: host.split(':')[0]!, ...(host.includes(':') ? { port: Number(host.split(':')[1]) } : {}), path: '/', query: {}, headers: { host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
  const headers: Record<string, string> = { ...extra };
  for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') headers[k] = v;
  const res = await request(`${origin}/`, { dispatcher, method: 'POST', headers, body });
  const text = await res.body.text();
  if (res.statusCode !== 200 && process.env.BENCH_AWS_DEBUG) process.stderr.write(`${op} ${res.statusCode}: ${text.slice(0, 400)}\n`);
  return res.statusCode;
}

const callDirect = (dispatcher: Dispatcher, moto: Moto, keys: Keys, op: Op, groupId: string) => signedCall(dispatcher, moto.url, `127.0.0.1:${moto.port}`, keys, op, groupId);
const callViaSeb = (dispatcher: Dispatcher, op: Op, groupId: string, cert: string) => signedCall(dispatcher, `https://${HOST}`, HOST, AGENT_KEY, op, groupId, { 'seb-certificate': cert });

async function startSeb(dir: string, name: string, concurrentStages: boolean, moto: Moto, seb: Keys, children: ChildProcess[]): Promise<{ proxy: string; ca: string; log: string }> {
  const proxy = `127.0.0.1:${await freePort()}`;
  const stateDir = path.join(dir, name);
  const config = path.join(dir, `${name}.json`);
  await writeFile(config, JSON.stringify({
    stateDir, listen: { proxy, endpoint: 'off', admin: 'off' }, upstreams: { aws: moto.url },
    trust: { file: path.join(dir, 'trust.json') }, agent: { subject: SUBJECT },
    aws: { accountId: ACCOUNT, agentAccessKeyId: AGENT_KEY.accessKeyId, agentSecretAccessKey: AGENT_KEY.secretAccessKey, executorRoleArn: `arn:aws:iam::${ACCOUNT}:role/seb-executor`, sebAccessKeyId: seb.accessKeyId, sebSecretAccessKey: seb.secretAccessKey },
    pipeline: { concurrentStages },
  }));
  const log = path.join(dir, `${name}.log`);
  const out = await open(log, 'w');
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'seb.ts'), 'serve', '--config', config], { stdio: ['ignore', out.fd, 'inherit'], cwd: ROOT });
  children.push(child);
  await out.close();
  await waitForPort(proxy, child);
  return { proxy, ca: await readFile(path.join(stateDir, 'ca', 'ca.crt'), 'utf8'), log };
}

/** Per-stage durations (ms, p50/p99) of each arm's executed mutations, from the seb request logs past `from` (one
 * JSON line per request, with the certificate's targets, each stage's duration and the whole request's); `after
 * stages` is the rest of seb's time: agent signature check, parsing, re-signing, the executed call itself, records.
 * logs[0] is the seb with concurrent stages. */
async function stageTimes(logs: string[], from: number[], armOfGroup: Map<string, string>): Promise<Record<string, Record<string, { p50: number; p99: number }>>> {
  const by = new Map<string, Map<string, number[]>>();
  for (const [i, file] of logs.entries()) {
    const text = (await readFile(file)).subarray(from[i] ?? 0).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line.includes('"executed"')) continue;
      const entry = JSON.parse(line) as { outcome?: string; durationMs?: number; contract?: { targets?: string[] }; stages?: Array<{ stage: string; ms: number }> };
      const arm = armOfGroup.get(entry.contract?.targets?.[0] ?? '');
      if (entry.outcome !== 'executed' || !arm) continue;
      const stages = by.get(arm) ?? by.set(arm, new Map()).get(arm)!;
      const add = (name: string, ms: number) => stages.set(name, [...(stages.get(name) ?? []), ms]);
      for (const s of entry.stages ?? []) add(s.stage, s.ms);
      if (typeof entry.durationMs === 'number') {
        // Replay, drift and mint overlap when the stages run concurrently (logs[0]): count their slowest, not their sum.
        const ms = (name: string) => entry.stages?.find((s) => s.stage === name)?.ms ?? 0;
        const overlapping = ['replay', 'drift', 'mint'];
        const inStages = (entry.stages ?? []).filter((s) => !overlapping.includes(s.stage)).reduce((sum, s) => sum + s.ms, 0)
          + (i === 0 ? Math.max(...overlapping.map(ms)) : overlapping.reduce((sum, n) => sum + ms(n), 0));
        add('seb total', entry.durationMs);
        add('after stages', entry.durationMs - inStages);
      }
    }
  }
  return Object.fromEntries([...by].map(([arm, stages]) => [arm, Object.fromEntries([...stages].map(([stage, ms]) => {
    const s = summarize(ms);
    return [stage, { p50: s.p50, p99: s.p99 }];
  }))]));
}

/** A TCP relay to moto that can hold every chunk `oneWayMs` in each direction (order kept: equal delays fire in order). */
function startDelayRelay(targetPort: number): Promise<{ port: number; setDelay(oneWayMs: number): void; close(): Promise<void> }> {
  let delay = 0;
  const sockets = new Set<Socket>();
  const later = (fn: () => void) => (delay > 0 ? setTimeout(fn, delay) : fn());
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('data', (chunk) => later(() => { if (!to.destroyed) to.write(chunk); }));
      from.on('end', () => later(() => to.end()));
      from.on('error', () => to.destroy());
      from.on('close', () => { sockets.delete(from); later(() => to.destroy()); });
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as AddressInfo).port,
    setDelay: (ms) => { delay = ms; },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  })));
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

