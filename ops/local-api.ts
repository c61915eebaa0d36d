// The local API on the admin listener, for agents and operators on the same host: stage, list and withdraw SAB
// certificates. Every call needs `Authorization: Bearer <token>` (the token file is 0600 under the state dir).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { statusOf } from '../errors/codes.ts';
import type { StagingStore } from '../pipeline/staging.ts';

const MAX_BODY = 64 * 1024;

export interface LocalApiDeps {
  readonly staging: StagingStore;
  readonly token: string;
}

/** Handles /v1/... requests; returns false for paths it does not own. */
export function handleLocalApi(deps: LocalApiDeps, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (!path.startsWith('/v1/')) return false;
  if (!authorised(req.headers.authorization, deps.token)) {
    json(res, 401, { code: 'SEB_UNAUTHORISED', message: 'the local API needs Authorization: Bearer <token>, the token is in the admin token file (admin.tokenFile, default <stateDir>/admin.token)' });
    return true;
  }
  const m = /^\/v1\/certificates(?:\/([0-9a-f-]{36}))?$/.exec(path);
  if (!m) {
    json(res, 404, { code: 'SEB_BAD_REQUEST', message: `no local API endpoint ${path}; try /v1/certificates` });
    return true;
  }
  const cid = m[1];
  if (req.method === 'GET' && !cid) {
    json(res, 200, { certificates: deps.staging.list().map((s) => summary(s.cert.payload, s.stagedAt)) });
  } else if (req.method === 'POST' && !cid) {
    void readText(req).then((text) => {
      if (text === undefined) return json(res, 413, { code: 'SEB_BODY_TOO_LARGE', message: `a staged certificate must be under ${MAX_BODY} bytes` });
      const staged = deps.staging.stage(certificateFrom(text));
      if (!staged.ok) return json(res, statusOf(staged.error.code) === 403 ? 422 : statusOf(staged.error.code), { code: staged.error.code, message: staged.error.message });
      json(res, 201, summary(staged.value.cert.payload, staged.value.stagedAt));
    });
  } else if (req.method === 'DELETE' && cid) {
    if (deps.staging.withdraw(cid)) {
      res.writeHead(204).end();
    } else {
      json(res, 404, { code: 'SEB_CERT_MISSING', message: `no staged certificate ${cid}` });
    }
  } else {
    json(res, 405, { code: 'SEB_BAD_REQUEST', message: 'use GET or POST /v1/certificates, DELETE /v1/certificates/CID' });
  }
  return true;
}

/** The body is the header value itself, or JSON {"certificate": "..."}. */
function certificateFrom(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { certificate?: unknown };
      if (typeof parsed.certificate === 'string') return parsed.certificate;
    } catch {
      /* not JSON: decoded as a certificate below, and refused with its code */
    }
  }
  return trimmed;
}

function summary(p: { cid: string; sub: string; exp: number; contract: { platform: string; operation: string; targets: readonly unknown[] } }, stagedAt: number) {
  return { cid: p.cid, sub: p.sub, platform: p.contract.platform, operation: p.contract.operation, targets: p.contract.targets, exp: p.exp, stagedAt };
}

function authorised(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function readText(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.destroy();
        resolve(undefined);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
