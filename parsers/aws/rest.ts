// What the REST protocols (REST-XML: S3; REST-JSON: Lambda) share: the request's parts as seb binds them. A REST
// operation is named by method, path and query; its parameters live in all three and in headers, so the contract
// binds every one of them that the service reads: the URL's names (bucket, key, function), the query, every
// header but the ones that only carry transport, signing or integrity data, and the body (canonical JSON when it
// is JSON, else its SHA-256 and length). Binding too much only costs a re-certification; binding too little
// would let an unbound header (x-amz-acl, If-Match ...) change what a certificate allowed.
import { createHash } from 'node:crypto';
import type { JsonValue } from '../../certs/sab/types.ts';
import { strictJsonBody } from '../body.ts';
import type { Payload } from './payload.ts';

export type Parsed =
  | { readonly kind: 'read' }
  | { readonly kind: 'mutation'; readonly operation: string; readonly targets: string[]; readonly params: Record<string, JsonValue> }
  | { readonly kind: 'unsupported'; readonly message: string };

export interface RestInput {
  readonly method: string;
  readonly host: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly payload: Payload;
  readonly region: string;
  readonly accountId: string | undefined;
}

export const refuse = (message: string): Parsed => ({ kind: 'unsupported', message });

/** Headers that carry signing, transport or integrity data only (the body they protect is bound by digest). */
const UNBOUND = new Set([
  'authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'seb-certificate', 'host', 'content-length',
  'user-agent', 'x-amz-user-agent', 'amz-sdk-invocation-id', 'amz-sdk-request', 'accept', 'accept-encoding', 'expect', 'x-amzn-trace-id',
  'content-md5', 'x-amz-sdk-checksum-algorithm', 'x-amz-trailer', 'x-amz-decoded-content-length',
  // SSE-C keys are secrets a certificate must not carry; their -md5 headers are bound, and S3 checks the key against them
  'x-amz-server-side-encryption-customer-key', 'x-amz-copy-source-server-side-encryption-customer-key',
]);
const INTEGRITY = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/;

/** The headers a REST contract binds (names lower-case, as Node delivers them); `skip` adds service-specific ones. */
export function boundHeaders(headers: RestInput['headers'], payload: Payload, skip: readonly string[] = []): { ok: true; headers: Record<string, string> } | { ok: false; reason: string } {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers).sort()) {
    const value = headers[name];
    if (value === undefined || UNBOUND.has(name) || INTEGRITY.test(name) || skip.includes(name)) continue;
    if (Array.isArray(value)) return { ok: false, reason: `header ${name} is given more than once` };
    if (name === 'content-encoding' && payload.chunked) continue; // aws-chunked: the framing seb decoded, not a property of the content
    out[name] = value;
  }
  return { ok: true, headers: out };
}

/** The query as single-valued parameters; a name given twice, or twice in different casing, is refused. */
export function singleQuery(query: URLSearchParams): { ok: true; params: Map<string, string> } | { ok: false; reason: string } {
  const params = new Map<string, string>();
  const folded = new Set<string>();
  for (const [name, value] of query) {
    const key = name.toLowerCase();
    if (folded.has(key)) return { ok: false, reason: `query parameter ${name.slice(0, 64)} is given more than once (or in two casings)` };
    folded.add(key);
    params.set(name, value);
  }
  return { ok: true, params };
}

/** The body as a contract binds opaque bytes. */
export function bodyDigest(content: Buffer): { sha256: string; length: number } {
  return { sha256: createHash('sha256').update(content).digest('hex'), length: content.length };
}

/** A JSON body (strict: no duplicate keys, valid UTF-8), for services whose bodies are JSON documents. */
export function jsonBody(content: Buffer, what: string): { ok: true; value: JsonValue } | { ok: false; reason: string } {
  const parsed = strictJsonBody(content);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, reason: `${what}: ${parsed.message}` };
}

/** Percent-decodes one path segment; undefined when the encoding is malformed or not UTF-8. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Characters a name must not hold to be written exactly in an IAM policy's Resource: whitespace and controls
 * (not ARN characters), and the wildcards and policy-variable syntax (`*`, `?`, `${`), which would widen it. */
export function arnUnsafe(name: string): string | undefined {
  if (/[\s\p{Cc}]/u.test(name)) return 'whitespace or control characters';
  if (/[*?]/.test(name)) return 'the IAM wildcard characters * or ?';
  if (name.includes('${')) return 'the IAM policy-variable syntax ${';
  return undefined;
}
