// SigV4 both ways: verifying the agent's signature on the request exactly as seb received it, and re-signing the
// outgoing request with seb's own or a minted identity. Canonicalisation is @smithy/signature-v4's own (its
// canonical headers, query and request, through a subclass that exposes them); only the HMAC chain is computed
// here, with node:crypto, so that both directions are synchronous (the gate's classify and authorize are).
// test/aws-mint.test.ts checks that a request signed here carries exactly the signature SignatureV4.sign gives.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import type { HashConstructor, HttpRequest } from '@smithy/types';
import { sebError, type SebCode, type SebError } from '../../errors/codes.ts';
import { parseCredential, type CredentialScope } from '../../parsers/aws/sigv4.ts';
import { signingFormRefusal } from '../../parsers/aws/payload.ts';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** The part of a request SigV4 covers, as seb holds it. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  /** Lower-case names, as Node delivers them; no Host (seb handles the Host explicitly). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const CODE_AGENT_AUTH: SebCode = 'SEB_AGENT_AUTH';

/** AWS refuses signatures dated further than this from its clock; seb holds the agent's to the same bound. */
export const MAX_SKEW_SECONDS = 15 * 60;

/** Exposes smithy's canonical request (a protected method) without its async signing. */
class Canonicaliser extends SignatureV4 {
  constructor(service: string) {
    // S3 signs the path as sent; every other service escapes it once more (smithy's and botocore's default).
    super({ service, region: 'unused', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' }, sha256: Hash.bind(null, 'sha256') as unknown as HashConstructor, uriEscapePath: service !== 's3' });
  }
  canonical(request: HttpRequest, headers: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, headers, payloadHash);
  }
}
const canonicalisers = new Map<string, Canonicaliser>();
function canonicaliser(service: string): Canonicaliser {
  let c = canonicalisers.get(service);
  if (!c) canonicalisers.set(service, (c = new Canonicaliser(service)));
  return c;
}

function smithyRequest(req: SignableRequest, host: string, headers: Record<string, string>): HttpRequest {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of req.url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { method: req.method, protocol: 'https:', hostname: host, path: req.url.pathname, query, headers, body: req.body } as HttpRequest;
}

function signature(secret: string, scope: CredentialScope, amzDate: string, canonicalRequest: string): string {
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, scope.date), scope.region), scope.service), 'aws4_request');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, `${scope.date}/${scope.region}/${scope.service}/aws4_request`, sha256Hex(canonicalRequest)].join('\n');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface ParsedAuthorization {
  readonly scope: CredentialScope;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

const AUTH = /^AWS4-HMAC-SHA256 +Credential=([^,\s]+), *SignedHeaders=([a-z0-9;._-]+), *Signature=([0-9a-f]{64})$/;

export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const m = AUTH.exec(value.trim());
  if (!m) return undefined;
  const scope = parseCredential(m[1]!);
  if (!scope) return undefined;
  return { scope, signedHeaders: m[2]!.split(';'), signature: m[3]! };
}

export interface AgentKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Checks the agent's SigV4 signature against the placeholder credentials seb issued it. `hostHeader` is the Host
 * the agent sent (and signed); undefined: the request's own host. Returns the reason to refuse, or undefined. */
