// Prometheus metrics on a registry owned by the composition root (no prom-client global default registry).
import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'platform' | 'host' | 'outcome'>;
  readonly latency: Histogram<'platform' | 'outcome'>;
  readonly connections: Gauge<'listener'>;
  readonly refusals: Counter<'reason'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'seb_process_' });
  return {
    registry,
    requests: new Counter({
      name: 'seb_requests_total',
      help: 'Requests handled, by platform (aws, kube, tunnel, none), upstream host and outcome',
      labelNames: ['platform', 'host', 'outcome'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'seb_request_duration_seconds',
      help: 'Time from request head received to response finished, by platform and outcome',
      labelNames: ['platform', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    connections: new Gauge({
      name: 'seb_open_connections',
      help: 'Open client connections by listener',
      labelNames: ['listener'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'seb_refusals_total',
      help: 'Connections or requests refused before forwarding, by reason code',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
