// A TCP relay between the ledger and PostgreSQL that a test can break on purpose:
// - refuse(): kills every relayed connection and stops listening, so new connections get ECONNREFUSED;
// - blackhole(): keeps accepting, but holds every byte in both directions (a partition: nothing answers, nothing
//   fails; the case that hangs clients without timeouts);
// - restore(): listens again on the same port and delivers the held bytes in order, like a healed network.
import net from 'node:net';

export interface Relay {
  readonly port: number;
  refuse(): Promise<void>;
  blackhole(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
}

export async function startRelay(target: { host: string; port: number } = { host: '127.0.0.1', port: 5432 }): Promise<Relay> {
  let mode: 'forward' | 'blackhole' | 'refuse' = 'forward';
  const sockets = new Set<net.Socket>();
  const held: Array<() => void> = [];
  const forward = (to: net.Socket) => (data: Buffer) => {
    const write = () => { if (!to.destroyed) to.write(data); };
    if (mode === 'blackhole') held.push(write);
    else write();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('data', forward(to));
      from.on('close', end);
      from.on('error', end);
    }
  });
  await listen(server, 0);
  const port = (server.address() as net.AddressInfo).port;
  const killAll = () => { for (const s of sockets) s.destroy(); sockets.clear(); held.length = 0; };
  const stopListening = () => new Promise<void>((resolve) => { if (!server.listening) resolve(); else server.close(() => resolve()); });

  return {
    port,
    async refuse() {
      mode = 'refuse';
      killAll();
      await stopListening();
    },
    blackhole() { mode = 'blackhole'; },
    async restore() {
      if (!server.listening) await listen(server, port);
      mode = 'forward';
      for (const write of held.splice(0)) write();
    },
    async close() {
      killAll();
      await stopListening();
    },
  };
}
