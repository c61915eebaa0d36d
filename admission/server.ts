// The admission webhook's HTTPS server: POST /validate and POST /mutate (AdmissionReview v1 in, AdmissionReview out),
// GET /healthz (alive) and /readyz (the ledger answers). Stateless: every replica behind the Service decides from the
// shared ledger alone. Bounded: request heads and bodies by size and time, decisions by webhook.decisionTimeoutMs.
// The serving certificate (cert-manager's Secret, mounted as files) is re-read when the files change, so a rotation
// needs no restart. One JSON log line per review; object contents are never logged.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sebError } from '../errors/codes.ts';
import type { Logger } from '../ops/logger.ts';
import { statusAnswer, type ReviewAnswer } from './review.ts';
import type { ReviewSummary } from './validate-review.ts';

export interface WebhookServerOptions {
  /** host:port (port 0: any free port). */
  readonly listen: string;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly validate: (body: unknown) => Promise<ReviewAnswer & { readonly summary: ReviewSummary }>;
  readonly mutate: (body: unknown) => ReviewAnswer;
  /** Readiness: undefined when ready, else why not. */
  readonly notReady: () => Promise<string | undefined>;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  readonly requestTimeoutMs: number;
  /** How often the TLS files are checked for a rotation, ms. */
  readonly tlsReloadIntervalMs?: number;
}

export interface WebhookServer {
  /** host:port actually bound. */
  readonly address: string;
  readonly port: number;
  /** Re-reads the TLS files now if they changed (also runs on an interval). */
  reloadTls(): Promise<boolean>;
  close(graceMs?: number): Promise<void>;
}

interface TlsFiles { cert: Buffer; key: Buffer; stamp: string }

async function readTls(certFile: string, keyFile: string): Promise<TlsFiles> {
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  return { cert, key, stamp: createHash('sha256').update(cert).update('\0').update(key).digest('hex') };
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const log = opts.logger;
  let tls = await readTls(opts.tlsCertFile, opts.tlsKeyFile);
  const server = https.createServer({
    cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2',
    headersTimeout: Math.min(opts.requestTimeoutMs, 10_000), requestTimeout: opts.requestTimeoutMs, maxHeaderSize: 16_384,
  }, (req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000; // the API server keeps connections to webhooks open

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    try {
      if (path === '/healthz' || path === '/readyz') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, statusAnswer(405, sebError('SEB_BAD_REQUEST', `${path} accepts GET only`)));
        if (path === '/healthz') return send(res, { status: 200, body: { status: 'ok' } });
        const why = await opts.notReady();
        return send(res, why === undefined ? { status: 200, body: { status: 'ready' } } : { status: 503, body: { status: 'not ready', reason: why } });
      }
      if (path !== '/validate' && path !== '/mutate') {
        return send(res, statusAnswer(404, sebError('SEB_BAD_REQUEST', `no endpoint ${path}: the webhook serves POST /validate and /mutate, GET /healthz and /readyz`)));
      }
      if (req.method !== 'POST') return send(res, statusAnswer(405, sebError('SEB_BAD_REQUEST', `${path} accepts POST only (an AdmissionReview)`)));
      const body = await readJson(req, opts.maxBodyBytes);
      if (!body.ok) {
        log.warn({ event: 'review_refused', path, status: body.answer.status, reason: (body.answer.body as { message?: string }).message }, 'webhook request refused');
        return send(res, body.answer, body.close);
      }
      if (path === '/mutate') {
        const answer = opts.mutate(body.value);
        log.info({ event: 'review', path, status: answer.status, durationMs: ms(started) }, 'mutating review');
        return send(res, answer);
      }
      const answer = await opts.validate(body.value);
      log.info({ event: 'review', path, ...answer.summary, durationMs: ms(started) }, answer.summary.allowed ? 'admitted' : 'denied');
      return send(res, answer);
    } catch (err) {
      // Unreachable by design (every step returns values); a bug still ends in a refusal, never a hung request.
      log.error({ event: 'webhook_error', path, error: err instanceof Error ? err.message : String(err) }, 'webhook request failed');
      if (!res.headersSent) send(res, statusAnswer(500, sebError('SEB_INTERNAL', 'the webhook failed while handling the request and refused it')), true);
      else res.destroy();
    }
  };

  const reloadTls = async (): Promise<boolean> => {
    try {
      const next = await readTls(opts.tlsCertFile, opts.tlsKeyFile);
      if (next.stamp === tls.stamp) return false;
      server.setSecureContext({ cert: next.cert, key: next.key });
      tls = next;
      log.info({ event: 'tls_reloaded', certFile: opts.tlsCertFile }, 'serving certificate reloaded');
      return true;
    } catch (err) {
      // A half-written rotation or a bad pair: keep serving with the previous certificate and try again later.
      log.error({ event: 'tls_reload_failed', certFile: opts.tlsCertFile, error: err instanceof Error ? err.message : String(err) }, 'serving certificate not reloaded; the previous one stays in use');
      return false;
    }
  };
  const timer = setInterval(() => void reloadTls(), opts.tlsReloadIntervalMs ?? 30_000);
  timer.unref();

  const address = await new Promise<AddressInfo>((resolve, reject) => {
    const i = opts.listen.lastIndexOf(':');
    server.once('error', reject);
    server.listen(Number(opts.listen.slice(i + 1)), opts.listen.slice(0, i).replace(/^\[|\]$/g, ''), () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    address: `${host}:${address.port}`,
    port: address.port,
    reloadTls,
    async close(graceMs = 5_000) {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(cut);
    },
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

type BodyResult = { ok: true; value: unknown } | { ok: false; answer: ReviewAnswer; close: boolean };

/** The whole body as JSON, at most max bytes; anything else is a refusal the API server will quote. */
async function readJson(req: IncomingMessage, max: number): Promise<BodyResult> {
  const refuse = (status: number, message: string, close = false): BodyResult => ({ ok: false, answer: statusAnswer(status, sebError(status === 413 ? 'SEB_BODY_TOO_LARGE' : 'SEB_ADMISSION_MALFORMED', message)), close });
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return refuse(415, `expected Content-Type application/json (an AdmissionReview), got ${JSON.stringify(type)}`, true);
  if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') return refuse(415, `Content-Encoding ${JSON.stringify(req.headers['content-encoding'])} is not accepted`, true);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) return refuse(413, `the review is ${declared} bytes, more than webhook.maxBodyBytes (${max})`, true);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return refuse(413, `the review is more than webhook.maxBodyBytes (${max}) bytes`, true);
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(UTF8.decode(Buffer.concat(chunks))) as unknown };
  } catch (err) {
    return refuse(400, `the body is not UTF-8 JSON (${err instanceof Error ? err.message : String(err)}); expected an admission.k8s.io/v1 AdmissionReview`);
  }
}

function send(res: ServerResponse, answer: ReviewAnswer, close = false): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(close ? { connection: 'close' } : {}) });
  res.end(text);
}

const ms = (started: number): number => Math.round((performance.now() - started) * 1000) / 1000;
