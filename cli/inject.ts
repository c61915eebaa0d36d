// `seb inject -f FILE`: the mutating webhook's injection, offline, on Kubernetes YAML (like `istioctl kube-inject`),
// for clusters without the webhook. `seb agent-files --out DIR`: what the injected seb-init container runs — seb's
// CA, the agent's CA bundle, kubeconfig and placeholder ServiceAccount files, written where the agent reads them;
// with --refuse-config-secrets it first fails the pod if the sidecar's ConfigMap holds a secret.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { caPaths, initCa } from '../certs/ca/ca.ts';
import { writeAgentBundle } from '../certs/ca/bundle.ts';
import type { SebConfig } from '../config/schema.ts';
import { injectSettingsOf } from '../admission/inject-review.ts';
import { injectDocument } from '../admission/inject-workloads.ts';
import { CliError } from './sab.ts';

export function registerInjectCommands(program: Command, withConfig: (cmd: Command) => Command, configFrom: (flags: object) => SebConfig): void {
  withConfig(program.command('inject').description('add seb\'s sidecar to the pods of Kubernetes YAML (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, List), as the mutating webhook would; other kinds pass through'))
    .requiredOption('-f, --filename <file>', 'the YAML to inject (several documents allowed), or - for standard input')
    .action(async (flags: { filename: string }) => {
      const settings = injectSettingsOf(configFrom(flags));
      const text = await readInput(flags.filename);
      process.stdout.write(injectYaml(text, flags.filename === '-' ? 'standard input' : flags.filename, settings, (note) => process.stderr.write(`seb inject: ${note}\n`)));
    });

  withConfig(program.command('agent-files').description('write seb\'s CA, the CA bundle, a kubeconfig and placeholder ServiceAccount files for the agent into a directory (the injected seb-init container runs this)'))
    .requiredOption('--out <dir>', 'where the agent reads them (the injected pod mounts it at /var/run/seb)')
    .option('--namespace <ns>', 'the agent\'s namespace (default: env POD_NAMESPACE)')
    .option('--refuse-config-secrets', 'fail when the configuration file holds a secret (seb\'s AWS keys, the ledger URL): in an injected pod it is a ConfigMap the agent can read')
    .action(async (flags: { out: string; namespace?: string; config?: string; refuseConfigSecrets?: boolean }) => {
      const config = configFrom(flags);
      const file = flags.config ?? process.env.SEB_CONFIG;
      if (flags.refuseConfigSecrets && file) await refuseConfigSecrets(file);
      const written = await writeAgentFiles(config, flags.out, flags.namespace ?? process.env.POD_NAMESPACE);
      process.stdout.write(`wrote ${written.join(', ')}\n`);
    });
}

/** Every document of a multi-document YAML stream, injected where it holds an opted-in (or unlabelled) pod
 * template; documents that change nothing are passed through as they were written, comments included. */
export function injectYaml(text: string, source: string, settings: ReturnType<typeof injectSettingsOf>, note: (message: string) => void): string {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) return text; // an empty stream
  const out: string[] = [];
  for (const [i, doc] of docs.entries()) {
    const where = `${source}, document ${i + 1}`;
    const bad = doc.errors[0];
    if (bad) throw new CliError(`${where} is not valid YAML: ${bad.message.split('\n')[0]}`);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const result = injectDocument(value, settings);
    if (!result.ok) throw new CliError(`${where}: ${result.message}`);
    for (const n of result.notes) note(`${where}: ${n}`);
    // The document's own text (from the end of the previous one), without its --- and ... markers.
    const written = text.slice(i === 0 ? 0 : docs[i - 1]!.range[2], doc.range[2]).replace(/^---(?=\s|$)/, '').replace(/\n\.\.\.\s*$/, '\n');
    const leadingComments = /^(\s*#[^\n]*\n|\s*\n)*/.exec(written)![0].replace(/^\s*\n/, '');
    out.push(result.changed ? leadingComments + stringify(result.value, { lineWidth: 0 }) : written.replace(/^[ \t]*\n/, ''));
  }
  return out.map((d) => d.replace(/\n*$/, '\n')).join('---\n');
}

