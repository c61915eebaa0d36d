// What the proxy's handlers share, built once by the composition root (runtime/start.ts).
import type { SecureContext } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { SebConfig } from '../config/schema.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Authority, Platform, Router } from './routing.ts';
import type { SecureContextCache } from './tls-contexts.ts';
import type { ConnectionTracker } from './tracker.ts';
import type { Gate } from '../pipeline/gate.ts';

export interface ProxyContext {
  readonly config: SebConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly router: Router;
  readonly tlsContexts: SecureContextCache;
  /** undici dispatcher for upstream requests: pooled keep-alive connections, upstream CAs. */
  readonly dispatcher: Dispatcher;
  /** TLS context trusting the system roots plus upstreamTls.caFiles, for connections seb opens upstream. */
  readonly upstreamTls: SecureContext;
  readonly tracker: ConnectionTracker;
  /** Classifies each request and decides mutations (certificate, pipeline, executor identity). */
  readonly gate: Gate;
}

/** The API an intercepted request is for, and how the agent addressed it. */
export interface Destination {
  readonly platform: Platform;
  /** The host the agent addressed: CONNECT target, absolute URL, or the AWS endpoint resolved in endpoint mode. */
  readonly authority: Authority;
  readonly scheme: 'https' | 'http';
  readonly via: 'connect' | 'absolute' | 'endpoint';
}
