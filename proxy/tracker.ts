// Tracks what graceful shutdown must wait for or cut: requests in flight and raw relayed sockets (tunnels,
// upgraded connections) that the HTTP servers no longer own.
import type { Duplex } from 'node:stream';

export interface ConnectionTracker {
  /** Marks a request in flight until the returned function is called (idempotent). */
  begin(): () => void;
  /** Keeps a raw socket until it closes; destroyed by `destroyAll`. */
  adopt(socket: Duplex): void;
  readonly inFlight: number;
  readonly draining: boolean;
  startDraining(): void;
  /** Resolves when no request is in flight, or after `ms`. */
  idle(ms: number): Promise<boolean>;
  destroyAll(): void;
}

export function createConnectionTracker(): ConnectionTracker {
  let inFlight = 0;
  let draining = false;
  const sockets = new Set<Duplex>();
  const waiters = new Set<() => void>();
  return {
    begin() {
      inFlight++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        inFlight--;
        if (inFlight === 0) for (const w of waiters) w();
      };
    },
    adopt(socket) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    },
    get inFlight() {
      return inFlight;
    },
    get draining() {
      return draining;
    },
    startDraining() {
      draining = true;
    },
    idle(ms) {
      if (inFlight === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(onIdle);
          resolve(false);
        }, ms);
        const onIdle = () => {
          clearTimeout(timer);
          waiters.delete(onIdle);
          resolve(true);
        };
        waiters.add(onIdle);
      });
    },
    destroyAll() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
