// Hostile input on the forward listener and inside intercepted TLS: each case gets a clear 4xx or a closed
// connection with a log line, and afterwards seb still serves normal requests.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';
import { startUpstream, type Upstream } from './helpers/upstreams.ts';
import { connectVia, exchange, readResponse, tlsVia } from './helpers/clients.ts';

const HOST = 'ec2.us-east-1.amazonaws.com';

describe('hostile input', () => {
  let seb: TestSeb;
  let upstream: Upstream;
  let upstreamHits = 0;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      upstreamHits++;
      req.resume();
      req.on('end', () => res.end('upstream ok'));
    });
    seb = await startTestSeb({
      upstreams: { aws: upstream.origin },
      limits: { maxHeaderBytes: 4096, maxBodyBytes: 1024, headersTimeoutMs: 800, requestTimeoutMs: 1500, tlsHandshakeTimeoutMs: 800 },
    });
  });
  afterAll(async () => {
    await seb.stop();
    await upstream.close();
  });

  const plain = async (): Promise<Socket> => {
    const s = connect(seb.proxyPort, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return s;
  };
  const intercepted = (): Promise<TLSSocket> => tlsVia(seb.proxyPort, `${HOST}:443`, seb.caPem);
  const head = (extra: string) => `POST /?Action=RunInstances HTTP/1.1\r\nHost: ${HOST}\r\n${extra}\r\n`;

  const cases: Array<{ name: string; bytes: string | Buffer; status: number; code: string }> = [
    { name: 'conflicting Content-Length and Transfer-Encoding', bytes: head('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n') + '0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n', status: 400, code: 'SEB_BAD_REQUEST' },
    { name: 'two different Content-Length values', bytes: head('Content-Length: 5\r\nContent-Length: 6\r\n') + 'hello!', status: 400, code: 'SEB_BAD_REQUEST' },
    { name: 'an unknown transfer coding', bytes: head('Transfer-Encoding: xchunked\r\n') + '5\r\nhello\r\n0\r\n\r\n', status: 400, code: 'SEB_BAD_REQUEST' },
    { name: 'a NUL byte in a header value', bytes: head('X-Amz-Date: 2026\x0011\r\n'), status: 400, code: 'SEB_BAD_REQUEST' },
    { name: 'a space in a header name', bytes: head('Bad Header: x\r\n'), status: 400, code: 'SEB_BAD_REQUEST' },
    { name: 'a non-HTTP request line', bytes: '\x16\x03\x01\x00\xa5garbage\r\n\r\n', status: 400, code: 'SEB_BAD_REQUEST' },
    { name: 'a path with a ".." segment', bytes: `PATCH /api/v1/namespaces/a/../kube-system/configmaps/b HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, status: 400, code: 'SEB_BAD_REQUEST' },
    { name: 'a path with a "." segment', bytes: `GET /./x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, status: 400, code: 'SEB_BAD_REQUEST' },
    { name: 'headers over limits.maxHeaderBytes', bytes: head(`X-Big: ${'a'.repeat(8192)}\r\n`), status: 431, code: 'SEB_HEADERS_TOO_LARGE' },
  ];

  for (const c of cases) {
    it(`inside intercepted TLS: ${c.name} -> ${c.status}`, async () => {
      const raw = await exchange(await intercepted(), c.bytes);
      expect(raw).toMatch(new RegExp(`^HTTP/1\\.1 ${c.status} `));
      expect(raw).toContain(c.code);
    });
  }

  it('on the forward listener: conflicting framing -> 400 and a log line', async () => {
    const raw = await exchange(await plain(), `POST http://${HOST}/ HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(seb.logs).toContainEqual(expect.objectContaining({ event: 'client_error', listener: 'proxy', code: 'SEB_BAD_REQUEST' }));
  });

  it('a declared body over limits.maxBodyBytes -> 413 without reading it, connection closed', async () => {
    const hitsBefore = upstreamHits;
    const raw = await exchange(await intercepted(), head('Content-Length: 100000\r\n') + 'x'.repeat(10));
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw).toContain('SEB_BODY_TOO_LARGE');
    expect(raw).toContain('limits.maxBodyBytes');
    expect(upstreamHits).toBe(hitsBefore);
  });

  it('a chunked body that grows over limits.maxBodyBytes -> 413', async () => {
    const chunk = 'a'.repeat(600);
    const raw = await exchange(await intercepted(), head('Transfer-Encoding: chunked\r\n') + `258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('a slow client that drips its headers -> 408 and closed', async () => {
    const socket = await intercepted();
    let closed = false;
    socket.once('close', () => (closed = true));
    const received: string[] = [];
    socket.on('data', (c: Buffer) => received.push(c.toString()));
    socket.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`);
    for (let i = 0; i < 20 && !closed; i++) {
      await new Promise((r) => setTimeout(r, 150));
      if (!closed) socket.write(`X-Drip-${i}: y\r\n`);
    }
    await new Promise((r) => (closed ? r(undefined) : socket.once('close', r)));
    expect(received.join('')).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a client that sends nothing after CONNECT is disconnected after limits.tlsHandshakeTimeoutMs', async () => {
    const { socket, status } = await connectVia(seb.proxyPort, `${HOST}:443`);
    expect(status).toBe(200);
    await new Promise((r) => socket.once('close', r));
    expect(seb.logs).toContainEqual(expect.objectContaining({ event: 'tls', outcome: 'handshake_timeout' }));
  });

  it('garbage instead of a TLS ClientHello is closed with a log line', async () => {
    const { socket } = await connectVia(seb.proxyPort, `${HOST}:443`);
    await exchange(socket, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
    expect(socket.destroyed).toBe(true);
    expect(seb.logs).toContainEqual(expect.objectContaining({ event: 'tls', outcome: 'tls_error' }));
  });

  it('a header named in Connection is judged as absent, because it is not forwarded', async () => {
    const hitsBefore = upstreamHits;
    const raw = await exchange(await intercepted(), `POST /?Action=TerminateInstances&InstanceId.1=i-1 HTTP/1.1\r\nHost: ${HOST}\r\nX-Amz-Target: x.DescribeInstances\r\nConnection: keep-alive, x-amz-target, close\r\nContent-Length: 0\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 403 /);
    expect(raw).toContain('ec2:TerminateInstances is a mutation'); // judged as the Query request EC2 will receive
    expect(upstreamHits).toBe(hitsBefore);
  });

  it('an endpoint-mode request target that URL parsing rejects is refused, not a crash', async () => {
    for (const target of ['/\\[', '/\\a:99999/']) {
      const tls = await new Promise<TLSSocket>((resolve, reject) => {
        const s = tlsConnect({ port: seb.endpointPort, host: '127.0.0.1', ca: seb.caPem, servername: 'localhost' }, () => resolve(s));
        s.once('error', reject);
      });
      const raw = await exchange(tls, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    }
  });

  it('after all of that, seb still forwards a normal request', async () => {
    const socket = await intercepted();
    socket.write(`GET /?Action=DescribeRegions HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    const res = await readResponse(socket);
    expect(res.status).toBe(200);
    expect(res.body).toBe('upstream ok');
    socket.destroy();
    const metrics = await (await fetch(`${seb.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/seb_refusals_total\{reason="SEB_BAD_REQUEST"\} \d+/);
    expect(metrics).toMatch(/seb_refusals_total\{reason="SEB_BODY_TOO_LARGE"\} \d+/);
  });
});
