// Ports for the seb processes benchmarks start: a free one to configure, and waiting until seb listens on it.
import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Up to 60 s: a loaded machine starts Node, PGlite and the CA slowly. Fails early if the child exits. */
export async function waitForPort(address: string, child?: ChildProcess): Promise<void> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  for (let i = 0; i < 1200; i++) {
    if (child && child.exitCode !== null) throw new Error(`seb exited (${child.exitCode}) before listening on ${address}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`seb did not listen on ${address}`);
}
