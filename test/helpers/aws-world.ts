// An AWS world for end-to-end tests: moto_server with IAM enforcement, seb in front of it with placeholder agent
// keys, an executor role and its own read identity, and a development SAB that can certify drift-checked
// certificates by observing targets through the same probes seb uses.
//
// Identities in moto (account 123456789012):
//   seb-broker  sts:AssumeRole on the executor role, ec2/autoscaling Describe*   (seb's own identity)
//   agent       ec2/autoscaling Describe* only                                   (the agent's real keys: bypass test)
//   sab-reader  ec2/autoscaling Describe* only                                   (the SAB's view of the targets)
//   operator    ec2:*, autoscaling:*                                             (test setup, out-of-band changes)
//   seb-executor (role) ec2:*, autoscaling:*; only seb-broker may assume it
// Setup runs before enforcement; then /moto-api/reset-auth sets INITIAL_NO_AUTH_ACTION_COUNT to 0, so every later
// call (the agent's, seb's, the operator's) is signature-checked and authorised by moto.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { digestState, generateSigningKey, trustedKeyConfig, type AwsContract, type FieldPath, type JsonValue } from '../../certs/sab/index.ts';
import { createAwsObserver } from '../../platforms/aws/observe.ts';
import { SignatureV4 } from '@smithy/signature-v4';
import { Agent, fetch as undiciFetch } from 'undici';
import { awsQuery, sha256, xmlField, type TestAwsCredentials } from './aws-query.ts';
import { agentEnv as sebAgentEnv } from '../../cli/agent-env.ts';
import { run, type RunResult } from './run.ts';
import { createTestSab, type TestSab } from './sab.ts';
import { startTestSeb, tempDir, type TestSeb } from './seb.ts';
import { startMoto, type Moto } from './services.ts';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
/** The placeholder keys seb issues the agent: worthless at moto. */
export const AGENT_KEY: TestAwsCredentials = { accessKeyId: 'AKIASEBAGENTPLACEHOLDER', secretAccessKey: 'seb-placeholder-agent-secret-0123456789' };
const ROOT: TestAwsCredentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

const QUERY_VERSIONS = { ec2: '2016-11-15', autoscaling: '2011-01-01' } as const;