async function readInput(file: string): Promise<string> {
  try {
    if (file !== '-') return await readFile(file, 'utf8');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Settings that are secrets. In an injected pod the configuration file is the ConfigMap inject.configMap, which the
 * agent can read through seb (seb reads with the pod's ServiceAccount, whose `view` role covers ConfigMaps). */
const SECRET_SETTINGS: ReadonlyArray<readonly [string, string, string]> = [
  ['aws', 'sebAccessKeyId', 'the Secret named by inject.sebCredentialsSecret (or inject.sebWebIdentity)'],
  ['aws', 'sebSecretAccessKey', 'the Secret named by inject.sebCredentialsSecret (or inject.sebWebIdentity)'],
  ['ledger', 'databaseUrl', 'the Secret named by inject.ledgerSecret (key url)'],
];

/** Fails, naming each secret setting and where it belongs instead, when the configuration file holds one. */
export async function refuseConfigSecrets(file: string): Promise<void> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const found = SECRET_SETTINGS.filter(([section, key]) => {
    const s = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[section] : undefined;
    return typeof s === 'object' && s !== null && (s as Record<string, unknown>)[key] !== undefined;
  });
  if (found.length === 0) return;
  const moves = found.map(([section, key, where]) => `${section}.${key} into ${where}`).join('; ');
  throw new CliError(`${file} holds secrets (${found.map(([s, k]) => `${s}.${k}`).join(', ')}): it is the sidecar's ConfigMap, which the agent can read through seb, so seb refuses to start. Move ${moves}, and remove them from seb.yaml`);
}

/** The files the injected agent containers use, under `out` (mounted read-only into them). */
export async function writeAgentFiles(config: SebConfig, out: string, namespace: string | undefined): Promise<string[]> {
  if (config.listen.endpoint === 'off') throw new CliError('the agent\'s kubeconfig and in-cluster clients use seb\'s endpoint listener, which is off (listen.endpoint)');
  const paths = caPaths(path.resolve(config.stateDir));
  await initCa(paths);
  const bundle = await writeAgentBundle(paths);
  const dir = path.resolve(out);
  const saDir = path.join(dir, 'serviceaccount');
  await mkdir(saDir, { recursive: true, mode: 0o755 });
  const caFile = path.join(dir, 'ca.crt');
  await copyFile(paths.certFile, caFile);
  await copyFile(bundle, path.join(dir, 'bundle.pem'));
  const endpoint = config.listen.endpoint.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '127.0.0.1:');
  const kubeconfig = {
    apiVersion: 'v1', kind: 'Config', 'current-context': 'seb',
    // The CA by path, not by value: the file is seb's CA, kept by seb across sidecar restarts.
    clusters: [{ name: 'seb', cluster: { server: `https://${endpoint}`, 'certificate-authority': caFile } }],
    // A placeholder with no power at the API server: seb reads with its own identity and mints executor tokens.
    users: [{ name: 'agent', user: { token: config.kube.placeholderToken } }],
    contexts: [{ name: 'seb', context: { cluster: 'seb', user: 'agent', ...(namespace ? { namespace } : {}) } }],
  };
  await writeFile(path.join(dir, 'kubeconfig'), stringify(kubeconfig), { mode: 0o644 });
  // What in-cluster clients read (client-go InClusterConfig, client-node loadFromCluster, python load_incluster_config).
  await copyFile(paths.certFile, path.join(saDir, 'ca.crt'));
  await writeFile(path.join(saDir, 'token'), config.kube.placeholderToken, { mode: 0o644 });
  if (namespace) await writeFile(path.join(saDir, 'namespace'), namespace, { mode: 0o644 });
  return ['ca.crt', 'bundle.pem', 'kubeconfig', 'serviceaccount/'].map((f) => path.join(dir, f));
}
