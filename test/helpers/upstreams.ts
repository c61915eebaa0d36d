// Local upstream servers that stand in for cloud APIs in proxy tests: plain HTTP or HTTPS with their own CA
// (never seb's), so tests also prove seb verifies upstream TLS against upstreamTls.caFiles.
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createCa } from '../../certs/ca/ca.ts';
import { mintLeaf } from '../../certs/ca/leaf.ts';

export interface Upstream {
  readonly server: Server;
  readonly origin: string;
  readonly port: number;
  /** For HTTPS upstreams: a file with the upstream's CA, for upstreamTls.caFiles. */
  readonly caFile?: string;
  close(): Promise<void>;
}

export async function startUpstream(handler: RequestListener, opts: { tls?: boolean } = {}): Promise<Upstream> {
  let server: Server;
  let caFile: string | undefined;
  if (opts.tls) {
    const { ca } = await createCa('upstream test CA');
    const leaf = await mintLeaf(ca, ['127.0.0.1', 'localhost']);
    caFile = path.join(await mkdtemp(path.join(tmpdir(), 'seb-upstream-')), 'ca.pem');
    await writeFile(caFile, ca.certPem);
    server = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, handler);
  } else {
    server = createHttpServer(handler);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    origin: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    ...(caFile ? { caFile } : {}),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
