// This process's view of the policy and revocation epochs, pushed by the ledger (PostgreSQL LISTEN/NOTIFY, or
// PGlite's in-process notifications) and confirmed by a heartbeat read over the same connection, so the view
// knows how fresh it is. A view that has not been confirmed within maxStalenessMs, or whose connection is known
// lost, is stale: the pipeline then denies mutations with SEB_REVOCATION_UNKNOWN until it is confirmed again.
// The ledger stays authoritative (the execution commit re-checks both epochs in its transaction); this view lets
// the revocation stage answer locally and lets a revocation reach every sidecar in milliseconds.
import { LRUCache } from 'lru-cache';
import type { Epochs, Ledger, Subscription } from './types.ts';

export type EpochSnapshot =
  | { readonly fresh: true; readonly epochs: Epochs; readonly ageMs: number }
  | { readonly fresh: false; readonly reason: string };

export interface EpochWatchEvent {
  readonly kind: 'connected' | 'lost' | 'epoch' | 'revoked';
  readonly detail: string;
}

export interface EpochWatch {
  snapshot(): EpochSnapshot;
  /** Revocations pushed since this process started (the fast path; the ledger answers for older ones). */
  revocation(cid: string): { readonly reason: string; readonly revokedAt: Date } | undefined;
  /** Milliseconds since the view was last confirmed; Infinity before the first confirmation. */
  ageMs(): number;
  /** Resolves true once the view is fresh, false if it is not within timeoutMs. */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface EpochWatchOptions {
  readonly ledger: Pick<Ledger, 'subscribe'>;
  readonly maxStalenessMs: number;
  /** How often the view is confirmed over the notification connection; default a quarter of the bound. */
  readonly heartbeatMs?: number;
  /** Reconnection backoff after the connection is lost: doubles from minMs up to maxMs. */
  readonly reconnect: { readonly minMs: number; readonly maxMs: number };
  /** Monotonic milliseconds (tests). */
  readonly now?: () => number;
  readonly onEvent?: (event: EpochWatchEvent) => void;
}

export function startEpochWatch(options: EpochWatchOptions): EpochWatch {
  const now = options.now ?? (() => performance.now());
  const heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(options.maxStalenessMs / 4));
  const emit = options.onEvent ?? (() => {});
  const revoked = new LRUCache<string, { reason: string; revokedAt: Date }>({ max: 100_000 });
  let epochs: Epochs | undefined;
  let confirmedAt = -Infinity;
  let connection: Subscription | undefined;
  let downReason = 'the epoch notifications have not connected yet';
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  const merge = (seen: Epochs) => {
    // Epochs only grow: a heartbeat read taken before a notification must not undo it. A heartbeat can also be
    // the first to bring a new value (it raced the notification): that is an epoch change like any other.
    if (epochs) for (const name of ['policy', 'revocation'] as const) if (seen[name] > epochs[name]) emit({ kind: 'epoch', detail: `${name}=${seen[name]}` });
    epochs = epochs ? { policy: Math.max(epochs.policy, seen.policy), revocation: Math.max(epochs.revocation, seen.revocation) } : seen;
  };

  const lose = (reason: string) => {
    if (!connection) return;
    const dead = connection;
    connection = undefined;
    downReason = `the epoch notification connection was lost (${reason})`;
    emit({ kind: 'lost', detail: reason });
    void dead.close();
    wake?.();
  };

  const confirm = async (sub: Subscription): Promise<boolean> => {
    const sentAt = now();
    const read = await sub.epochs();
    if (sub !== connection) return false;
    if (!read.ok) {
      lose(read.error.message);
      return false;
    }
    merge(read.value);
    confirmedAt = sentAt; // what the read saw was current when it was sent, not when it came back
    return true;
  };

  const run = async () => {
    let delay = options.reconnect.minMs;
    while (!stopped) {
      const subscribed = await options.ledger.subscribe({
        onEpoch: (name, value) => {
          if (epochs && value > epochs[name]) {
            epochs = { ...epochs, [name]: value };
            emit({ kind: 'epoch', detail: `${name}=${value}` });
          }
        },
        onRevoked: (cid, reason, revokedAt) => {
          revoked.set(cid.toLowerCase(), { reason, revokedAt });
          emit({ kind: 'revoked', detail: cid });
        },
        onLost: (reason) => lose(reason),
      });
      if (stopped) {
        if (subscribed.ok) await subscribed.value.close();
        return;
      }
      if (subscribed.ok) {
        const sub = subscribed.value;
        connection = sub;
        if (await confirm(sub)) {
          delay = options.reconnect.minMs;
          emit({ kind: 'connected', detail: `epochs policy=${epochs!.policy} revocation=${epochs!.revocation}` });
          const beat = async () => {
            if (stopped || connection !== sub) return;
            await confirm(sub);
            if (!stopped && connection === sub) timer = setTimeout(beat, heartbeatMs);
          };
          timer = setTimeout(beat, heartbeatMs);
          await new Promise<void>((resolve) => { wake = resolve; if (connection !== sub || stopped) resolve(); });
          clearTimeout(timer);
        }
      } else {
        downReason = `the epoch notifications cannot connect (${subscribed.error.message})`;
      }
      if (stopped) return;
      await new Promise<void>((resolve) => { wake = resolve; timer = setTimeout(resolve, delay); });
      delay = Math.min(options.reconnect.maxMs, delay * 2);
    }
  };
  // run() handles its own failures; anything that still escapes leaves the view stale (denying), never a crash.
  const running = run().catch((err: unknown) => {
    connection = undefined;
    downReason = `the epoch watch stopped unexpectedly (${err instanceof Error ? err.message : String(err)}); restart seb`;
    emit({ kind: 'lost', detail: downReason });
  });

  return {
    snapshot() {
      if (!connection || !epochs) return { fresh: false, reason: downReason };
      const age = now() - confirmedAt;
      if (age > options.maxStalenessMs) return { fresh: false, reason: `the epochs were last confirmed ${Math.round(age)} ms ago, beyond pipeline.maxStalenessMs (${options.maxStalenessMs} ms); the ledger is slow or unreachable` };
      return { fresh: true, epochs, ageMs: age };
    },
    revocation: (cid) => revoked.get(cid.toLowerCase()),
    async ready(timeoutMs) {
      const deadline = now() + timeoutMs;
      while (!this.snapshot().fresh) {
        if (stopped || now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 10));
      }
      return true;
    },
    ageMs: () => now() - confirmedAt,
    async close() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      const open = connection;
      connection = undefined;
      await open?.close();
      await running;
    },
  };
}
