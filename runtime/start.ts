// The composition root: the only place that creates long-lived state (CA, caches, connection pools, metrics,
// servers) and wires it together. Everything below receives what it needs as arguments.
import { chmod, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createSecureContext, rootCertificates } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { caPaths, initCa, loadCa } from '../certs/ca/ca.ts';
import { writeAgentBundle } from '../certs/ca/bundle.ts';
import { createLeafCache, mintLeaf } from '../certs/ca/leaf.ts';
import type { SebConfig } from '../config/schema.ts';
import type { Ledger } from '../ledger/types.ts';
import { createAdminServer } from '../ops/admin.ts';
import { createLogger, type Logger } from '../ops/logger.ts';
import { createMetrics, type Metrics } from '../ops/metrics.ts';
import type { ProxyContext } from '../proxy/context.ts';
import { createEndpointServer, createForwardProxyServer } from '../proxy/listeners.ts';
import { createRouter } from '../proxy/routing.ts';
import { createSecureContextCache } from '../proxy/tls-contexts.ts';
import { createConnectionTracker } from '../proxy/tracker.ts';
import { createStagingStore, type StagingStore } from '../pipeline/staging.ts';
import { ensureAdminToken, ensureNodeId, loadTrust } from './local-state.ts';
import { startEpochWatch } from '../ledger/epoch-watch.ts';
import { lazyAuditWriter } from './audit.ts';
import { startLiveness } from './recovery.ts';
import { openAuditSink } from '../audit/sink.ts';
import { openLazyLedger } from './lazy-ledger.ts';
import { createPipeline } from '../pipeline/run.ts';
import { createGate } from '../pipeline/gate.ts';
import { awsPlatform } from '../platforms/aws/module.ts';
import { kubePlatform } from '../platforms/kube/module.ts';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

export interface RunningSeb {
  /** Bound addresses as "host:port" (ports resolved when configured as 0). */
  readonly addresses: { readonly proxy: string; readonly endpoint?: string; readonly admin?: string };
  readonly caCertFile: string;
  readonly metrics: Metrics;
  readonly staging: StagingStore;
  readonly ledger: Ledger;
  readonly instanceId: string;
  /** Graceful shutdown: stop accepting, let in-flight requests finish within limits.shutdownGraceMs, then cut. */
  close(): Promise<void>;
}

