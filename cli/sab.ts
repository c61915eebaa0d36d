// `seb sab ...`: a development SAB. It holds an Ed25519 key and signs certificates from contract files, so the
// whole flow can be tried and tested without a production approval authority.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { rootCertificates } from 'node:tls';
import { Agent } from 'undici';
import { kubePlatform } from '../platforms/kube/module.ts';
import { createAwsObserver } from '../platforms/aws/observe.ts';
import {
  digestState, newCid, newNonce, signCertificate, signingKeyFromPem, trustedKeyConfig, generateSigningKey,
  type Admitted, type CertificatePayload, type Contract, type JsonValue,
} from '../certs/sab/index.ts';

export class CliError extends Error {}

export function registerSabCommands(program: Command): void {
  const sab = program.command('sab').description('a development SAB (approval authority): keys and certificates');

  sab.command('keygen')
    .description('create an Ed25519 SAB key (sab.key, mode 0600) and the trust store seb needs (trust.json)')
    .requiredOption('--out <dir>', 'directory to write sab.key and trust.json into')
    .option('--iss <issuer>', 'bind the key to this issuer name in the trust store')
    .action(async (flags: { out: string; iss?: string }) => {
      const key = generateSigningKey();
      await mkdir(flags.out, { recursive: true, mode: 0o700 });
      const keyFile = path.join(flags.out, 'sab.key');
      const trustFile = path.join(flags.out, 'trust.json');
      await writeFile(keyFile, key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
      await writeFile(trustFile, JSON.stringify({ keys: [trustedKeyConfig(key, flags.iss ? { iss: flags.iss } : {})] }, null, 2) + '\n');
      process.stdout.write(`key id ${key.kid}\n  private key: ${keyFile} (mode 0600)\n  trust store: ${trustFile} (give it to seb as trust.file)\n`);
    });

  sab.command('issue')
    .description('sign a certificate for a contract (YAML or JSON: platform, operation, targets, params, bounds?, risk)')
    .requiredOption('--key <file>', 'the SAB private key (from seb sab keygen)')
    .requiredOption('--contract <file>', 'the contract to certify')
    .requiredOption('--sub <subject>', 'the agent the certificate is for (seb agent.subject)')
    .option('--iss <issuer>', 'issuer name', 'seb-dev-sab')
    .option('--ttl <seconds>', 'validity window from now', '300')
    .option('--policy-epoch <n>', 'policy epoch the certificate is issued under', '0')
    .option('--revocation-epoch <n>', 'revocation epoch the certificate is issued under', '0')
    .option('--state <file>', 'the target state the SAB saw (JSON); with --paths, certified for the drift check')
    .option('--paths <pointers>', 'comma-separated RFC 6901 paths of the state to certify, e.g. /spec/replicas')
    .option('--epsilon <fraction>', 'tolerated fraction of certified paths that may change (0 = none)', '0')
    .option('--waive-drift <reason>', 'certify without a drift check, stating why')
    .option('--observe', 'read the target\'s current state through the platform\'s drift probe and certify --paths of it (Kubernetes; AWS security groups, instances, Auto Scaling groups)')
    .option('--aws-endpoint <url>', 'with --observe on an AWS contract: where to read (moto, LocalStack); default the regional AWS endpoints. Credentials: the AWS SDK default chain (AWS_ACCESS_KEY_ID, AWS_PROFILE ...)')
    .option('--kube-server <url>', 'with --observe: the Kubernetes API server')
    .option('--kube-ca <file>', 'with --observe: CA bundle of the API server (default: system roots)')
    .option('--token-file <file>', 'with --observe: a bearer token allowed to read the target')
    .action(async (flags: IssueFlags) => {
      process.stdout.write((await issue(flags)) + '\n');
    });
}

interface IssueFlags {
  key: string; contract: string; sub: string; iss: string; ttl: string; policyEpoch: string; revocationEpoch: string;
  state?: string; paths?: string; epsilon: string; waiveDrift?: string; observe?: boolean;
  kubeServer?: string; kubeCa?: string; tokenFile?: string; awsEndpoint?: string;
}

async function issue(flags: IssueFlags): Promise<string> {
  const key = signingKeyFromPem(await readFile(flags.key, 'utf8'));
  if (!key.ok) throw new CliError(`--key ${flags.key}: ${key.error}`);
  const contract = parseYaml(await readFile(flags.contract, 'utf8'), { uniqueKeys: true }) as Contract;
  const admitted = flags.observe ? await observed(flags, contract) : await admittedFrom(flags);
  const now = Math.floor(Date.now() / 1000);
  const payload: CertificatePayload = {
    v: 1, cid: newCid(), iss: flags.iss, sub: flags.sub, contract, admitted,
    nbf: now, exp: now + int(flags.ttl, '--ttl'), policyEpoch: int(flags.policyEpoch, '--policy-epoch'),
    revocationEpoch: int(flags.revocationEpoch, '--revocation-epoch'), nonce: newNonce(),
  };
  const signed = signCertificate(payload, key.value);
  if (!signed.ok) throw new CliError(`cannot issue: ${signed.error.message}`);
  return signed.value;
}

async function admittedFrom(flags: IssueFlags): Promise<Admitted> {
  if (flags.waiveDrift !== undefined) {
    if (flags.state || flags.paths) throw new CliError('give either --waive-drift or --state with --paths, not both');
    return { waived: true, reason: flags.waiveDrift };
  }
  if (!flags.state || !flags.paths) throw new CliError('the drift check needs --state FILE and --paths /a,/b (or --waive-drift REASON)');
  const state = JSON.parse(await readFile(flags.state, 'utf8')) as JsonValue;
  const epsilon = Number(flags.epsilon);
  if (!(epsilon >= 0 && epsilon < 1)) throw new CliError('--epsilon must be a fraction in [0, 1)');
  return { waived: false, state: digestState(state, flags.paths.split(',').map((p) => p.trim()).filter(Boolean)), epsilon };
}

/** The SAB reads the target now, through the same probe the broker re-observes it with. */
async function observed(flags: IssueFlags, contract: Contract): Promise<Admitted> {
  if (flags.waiveDrift !== undefined || flags.state) throw new CliError('--observe replaces --state and --waive-drift');
  if (!flags.paths) throw new CliError('--observe needs --paths /a,/b: the fields of the target to certify');
  const epsilon = Number(flags.epsilon);
  if (!(epsilon >= 0 && epsilon < 1)) throw new CliError('--epsilon must be a fraction in [0, 1)');
  const state = contract.platform === 'aws' ? await observeAws(flags, contract) : contract.platform === 'kube' ? await observeKube(flags, contract) : undefined;
  if (!state) throw new CliError('--observe needs a contract whose platform is "kube" or "aws"');
  if (!state.ok) throw new CliError(`cannot observe the target: ${state.error.message} (to certify without a drift check, use --waive-drift REASON instead of --observe)`);
  return { waived: false, state: digestState(state.value, flags.paths.split(',').map((p) => p.trim()).filter(Boolean)), epsilon };
}

async function observeKube(flags: IssueFlags, contract: Contract) {
  if (!flags.kubeServer || !flags.tokenFile) throw new CliError('--observe on a Kubernetes contract needs --kube-server URL and --token-file FILE');
  const ca = flags.kubeCa ? [...rootCertificates, await readFile(flags.kubeCa, 'utf8')] : [...rootCertificates];
  const dispatcher = new Agent({ connect: { ca } });
  const token = (await readFile(flags.tokenFile, 'utf8')).trim();
  const origin = new URL(flags.kubeServer).origin;
  const state = await kubePlatform({ dispatcher, upstream: origin, timeoutMs: 10_000 }).adapter.observe(contract, { headers: { authorization: `Bearer ${token}` } });
  await dispatcher.close();
  return state;
}

async function observeAws(flags: IssueFlags, contract: Contract) {
  if (flags.awsEndpoint !== undefined && !URL.canParse(flags.awsEndpoint)) throw new CliError(`--aws-endpoint must be a URL, got ${flags.awsEndpoint}`);
  return createAwsObserver({ endpoint: flags.awsEndpoint, identity: "the SAB's AWS credentials" }).observe(contract);
}

function int(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`${flag} must be a non-negative integer, got ${v}`);
  return n;
}
