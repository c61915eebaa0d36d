// Refusals written by seb itself (not by an upstream): a stable code, a message the operator can act on, JSON.
// Platform adapters will render pipeline denials in their clients' error shapes; transport-level refusals
// (before seb knows the platform) use this one shape.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusOf, type SebCode } from '../errors/codes.ts';
import { STATUS_CODES } from 'node:http';

export function refusalBody(code: SebCode, message: string): string {
  return JSON.stringify({ code, message }) + '\n';
}

export function sendRefusal(res: ServerResponse, code: SebCode, message: string, opts: { close?: boolean } = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = refusalBody(code, message);
  res.writeHead(statusOf(code), {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'seb-denial-code': code,
    ...(opts.close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/** For raw sockets (CONNECT, upgrades, parse errors): a complete HTTP/1.1 response, then close. */
export function writeRawRefusal(socket: Duplex, code: SebCode, message: string, status = statusOf(code)): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = refusalBody(code, message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Seb-Denial-Code: ${code}\r\nConnection: close\r\n\r\n${body}`,
  );
}
