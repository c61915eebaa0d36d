// Prometheus metrics on a registry owned by the composition root (no prom-client global default registry).
import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'platform' | 'host' | 'outcome'>;
  readonly latency: Histogram<'platform' | 'outcome'>;
  readonly connections: Gauge<'listener'>;
  readonly refusals: Counter<'reason'>;
  /** Reports how fresh this process's view of the epochs is (set by the composition root). */
  watchEpochs(source: { ageMs(): number; fresh(): boolean }): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'seb_process_' });
  let epochSource: { ageMs(): number; fresh(): boolean } | undefined;
  new Gauge({
    name: 'seb_epoch_view_age_seconds',
    help: 'Seconds since this seb last confirmed the policy and revocation epochs with the ledger (-1: never)',
    registers: [registry],
    collect() { const age = epochSource?.ageMs(); this.set(age === undefined || !Number.isFinite(age) ? -1 : age / 1000); },
  });
  new Gauge({
    name: 'seb_epoch_view_fresh',
    help: '1 while the epoch view is confirmed within pipeline.maxStalenessMs (mutations allowed), else 0',
    registers: [registry],
    collect() { this.set(epochSource?.fresh() ? 1 : 0); },
  });
  return {
    watchEpochs: (source) => { epochSource = source; },
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