export function verifyAgentSignature(req: SignableRequest, opts: { key: AgentKey; hostHeader: string; now: number }): SebError | undefined {
  const deny = (message: string) => sebError(CODE_AGENT_AUTH, `AWS request authentication failed: ${message}`);
  // Presigned URLs, SigV4a and chunk-signed streaming: refused with their own codes, as the parser does.
  const refusal = signingFormRefusal(req.headers, req.url.searchParams);
  if (refusal) return refusal;
  const authorization = one(req.headers['authorization']);
  if (!authorization) return deny('the request carries no SigV4 Authorization header; sign it with the credentials `seb agent-env` prints');
  const auth = parseAuthorization(authorization);
  if (!auth) return deny('the Authorization header is not a well-formed AWS4-HMAC-SHA256 signature');
  const payloadMode = one(req.headers['x-amz-content-sha256']);
  // Key identity first, in constant time as well: an unknown key learns nothing about the expected one.
  if (!safeEqual(auth.scope.accessKeyId, opts.key.accessKeyId)) return deny(`unknown access key ${auth.scope.accessKeyId}: use the credentials \`seb agent-env\` prints`);
  if (!auth.signedHeaders.includes('host')) return deny('the signature does not cover the Host header');
  const amzDate = one(req.headers['x-amz-date']);
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return deny('the request has no X-Amz-Date header in the form YYYYMMDDTHHMMSSZ');
  if (!auth.signedHeaders.includes('x-amz-date')) return deny('the signature does not cover X-Amz-Date');
  if (amzDate.slice(0, 8) !== auth.scope.date) return deny(`the credential scope date ${auth.scope.date} is not the date of X-Amz-Date ${amzDate}`);
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15)) / 1000;
  if (Math.abs(opts.now - signedAt) > MAX_SKEW_SECONDS) return deny(`the signature is dated ${amzDate}, more than ${MAX_SKEW_SECONDS / 60} minutes from seb's clock`);

  let payloadHash: string;
  if (payloadMode === undefined) payloadHash = sha256Hex(req.body);
  else if (payloadMode === UNSIGNED_PAYLOAD || payloadMode === STREAMING_UNSIGNED_TRAILER) payloadHash = payloadMode;
  else if (/^[0-9a-f]{64}$/.test(payloadMode)) {
    if (payloadMode !== sha256Hex(req.body)) return deny('x-amz-content-sha256 does not match the body received');
    payloadHash = payloadMode;
  } else return deny(`x-amz-content-sha256 "${payloadMode}" is neither a SHA-256 hex digest nor a payload mode seb supports`);

  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    if (name === 'host') headers.host = opts.hostHeader;
    else if (name === 'content-length' && req.headers[name] === undefined) headers[name] = String(req.body.length); // hop-by-hop: seb frames the body itself
    else {
      const value = req.headers[name];
      if (value === undefined) return deny(`the signed header ${name} is missing`);
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  const signable = new Set(auth.signedHeaders);
  const canonicalHeaders = getCanonicalHeaders({ headers } as HttpRequest, undefined, signable);
  const canonicalRequest = canonicaliser(auth.scope.service).canonical(smithyRequest(req, opts.hostHeader, headers), canonicalHeaders, payloadHash);
  const expected = signature(opts.key.secretAccessKey, auth.scope, amzDate, canonicalRequest);
  if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(auth.signature, 'hex'))) {
    return deny('the SigV4 signature does not match (wrong secret key, or the request was altered after signing)');
  }
  return undefined;
}

/** Headers the agent's signature brought, which the re-signed request replaces. */
const AGENT_AUTH_HEADERS = new Set(['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'seb-certificate']);

/** The outgoing headers of `req` signed with `credentials` for `host`, in the agent's service and region, with
 * SigV4 as of `date`. The payload is hashed as the agent declared it: UNSIGNED-PAYLOAD and the streaming trailer
 * mode stay as they were; anything else becomes the SHA-256 of the body that is sent. */
export function signRequest(req: SignableRequest, opts: { credentials: AwsCredentials; host: string; region: string; service: string; date?: Date }): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !AGENT_AUTH_HEADERS.has(k) && k !== 'host') out[k] = v;
  const agentMode = one(req.headers['x-amz-content-sha256']);
  const payloadHash = agentMode === UNSIGNED_PAYLOAD || agentMode === STREAMING_UNSIGNED_TRAILER ? agentMode : req.body.length === 0 ? EMPTY_SHA256 : sha256Hex(req.body);
  const amzDate = (opts.date ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  out['x-amz-date'] = amzDate;
  if (agentMode !== undefined || opts.service === 's3') out['x-amz-content-sha256'] = payloadHash;
  if (opts.credentials.sessionToken) out['x-amz-security-token'] = opts.credentials.sessionToken;
  // Everything the agent sent is signed, but for the headers smithy never signs (user-agent, expect, ...).
  const toSign: Record<string, string> = { host: opts.host };
  for (const [k, v] of Object.entries(out)) toSign[k] = Array.isArray(v) ? v.join(',') : v;
  const canonicalHeaders = getCanonicalHeaders({ headers: toSign } as HttpRequest);
  const scope: CredentialScope = { accessKeyId: opts.credentials.accessKeyId, date: amzDate.slice(0, 8), region: opts.region, service: opts.service };
  const canonicalRequest = canonicaliser(opts.service).canonical(smithyRequest(req, opts.host, toSign), canonicalHeaders, payloadHash);
  const sig = signature(opts.credentials.secretAccessKey, scope, amzDate, canonicalRequest);
  out['authorization'] = `AWS4-HMAC-SHA256 Credential=${scope.accessKeyId}/${scope.date}/${scope.region}/${scope.service}/aws4_request, SignedHeaders=${Object.keys(canonicalHeaders).sort().join(';')}, Signature=${sig}`;
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a === b;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
