// Raw clients for proxy tests: a CONNECT tunnel through seb, optionally wrapped in TLS, so tests control every byte.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/** Sends CONNECT and resolves with the socket and seb's answer (status line and any refusal body). */
export function connectVia(proxyPort: number, target: string, extraHead = ''): Promise<{ socket: Socket; status: number; response: string }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(proxyPort, '127.0.0.1');
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const head = buffered.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const rest = buffered.subarray(end + 4);
      if (status !== 200) {
        // Refusals are complete responses followed by close: collect the body.
        let body = rest.toString('utf8');
        socket.on('data', (c: Buffer) => (body += c.toString('utf8')));
        socket.once('close', () => resolve({ socket, status, response: `${head}\r\n\r\n${body}` }));
        return;
      }
      if (rest.length > 0) socket.unshift(rest);
      resolve({ socket, status, response: head });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${extraHead}\r\n`);
  });
}

/** CONNECT, then a TLS handshake with seb's leaf for `servername`, verified against seb's CA. */
export async function tlsVia(proxyPort: number, target: string, caPem: string, servername = target.replace(/:\d+$/, '')): Promise<TLSSocket> {
  const { socket, status, response } = await connectVia(proxyPort, target);
  if (status !== 200) throw new Error(`CONNECT refused: ${response}`);
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, ca: caPem, servername, ALPNProtocols: ['http/1.1'] }, () => resolve(tls));
    tls.once('error', reject);
  });
}

/** Writes raw bytes and collects everything until the peer closes (or `ms` passes). */
export function exchange(socket: Socket | TLSSocket, bytes: string | Buffer, ms = 10_000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, ms);
    socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

/** Reads one complete HTTP/1.1 response: the head, then the body by Content-Length or chunked framing. */
export function readResponse(socket: Socket | TLSSocket): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (head: string, body: Buffer, consumed: number) => {
      socket.off('data', onData);
      const rest = buf.subarray(consumed);
      if (rest.length) socket.unshift(rest);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: body.toString('utf8') });
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        const chunks: Buffer[] = [];
        let at = end + 4;
        for (;;) {
          const lineEnd = buf.indexOf('\r\n', at);
          if (lineEnd < 0) return;
          const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
          if (buf.length < lineEnd + 2 + size + 2) return;
          if (size === 0) return done(head, Buffer.concat(chunks), lineEnd + 4);
          chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
          at = lineEnd + 2 + size + 2;
        }
      }
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      done(head, buf.subarray(end + 4, end + 4 + length), end + 4 + length);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}
