// `seb webhook serve`: the admission webhook server (admission/server.ts) for a cluster's protected namespaces.
// Stateless: run several replicas behind one Service; they share the ledger (ledger.databaseUrl / DATABASE_URL).
// The ledger may be down at start: the server starts anyway, denies what it cannot verify, reports not ready on
// /readyz, and reconnects by itself.
import path from 'node:path';
import type { Command } from 'commander';
import { openLazyLedger } from '../runtime/lazy-ledger.ts';
import { configSchema, type SebConfig } from '../config/schema.ts';
import { createLogger, type Logger } from '../ops/logger.ts';
import { injectSettingsOf, mutateReview } from '../admission/inject-review.ts';
import { startWebhookServer } from '../admission/server.ts';
import { validateReview } from '../admission/validate-review.ts';
import { CliError } from './sab.ts';

interface ServeFlags {
  config?: string;
  stateDir?: string;
  logLevel?: string;
  listen?: string;
  tlsCert?: string;
  tlsKey?: string;
  brokerIdentity?: string[];
}

export function registerWebhookCommands(program: Command, configFrom: (flags: object) => SebConfig): void {
  const webhook = program.command('webhook').description('the Kubernetes admission webhook that makes seb mandatory in protected namespaces');
  webhook.command('serve')
    .description('serve POST /validate and /mutate (AdmissionReview v1) over TLS, with /healthz and /readyz')
    .option('-c, --config <file>', 'configuration file, YAML or JSON (env SEB_CONFIG); the webhook section and ledger are read from it')
    .option('--state-dir <dir>', 'state directory (the embedded ledger when ledger.databaseUrl is unset; a fleet needs PostgreSQL)')
    .option('--listen <host:port>', 'TLS listener (webhook.listen; default 0.0.0.0:8443)')
    .option('--tls-cert <file>', 'serving certificate chain, PEM, e.g. cert-manager\'s tls.crt (webhook.tlsCertFile)')
    .option('--tls-key <file>', 'serving private key, PEM, e.g. cert-manager\'s tls.key (webhook.tlsKeyFile)')
    .option('--broker-identity <username>', 'seb\'s own Kubernetes username, allowed its minting housekeeping (repeatable; webhook.brokerIdentities)', (v: string, all: string[] = []) => [...all, v])
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env SEB_LOG_LEVEL)')
    .action(async (flags: ServeFlags) => {
      const config = configFrom({ ...(flags.config ? { config: flags.config } : {}), ...(flags.stateDir ? { stateDir: flags.stateDir } : {}), ...(flags.logLevel ? { logLevel: flags.logLevel } : {}) });
      const settings = webhookSettings(config, flags);
      const logger = createLogger(config.log.level);
      const running = await serveWebhook(config, settings, logger);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ event: 'draining', signal }, 'webhook shutting down');
        void running.close().then(() => logger.flush(() => process.exit(0)));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}

/** The webhook section with the flags applied, validated by the same schema as the file. */
function webhookSettings(config: SebConfig, flags: ServeFlags): SebConfig['webhook'] {
  const merged = {
    ...config.webhook,
    ...(flags.listen !== undefined ? { listen: flags.listen } : {}),
    ...(flags.tlsCert !== undefined ? { tlsCertFile: flags.tlsCert } : {}),
    ...(flags.tlsKey !== undefined ? { tlsKeyFile: flags.tlsKey } : {}),
    ...(flags.brokerIdentity !== undefined ? { brokerIdentities: flags.brokerIdentity } : {}),
  };
  const parsed = configSchema.shape.webhook.safeParse(merged);
  if (!parsed.success) throw new CliError(`invalid webhook settings:\n${parsed.error.issues.map((i) => `  webhook.${i.path.join('.')}: ${i.message}`).join('\n')}`);
  const w = parsed.data;
  if (!w.tlsCertFile || !w.tlsKeyFile) throw new CliError('the webhook serves TLS only: give --tls-cert and --tls-key (or webhook.tlsCertFile / tlsKeyFile), e.g. the tls.crt and tls.key of cert-manager\'s Secret');
  return w;
}

export interface RunningWebhook {
  readonly address: string;
  close(): Promise<void>;
}

export async function serveWebhook(config: SebConfig, w: SebConfig['webhook'], logger: Logger): Promise<RunningWebhook> {
  const ledger = await openLazyLedger(
    { databaseUrl: config.ledger.databaseUrl, dir: path.join(path.resolve(config.stateDir), 'ledger'), timeoutMs: config.ledger.timeoutMs, poolSize: config.ledger.poolSize, onError: (err) => logger.warn({ event: 'ledger_error', error: err.message }, 'ledger connection error') },
    (message) => logger.error({ event: 'ledger_unavailable', error: message }, 'the ledger cannot be opened; every review is denied until it can'),
  );
  const injection = injectSettingsOf(config);
  let server;
  try {
    server = await startWebhookServer({
      listen: w.listen, tlsCertFile: w.tlsCertFile!, tlsKeyFile: w.tlsKeyFile!,
      maxBodyBytes: w.maxBodyBytes, requestTimeoutMs: w.requestTimeoutMs, logger,
      validate: (body) => validateReview(body, {
        lookup: (id) => ledger.executionByCredential(id), now: () => Date.now() / 1000,
        brokerIdentities: w.brokerIdentities, decisionTimeoutMs: w.decisionTimeoutMs,
      }),
      mutate: (body) => mutateReview(body, injection),
      notReady: async () => {
        const h = await ledger.health();
        return h.ok ? undefined : `the ledger does not answer: ${h.error.message}`;
      },
    });
  } catch (err) {
    await ledger.close();
    throw new CliError(`the webhook cannot start: ${err instanceof Error ? err.message : String(err)}`);
  }
  logger.info({ event: 'started', listen: server.address, ledger: ledger.where, brokerIdentities: w.brokerIdentities, injectionImage: injection.image }, 'seb webhook is serving');
  return {
    address: server.address,
    async close() {
      await server.close();
      await ledger.close();
      logger.info({ event: 'stopped' }, 'seb webhook stopped');
    },
  };
}