export async function startSeb(config: SebConfig, opts: { logger?: Logger; auditSink?: (line: string) => void } = {}): Promise<RunningSeb> {
  const logger = opts.logger ?? createLogger(config.log.level);
  const stateDir = path.resolve(config.stateDir);
  const paths = caPaths(stateDir);
  const init = await initCa(paths);
  if (init.created) logger.info({ event: 'ca_created', certFile: paths.certFile }, 'created a local CA; agents must trust its certificate');
  const ca = await loadCa(paths);
  await writeAgentBundle(paths); // agents' AWS_CA_BUNDLE / SSL_CERT_FILE point here

  const upstreamCa = [...rootCertificates, ...(await Promise.all(config.upstreamTls.caFiles.map((f) => readFile(f, 'utf8'))))];
  // One context for every upstream connection: building one from ~150 roots costs milliseconds.
  const upstreamTls = createSecureContext({ ca: upstreamCa });
  const connector = buildConnector({ secureContext: upstreamTls, rejectUnauthorized: true, allowH2: false });
  const dispatcher = new Agent({
    // undici takes the TLS server name from the Host header; seb keeps the agent's Host (it is signed) while the
    // upstream may be an override, so the name verified is always the upstream's own.
    connect: (opts, callback) => connector({ ...opts, servername: undefined }, callback),
    keepAliveTimeout: 30_000,
    connections: 64,
  });
  const { trust, source: trustSource } = await loadTrust(config);
  const now = () => Date.now() / 1000;
  const staging = createStagingStore({ trust, subject: config.agent.subject, now });
  const metrics = createMetrics();
  const tracker = createConnectionTracker();
  const nodeId = await ensureNodeId(stateDir, hostname());
  const instanceId = `${nodeId}.${process.pid}.${randomBytes(3).toString('hex')}`;
  const ledger = await openLazyLedger(
    { databaseUrl: config.ledger.databaseUrl, dir: path.join(stateDir, 'ledger'), timeoutMs: config.ledger.timeoutMs, poolSize: config.ledger.poolSize, onError: (err) => logger.warn({ event: 'ledger_error', error: err.message }, 'ledger connection error') },
    (message) => logger.error({ event: 'ledger_unavailable', error: message }, 'the ledger cannot be opened; mutations are denied until it can'),
  );
  const epochs = startEpochWatch({
    ledger, maxStalenessMs: config.pipeline.maxStalenessMs, reconnect: { minMs: config.ledger.reconnectMinMs, maxMs: config.ledger.reconnectMaxMs },
    onEvent: (e) => {
      if (e.kind === 'lost') logger.warn({ event: 'epoch_watch_lost', reason: e.detail }, 'epoch notifications lost; mutations are denied until they reconnect');
      else logger.info({ event: `epoch_watch_${e.kind}`, detail: e.detail, at: performance.timeOrigin + performance.now() }, e.kind === 'connected' ? 'epoch notifications connected' : 'epoch view updated');
    },
  });
  // Mutations are denied until the epochs are confirmed; give the first confirmation a moment before serving.
  if (!(await epochs.ready(Math.min(config.pipeline.maxStalenessMs, 5_000)))) logger.warn({ event: 'epoch_watch_not_ready', reason: epochs.snapshot().fresh ? '' : (epochs.snapshot() as { reason: string }).reason }, 'serving before the epochs are confirmed: mutations are denied until they are');
  metrics.watchEpochs({ ageMs: () => epochs.ageMs(), fresh: () => epochs.snapshot().fresh });
  const auditStream = opts.auditSink ? { sink: opts.auditSink, close: async () => {} } : openAuditSink(config.audit, (message) => logger.error({ event: 'audit_stream_failed', error: message }, message));
  const audit = lazyAuditWriter({ ledger, instanceId, ...(auditStream.sink ? { sink: auditStream.sink } : {}) });
  const platforms = {
    aws: awsPlatform({
      accountId: config.aws.accountId,
      agent: config.aws.agentAccessKeyId && config.aws.agentSecretAccessKey ? { accessKeyId: config.aws.agentAccessKeyId, secretAccessKey: config.aws.agentSecretAccessKey } : undefined,
      executorRoleArn: config.aws.executorRoleArn,
      sebCredentials: config.aws.sebAccessKeyId && config.aws.sebSecretAccessKey ? { accessKeyId: config.aws.sebAccessKeyId, secretAccessKey: config.aws.sebSecretAccessKey } : undefined,
      upstream: config.upstreams.aws,
      readWithAgentCredentials: config.aws.readWithAgentCredentials,
    }),
    kube: kubePlatform({
      dispatcher, upstream: config.upstreams.kube, timeoutMs: config.limits.upstreamHeadersTimeoutMs,
      identityTokenFile: config.kube.identityTokenFile,
      placeholderToken: config.kube.placeholderToken,
      mint: { serviceAccount: config.kube.executorServiceAccount, executorNamespace: config.kube.executorNamespace, tokenSeconds: config.kube.tokenSeconds },
      onReleaseError: (message) => logger.error({ event: 'executor_cleanup_failed', message }, 'per-execution Secret not deleted'),
    }),
  };
  const pipeline = createPipeline({
    trust,
    ledger,
    adapters: { aws: platforms.aws.adapter, kube: platforms.kube.adapter },
    subject: config.agent.subject,
    instanceId,
    now,
    clockSkewSeconds: config.trust.clockSkewSeconds,
    concurrentStages: config.pipeline.concurrentStages,
    epochs,
    audit,
  });
  const gate = createGate({ platforms, pipeline, staging, audit: { writer: audit, subject: config.agent.subject, onError: (e) => logger.error({ event: 'decision_not_recorded', code: e.code, error: e.message }, 'a denial could not be recorded in the audit trail') } });
  const liveness = startLiveness({ ledger, audit, nodeId, instanceId, deadAfterMs: config.ledger.instanceDeadAfterMs, logger });
  const ctx: ProxyContext = {
    config,
    logger,
    metrics,
    router: createRouter(config),
    tlsContexts: createSecureContextCache(createLeafCache(ca)),
    dispatcher,
    upstreamTls,
    tracker,
    gate,
  };

  const servers: Server[] = [];
  const addresses: { proxy: string; endpoint?: string; admin?: string } = { proxy: '' };
  const proxyServer = createForwardProxyServer(ctx);
  addresses.proxy = await listen(proxyServer, config.listen.proxy);
  servers.push(proxyServer);
  if (config.listen.endpoint !== 'off') {
    const leaf = await mintLeaf(ca, config.endpoint.hostnames);
    const endpointServer = createEndpointServer(ctx, leaf);
    addresses.endpoint = await listen(endpointServer, config.listen.endpoint);
    servers.push(endpointServer);
  }
  let ready = true;
  let adminServer: Server | undefined;
  if (config.listen.admin !== 'off') {
    const token = await ensureAdminToken(config);
    adminServer = createAdminServer({ metrics, isReady: () => ready && !tracker.draining, localApi: { staging, token } });
    addresses.admin = await listen(adminServer, config.listen.admin);
  }
  logger.info({ event: 'started', instanceId, ledger: ledger.where, ...addresses, caCertFile: paths.certFile, upstreams: config.upstreams, trust: trustSource, subject: config.agent.subject, kubeExecutor: config.kube.identityTokenFile ? `TokenRequest for ${config.kube.executorServiceAccount}` : 'agent credentials (kube.identityTokenFile unset)' }, 'seb is serving');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      ready = false;
      tracker.startDraining();
      logger.info({ event: 'draining', inFlight: tracker.inFlight }, 'shutting down: draining in-flight requests');
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const s of servers) s.closeIdleConnections();
      const drained = await tracker.idle(config.limits.shutdownGraceMs);
      for (const s of servers) s.closeAllConnections();
      tracker.destroyAll();
      await Promise.all(closed);
      await dispatcher.close().catch(() => dispatcher.destroy());
      await liveness.stop();
      await epochs.close();
      await ledger.close();
      await auditStream.close();
      if (adminServer) {
        adminServer.closeAllConnections();
        await new Promise<void>((resolve) => adminServer.close(() => resolve()));
      }
      logger.info({ event: 'stopped', drained }, drained ? 'seb stopped' : 'seb stopped; some requests were cut at the grace period');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })();
    return closing;
  };
  return { addresses, caCertFile: paths.certFile, metrics, staging, ledger, instanceId, close };
}

async function listen(server: Server, hostPort: string): Promise<string> {
  if (hostPort.startsWith('unix:')) {
    const socketPath = hostPort.slice('unix:'.length);
    await rm(socketPath, { force: true }); // a socket left by a previous run
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o600); // the local API token is the lock; the socket's mode is the door
    return hostPort;
  }
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(i + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
    });
  });
}