export const sgArn = (id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${id}`;
export const instanceArn = (id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`;
export const asgArn = (name: string) => `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/${name}`;

export interface AwsWorld {
  readonly moto: Moto;
  readonly seb: TestSeb;
  readonly sab: TestSab;
  readonly dir: string;
  /** The environment `seb agent-env` prints (HTTPS_PROXY, CA bundles ...). */
  readonly agentEnv: Record<string, string>;
  /** The agent's own IAM keys (describe only), for the bypass test. */
  readonly agentOwn: TestAwsCredentials;
  readonly sabReader: TestAwsCredentials;
  /** Clients straight at moto as the operator: setup and out-of-band changes. */
  readonly operator: { readonly ec2: EC2Client; readonly autoscaling: AutoScalingClient; readonly credentials: TestAwsCredentials };
  /** The real aws CLI as the agent (placeholder keys, through HTTPS_PROXY). */
  aws(args: readonly string[], key?: TestAwsCredentials): Promise<RunResult>;
  /** A Query-protocol call as an SDK agent in endpoint mode makes it: signed with the placeholder keys for seb's
   * endpoint listener, optionally carrying the certificate in the Seb-Certificate header. */
  agentQuery(service: 'ec2' | 'autoscaling', action: string, params: Record<string, string>, opts?: { certificate?: string }): Promise<{ status: number; body: string; code: string | undefined }>;
  /** Stages a certificate in the running seb (POST /v1/certificates); resolves to its cid. */
  stage(cert: string): Promise<string>;
  /** Withdraws a staged certificate (DELETE /v1/certificates/CID). */
  withdraw(cid: string): Promise<void>;
  /** A drift-checked certificate: the SAB observes the targets now (same probe as seb) and certifies `paths`. */
  issueObserved(contract: AwsContract, paths: readonly FieldPath[], epsilon?: number): Promise<string>;
  /** The targets' state as the probes see it (read as the SAB). */
  observe(contract: AwsContract): Promise<JsonValue>;
  stop(): Promise<void>;
}

export interface AwsWorldOptions {
  /** Also create a SAB key file here (sab.key, as `seb sab keygen` writes it) and trust it, for `seb sab issue`. */
  readonly cliSabDir?: string;
}

export async function startAwsWorld(subject: string, opts: AwsWorldOptions = {}): Promise<AwsWorld> {
  const moto = await startMoto();
  try {
    return await build(moto, subject, opts);
  } catch (err) {
    await moto.stop();
    throw err;
  }
}

async function build(moto: Moto, subject: string, opts: AwsWorldOptions): Promise<AwsWorld> {
  const iam = async (action: string, params: Record<string, string>) => {
    const r = await awsQuery(moto.url, { service: 'iam', credentials: ROOT, action, params });
    if (r.status !== 200) throw new Error(`${action}: ${r.status} ${r.body}`);
    return r.body;
  };
  const policy = (statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statement });
  const describe = { Effect: 'Allow', Action: ['ec2:Describe*', 'autoscaling:Describe*'], Resource: '*' };
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/seb-executor`;
  const user = async (name: string, statement: object[]): Promise<TestAwsCredentials> => {
    await iam('CreateUser', { UserName: name });
    await iam('PutUserPolicy', { UserName: name, PolicyName: 'p', PolicyDocument: policy(statement) });
    const keys = await iam('CreateAccessKey', { UserName: name });
    return { accessKeyId: xmlField(keys, 'AccessKeyId')!, secretAccessKey: xmlField(keys, 'SecretAccessKey')! };
  };
  const sebKeys = await user('seb-broker', [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn }, describe]);
  const agentOwn = await user('agent', [describe]);
  const sabReader = await user('sab-reader', [describe]);
  const operatorKeys = await user('operator', [{ Effect: 'Allow', Action: ['ec2:*', 'autoscaling:*'], Resource: '*' }]);
  await iam('CreateRole', { RoleName: 'seb-executor', AssumeRolePolicyDocument: policy([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/seb-broker` }, Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'] }]) });
  await iam('PutRolePolicy', { RoleName: 'seb-executor', PolicyName: 'execute', PolicyDocument: policy([{ Effect: 'Allow', Action: ['ec2:*', 'autoscaling:*'], Resource: '*' }]) });
  // From here on moto checks every signature and policy.
  const enforced = await fetch(`${moto.url}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!enforced.ok) throw new Error(`moto reset-auth: ${enforced.status} ${await enforced.text()}`);

  const clientConfig = { region: REGION, endpoint: moto.url, credentials: operatorKeys, maxAttempts: 1 };
  const operator = { ec2: new EC2Client(clientConfig), autoscaling: new AutoScalingClient(clientConfig), credentials: operatorKeys };

  const dir = await tempDir('seb-aws-');
  const sab = await createTestSab(dir, subject);
  if (opts.cliSabDir) await trustCliSab(opts.cliSabDir, sab.trustFile);
  const seb = await startTestSeb({
    upstreams: { aws: moto.url }, trust: { file: sab.trustFile }, agent: { subject },
    aws: { accountId: ACCOUNT, agentAccessKeyId: AGENT_KEY.accessKeyId, agentSecretAccessKey: AGENT_KEY.secretAccessKey, executorRoleArn: roleArn, sebAccessKeyId: sebKeys.accessKeyId, sebSecretAccessKey: sebKeys.secretAccessKey },
  });
  // What `seb agent-env` prints for this seb (built in-process: a CLI process per test file costs seconds here).
  const agentEnv = sebAgentEnv({ proxyListen: seb.seb.addresses.proxy, caCertFile: seb.seb.caCertFile, bundleFile: path.join(path.dirname(seb.seb.caCertFile), 'bundle.pem'), awsAgent: AGENT_KEY });
  const adminToken = (await readFile(path.join(seb.stateDir, 'admin.token'), 'utf8')).trim();
  const endpointAgent = new Agent({ connect: { ca: seb.caPem } });
  const sabObserver = createAwsObserver({ endpoint: moto.url, credentials: sabReader, identity: "the SAB's credentials" });

  const observe = async (contract: AwsContract): Promise<JsonValue> => {
    const state = await sabObserver.observe(contract);
    if (!state.ok) throw new Error(state.error.message);
    return state.value;
  };

  return {
    moto, seb, sab, dir, agentEnv, agentOwn, sabReader, operator,
    aws: (args, key = AGENT_KEY) => run('aws', [...args, '--output', 'json'], {
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, ...agentEnv,
        AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, AWS_DEFAULT_REGION: REGION,
        AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    }),
    async agentQuery(service, action, params, opts = {}) {
      const host = `127.0.0.1:${seb.endpointPort}`;
      const body = new URLSearchParams({ Action: action, Version: QUERY_VERSIONS[service], ...params }).toString();
      const signed = await new SignatureV4({ service, region: REGION, credentials: AGENT_KEY, sha256 }).sign({
        method: 'POST', protocol: 'https:', hostname: '127.0.0.1', port: seb.endpointPort, path: '/', query: {},
        headers: { host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...(opts.certificate ? { 'seb-certificate': opts.certificate } : {}) }, body,
      });
      const res = await undiciFetch(`https://${host}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body, dispatcher: endpointAgent });
      return { status: res.status, body: await res.text(), code: res.headers.get('seb-denial-code') ?? undefined };
    },
    async stage(cert) {
      const res = await fetch(`${seb.adminUrl}/v1/certificates`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/plain' }, body: cert });
      const body = await res.text();
      if (res.status !== 201) throw new Error(`staging failed: ${res.status} ${body}`);
      return (JSON.parse(body) as { cid: string }).cid;
    },
    async withdraw(cid) {
      const res = await fetch(`${seb.adminUrl}/v1/certificates/${cid}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
      if (!res.ok) throw new Error(`withdrawing ${cid}: ${res.status} ${await res.text()}`);
    },
    async issueObserved(contract, paths, epsilon = 0) {
      const state = await observe(contract);
      return sab.issue(contract, { admitted: { waived: false, state: digestState(state, [...paths]), epsilon } });
    },
    observe,
    async stop() {
      operator.ec2.destroy();
      operator.autoscaling.destroy();
      await endpointAgent.close();
      await seb.stop();
      await moto.stop();
    },
  };
}

/** A key file as `seb sab keygen` writes it (dir/sab.key), added to the trust store at `trustFile`. */
async function trustCliSab(dir: string, trustFile: string): Promise<void> {
  const key = generateSigningKey();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(dir, 'sab.key'), key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  const trust = JSON.parse(await readFile(trustFile, 'utf8')) as { keys: unknown[] };
  await writeFile(trustFile, JSON.stringify({ keys: [...trust.keys, trustedKeyConfig(key)] }));
}

/** The denial code a failed aws CLI call printed ("An error occurred (SEB_...)"), if any. */
export function cliErrorCode(result: RunResult): string | undefined {
  return /An error occurred \(([A-Za-z0-9_.]+)\)/.exec(result.stderr)?.[1];
}
