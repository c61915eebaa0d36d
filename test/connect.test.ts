// CONNECT routing: refused, tunnelled byte for byte, intercepted with checked names; absolute-form requests.
import { createServer as createNetServer, type Server as NetServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';
import { startUpstream, type Upstream } from './helpers/upstreams.ts';
import { connectVia, exchange, readResponse, tlsVia } from './helpers/clients.ts';

describe('CONNECT routing', () => {
  let seb: TestSeb;
  let echo: NetServer;
  let echoPort: number;
  let received: Buffer[] = [];
  let upstream: Upstream;
  const REPLY = Buffer.concat([Buffer.from('\x16\x03\x01 not TLS, not HTTP: '), randomBytes(4096)]);

  beforeAll(async () => {
    echo = createNetServer((socket) => {
      socket.on('data', (c: Buffer) => {
        received.push(c);
        if (Buffer.concat(received).includes('END-OF-PAYLOAD')) socket.end(REPLY);
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as AddressInfo).port;
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host }));
    });
    seb = await startTestSeb({ tunnel: { allow: [`127.0.0.1:${echoPort}`, `llm.example.test:${upstream.port}`] }, upstreams: { aws: upstream.origin } });
  });
  afterAll(async () => {
    await seb.stop();
    await upstream.close();
    echo.close();
  });

  it('refuses a host that is neither intercepted nor tunnelled, naming the setting that would allow it', async () => {
    const { status, response } = await connectVia(seb.proxyPort, 'example.org:443');
    expect(status).toBe(403);
    const body = JSON.parse(response.slice(response.indexOf('{'))) as { code: string; message: string };
    expect(body.code).toBe('SEB_HOST_NOT_ALLOWED');
    expect(body.message).toContain('tunnel.allow');
    expect(body.message).toContain('example.org:443');
    expect(seb.logs).toContainEqual(expect.objectContaining({ event: 'connect', outcome: 'refused', code: 'SEB_HOST_NOT_ALLOWED' }));
  });

  it('refuses a CONNECT target that is not host:port', async () => {
    const { status, response } = await connectVia(seb.proxyPort, 'not a host');
    expect(status).toBe(400);
    expect(response).toContain('SEB_BAD_REQUEST');
  });

  it('relays a tunnelled host byte for byte, without interception', async () => {
    received = [];
    const { socket, status } = await connectVia(seb.proxyPort, `127.0.0.1:${echoPort}`);
    expect(status).toBe(200);
    // Bytes that look like TLS and HTTP: an intercepting proxy would choke on or rewrite them.
    const payload = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), randomBytes(256 * 1024), Buffer.from('END-OF-PAYLOAD')]);
    const reply = await exchange(socket, payload);
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    expect(Buffer.from(reply, 'latin1').equals(REPLY)).toBe(true);
    expect(seb.logs).toContainEqual(expect.objectContaining({ event: 'connect', target: `127.0.0.1:${echoPort}`, outcome: 'tunnelled' }));
  });

  it('intercepts an AWS host: the leaf certificate chains to seb\'s CA and names the host', async () => {
    const tls = await tlsVia(seb.proxyPort, 'ec2.eu-west-1.amazonaws.com:443', seb.caPem);
    const cert = tls.getPeerX509Certificate();
    expect(cert?.subjectAltName).toBe('DNS:ec2.eu-west-1.amazonaws.com');
    tls.write('GET /?Action=DescribeRegions HTTP/1.1\r\nHost: ec2.eu-west-1.amazonaws.com\r\nConnection: close\r\n\r\n');
    const res = await readResponse(tls);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ method: 'GET', url: '/?Action=DescribeRegions', host: 'ec2.eu-west-1.amazonaws.com' });
    tls.destroy();
  });

  it('refuses a request whose Host differs from the CONNECT destination (421)', async () => {
    const tls = await tlsVia(seb.proxyPort, 'ec2.eu-west-1.amazonaws.com:443', seb.caPem);
    tls.write('GET / HTTP/1.1\r\nHost: iam.amazonaws.com\r\n\r\n');
    const res = await readResponse(tls);
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'SEB_HOST_MISMATCH' });
    tls.destroy();
  });

  it('refuses a TLS server name that differs from the CONNECT destination', async () => {
    const { socket } = await connectVia(seb.proxyPort, 'ec2.eu-west-1.amazonaws.com:443');
    const error = await new Promise<Error>((resolve) => {
      const tls = tlsConnect({ socket, ca: seb.caPem, servername: 'iam.amazonaws.com' }, () => resolve(new Error('handshake succeeded')));
      tls.once('error', resolve);
    });
    expect(error.message).not.toBe('handshake succeeded');
  });

  it('forwards absolute-form plain-HTTP requests to an intercepted host', async () => {
    const res = await fetchVia(seb.proxyPort, 'GET http://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity HTTP/1.1\r\nHost: sts.us-east-1.amazonaws.com\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ url: '/?Action=GetCallerIdentity', host: 'sts.us-east-1.amazonaws.com' });
    expect(seb.logs).toContainEqual(expect.objectContaining({ msg: 'request', via: 'absolute', operation: 'GetCallerIdentity', outcome: 'forwarded' }));
  });

  it('refuses absolute-form requests to other hosts', async () => {
    const res = await fetchVia(seb.proxyPort, 'GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'SEB_HOST_NOT_ALLOWED' });
  });

  it('answers an origin-form request to the proxy port with a hint instead of forwarding it', async () => {
    const res = await fetchVia(seb.proxyPort, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).message).toContain('CONNECT');
  });
});

async function fetchVia(proxyPort: number, raw: string) {
  const { connect } = await import('node:net');
  const socket = connect(proxyPort, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(raw);
  return readResponse(socket).finally(() => socket.destroy());
}
