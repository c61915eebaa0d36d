// The `seb` command line. Each command loads configuration the same way (file < SEB_* env < flags) and reports
// errors as one clear message with a non-zero exit, never a stack trace.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { caPaths, initCa } from '../certs/ca/ca.ts';
import { writeAgentBundle } from '../certs/ca/bundle.ts';
import { loadConfig, type ConfigFlags } from '../config/load.ts';
import type { SebConfig } from '../config/schema.ts';
import { startSeb } from '../runtime/start.ts';
import { agentEnv, agentEnvUnset, formatEnv } from './agent-env.ts';
import { registerCertCommands } from './cert.ts';
import { CliError, registerSabCommands } from './sab.ts';
import { registerLedgerCommands } from './ledger-commands.ts';
import { registerKubeconfigCommand } from './kubeconfig.ts';
import { registerExplainCommand } from './explain.ts';
import { registerInjectCommands } from './inject.ts';
import { registerAuditCommands } from './audit.ts';
import { registerWebhookCommands } from './webhook.ts';
import { openLedger } from '../ledger/open.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

class UsageError extends Error {}

function configFrom(flags: ConfigFlags): SebConfig {
  const result = loadConfig(flags, process.env);
  if (!result.ok) throw new UsageError(result.error);
  return result.value;
}

function withConfigFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'configuration file, YAML or JSON (env SEB_CONFIG)')
    .option('--state-dir <dir>', 'state directory holding the CA (env SEB_STATE_DIR; default .seb)')
    .option('--proxy-listen <host:port>', 'forward proxy listener (env SEB_PROXY_LISTEN; default 127.0.0.1:7080)')
    .option('--endpoint-listen <host:port|off>', 'TLS endpoint listener (env SEB_ENDPOINT_LISTEN; default 127.0.0.1:7443)')
    .option('--admin-listen <host:port|off>', 'admin listener (env SEB_ADMIN_LISTEN; default 127.0.0.1:7090)')
    .option('--upstream <platform=url>', 'send a platform\'s traffic to URL: aws=URL or kube=URL (repeatable; env SEB_UPSTREAM_AWS, SEB_UPSTREAM_KUBE)', (v: string, all: string[] = []) => [...all, v])
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env SEB_LOG_LEVEL)');
}

export function buildCli(): Command {
  const program = new Command('seb')
    .description('Sovereign Execution Broker: a certificate-gated egress proxy for AI agents')
    .version(VERSION)
    .showHelpAfterError();

  withConfigFlags(program.command('serve').description('run the proxy (embedded defaults when no configuration is given)'))
    .action(async (flags: ConfigFlags) => {
      const config = configFrom(flags);
      // Handlers go in before anything listens, so a SIGTERM during start-up is never the default (exit 143).
      let running: Awaited<ReturnType<typeof startSeb>> | undefined;
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`seb: ${signal} received, draining\n`);
        if (!running) process.exit(0);
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      running = await startSeb(config);
      if (stopping) await running.close().then(() => process.exit(0));
    });

  const ca = program.command('ca').description('the local interception CA');
  ca.command('init')
    .description('create the local CA (ca.crt, and ca.key with mode 0600) under the state directory')
    .option('--state-dir <dir>', 'state directory (env SEB_STATE_DIR; default .seb)')
    .option('--force', 'replace an existing CA (agents must then trust the new certificate)')
    .action(async (flags: { stateDir?: string; force?: boolean }) => {
      const config = configFrom({ ...(flags.stateDir ? { stateDir: flags.stateDir } : {}) });
      const paths = caPaths(path.resolve(config.stateDir));
      const result = await initCa(paths, { force: flags.force ?? false });
      const bundle = await writeAgentBundle(paths);
      process.stdout.write(
        `${result.created ? 'created' : 'kept existing'} CA\n  certificate: ${paths.certFile}\n  private key: ${paths.keyFile} (mode 0600)\n  agent bundle: ${bundle}\n`,
      );
    });

  withConfigFlags(program.command('agent-env').description('print the environment an agent needs to use seb'))
    .addOption(new Option('--format <format>', 'output format').choices(['sh', 'dotenv', 'json']).default('sh'))
    .action(async (flags: ConfigFlags & { format: 'sh' | 'dotenv' | 'json' }) => {
      const config = configFrom(flags);
      const paths = caPaths(path.resolve(config.stateDir));
      await initCa(paths);
      const bundleFile = await writeAgentBundle(paths);
      const input = {
        proxyListen: config.listen.proxy, caCertFile: paths.certFile, bundleFile,
        ...(config.aws.agentAccessKeyId && config.aws.agentSecretAccessKey ? { awsAgent: { accessKeyId: config.aws.agentAccessKeyId, secretAccessKey: config.aws.agentSecretAccessKey } } : {}),
      };
      process.stdout.write(formatEnv(agentEnv(input), flags.format, agentEnvUnset(input)));
    });

  registerSabCommands(program);
  registerKubeconfigCommand(program, withConfigFlags, (flags) => configFrom(flags as ConfigFlags));
  registerInjectCommands(program, withConfigFlags, (flags) => configFrom(flags as ConfigFlags));
  registerLedgerCommands(program, async (flags) => {
    const config = configFrom(flags);
    const opened = await openLedger({ databaseUrl: config.ledger.databaseUrl, dir: path.join(path.resolve(config.stateDir), 'ledger'), timeoutMs: config.ledger.timeoutMs, poolSize: 1 });
    if (!opened.ok) throw new CliError(opened.error.message);
    return { ledger: opened.value, close: () => opened.value.close() };
  });
  registerCertCommands(program, withConfigFlags, (flags) => configFrom(flags as ConfigFlags));
  registerExplainCommand(program, withConfigFlags, (flags) => configFrom(flags as ConfigFlags));
  registerAuditCommands(program, configFrom);
  registerWebhookCommands(program, (flags) => configFrom(flags as ConfigFlags));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`seb: ${err.message}\n`);
      process.exit(1);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`seb: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`seb: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
