// Long-lived traffic through an intercepted host: WebSocket and SPDY/3.1 upgrades relayed after the 101, a refused
// upgrade closed after its response, and a chunked response delivered chunk by chunk.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { ProxyAgent, request } from 'undici';
import { startTestSeb, tempDir, type TestSeb } from './helpers/seb.ts';
import { createTestSab, type TestSab } from './helpers/sab.ts';
import { startUpstream, type Upstream } from './helpers/upstreams.ts';
import { exchange, readResponse, tlsVia } from './helpers/clients.ts';

const KUBE_HOST = 'kube.example.test';

describe('upgrades and streaming through an intercepted host', () => {
  let seb: TestSeb;
  let sab: TestSab;
  let upstream: Upstream;
  let releaseSecondChunk: () => void = () => undefined;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url === '/api/v1/namespaces/default/pods?watch=1') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
        releaseSecondChunk = () => res.end('{"type":"DELETED"}\n');
        return;
      }
      res.writeHead(404).end();
    }, { tls: true });
    const wss = new WebSocketServer({ noServer: true });
    upstream.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const protocol = String(req.headers.upgrade).toLowerCase();
      if (protocol === 'websocket' && req.url === '/api/v1/namespaces/default/pods/web/exec?command=sh') {
        wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
      } else if (protocol === 'spdy/3.1') {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
        socket.on('data', (c: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), c])));
      } else {
        const body = '{"kind":"Status","code":403}';
        socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
    sab = await createTestSab(await tempDir(), 'agent-stream');
    seb = await startTestSeb({
      trust: { file: sab.trustFile },
      agent: { subject: 'agent-stream' },
      intercept: { kube: [KUBE_HOST] },
      upstreams: { kube: upstream.origin },
      upstreamTls: { caFiles: [upstream.caFile] },
    });
  });
  afterAll(async () => {
    await seb.stop();
    await upstream.close();
  });

  it('relays a WebSocket echo (kubectl exec over WebSocket, certified) after the 101', async () => {
    const agent = new HttpsProxyAgent(seb.proxyUrl);
    const ws = new WebSocket(`wss://${KUBE_HOST}/api/v1/namespaces/default/pods/web/exec?command=sh`, { agent, ca: seb.caPem, headers: { 'seb-certificate': execCertificate() } });
    await once(ws, 'open');
    const messages: string[] = [];
    ws.on('message', (data) => messages.push(String(data)));
    ws.send('hello through seb');
    ws.send(Buffer.from([0, 1, 2, 255]));
    await new Promise<void>((resolve) => ws.on('message', () => messages.length === 2 && resolve()));
    expect(messages[0]).toBe('hello through seb');
    expect(Buffer.from(messages[1]!, 'latin1').length).toBeGreaterThan(0);
    ws.close();
    await once(ws, 'close');
    expect(seb.logs).toContainEqual(expect.objectContaining({ msg: 'upgrade', upgrade: 'websocket', status: 101, outcome: 'upgraded', platform: 'kube' }));
  });

  const execCertificate = () => sab.issue({ platform: 'kube', operation: 'create', targets: [{ group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'web', subresource: 'exec' }], params: { query: { command: ['sh'] } }, risk: 'high' });
  const execRequest = (extra = '') => `POST /api/v1/namespaces/default/pods/web/exec?command=sh HTTP/1.1\r\nHost: ${KUBE_HOST}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n${extra}\r\n`;

  it('refuses kubectl exec without a certificate: a Kubernetes Status 403, connection closed', async () => {
    const tls = await tlsVia(seb.proxyPort, `${KUBE_HOST}:443`, seb.caPem);
    const raw = await exchange(tls, execRequest());
    expect(raw).toMatch(/^HTTP\/1\.1 403 /);
    const status = JSON.parse(raw.slice(raw.indexOf('{'))) as { kind: string; reason: string; message: string };
    expect(status).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    expect(status.message).toContain('SEB_CERT_MISSING');
  });

  it('relays a SPDY/3.1 upgrade (kubectl exec / port-forward) after the 101, with a certificate', async () => {
    const cert = execCertificate();
    const tls = await tlsVia(seb.proxyPort, `${KUBE_HOST}:443`, seb.caPem);
    tls.write(execRequest(`Seb-Certificate: ${cert}\r\n`));
    const res = await readResponse(tls);
    expect(res.status).toBe(101);
    expect(res.head).toMatch(/upgrade: SPDY\/3\.1/i);
    tls.write('frame-1');
    const [echoed] = (await once(tls, 'data')) as [Buffer];
    expect(echoed.toString()).toBe('echo:frame-1');
    tls.destroy();
  });

  it('relays a refused upgrade as a complete response and closes the connection', async () => {
    const tls = await tlsVia(seb.proxyPort, `${KUBE_HOST}:443`, seb.caPem);
    const raw = await exchange(tls, `GET /api/v1/namespaces/default/pods?watch=1 HTTP/1.1\r\nHost: ${KUBE_HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 403 /);
    expect(raw).toMatch(/connection: close/i);
    expect(raw.endsWith('{"kind":"Status","code":403}')).toBe(true); // nothing after it: the socket closed
  });

  it('refuses upgrades to other protocols (h2c would let requests bypass inspection)', async () => {
    const tls = await tlsVia(seb.proxyPort, `${KUBE_HOST}:443`, seb.caPem);
    const raw = await exchange(tls, `GET / HTTP/1.1\r\nHost: ${KUBE_HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('SEB_BAD_REQUEST');
  });

  it('streams a chunked response: the first chunk arrives before the upstream finishes', async () => {
    const dispatcher = new ProxyAgent({ uri: seb.proxyUrl, requestTls: { ca: seb.caPem } });
    const res = await request(`https://${KUBE_HOST}/api/v1/namespaces/default/pods?watch=1`, { dispatcher });
    expect(res.statusCode).toBe(200);
    const chunks: string[] = [];
    for await (const chunk of res.body) {
      chunks.push(String(chunk));
      // The upstream only finishes once the first chunk has reached the client: a buffering proxy deadlocks here.
      if (chunks.length === 1) releaseSecondChunk();
    }
    expect(chunks.join('')).toBe('{"type":"ADDED"}\n{"type":"DELETED"}\n');
    expect(chunks[0]).toBe('{"type":"ADDED"}\n');
    await dispatcher.close();
  });
});
