// The local upstream for benchmarks: HTTPS with its own CA, answering every GET with a small JSON body, like a
// cloud API read. Run as a child process so it does not share an event loop with the load generator.
import { createServer } from 'node:https';
import { writeFileSync } from 'node:fs';
import { createCa } from '../certs/ca/ca.ts';
import { mintLeaf } from '../certs/ca/leaf.ts';

const caFile = process.argv[2]!;
const { ca } = await createCa('bench upstream CA');
const leaf = await mintLeaf(ca, ['127.0.0.1', 'localhost']);
writeFileSync(caFile, ca.certPem);
const body = JSON.stringify({ SecurityGroups: [{ GroupId: 'sg-0123456789abcdef0', GroupName: 'bench', IpPermissions: [] }] });
const server = createServer({ cert: leaf.certPem, key: leaf.keyPem, keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
