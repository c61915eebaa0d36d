// How an AWS request carries its signature and its payload, checked before anything is read from it. Presigned
// URLs, SigV4a and chunk-signed streaming are refused with their own codes; a declared SHA-256 must be the body's;
// STREAMING-UNSIGNED-PAYLOAD-TRAILER (S3 PutObject's default since 2025) is an aws-chunked body with a trailing
// checksum, decoded here strictly so that seb judges exactly the bytes S3 will store. The request itself is
// forwarded as it came (re-signed with the same payload mode); only the decoded content is judged.
import { createHash } from 'node:crypto';
import { sebError, type SebError } from '../../errors/codes.ts';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface Payload {
  /** The content the operation acts on: the body, or the decoded aws-chunked content. */
  readonly content: Buffer;
  /** x-amz-content-sha256 as sent (undefined: not sent). */
  readonly mode: string | undefined;
  /** Trailing headers of an aws-chunked body (lower-case names), e.g. x-amz-checksum-crc32. */
  readonly trailers: Readonly<Record<string, string>>;
  /** True when the body was aws-chunked. */
  readonly chunked: boolean;
}

export type PayloadResult = { readonly ok: true; readonly payload: Payload } | { readonly ok: false; readonly error: SebError };

const unsupported = (message: string): PayloadResult => ({ ok: false, error: sebError('SEB_REQUEST_UNSUPPORTED', message) });

/** Refuses the signing forms seb does not accept; undefined: acceptable. */
export function signingFormRefusal(headers: Headers, query: URLSearchParams): SebError | undefined {
  for (const name of query.keys()) {
    // SigV4 presigned (X-Amz-Signature ...) and the older SigV2 query signatures (S3 presigned URLs, Query API)
    if (/^(x-amz-(signature|credential|algorithm)|signature|awsaccesskeyid)$/i.test(name)) {
      return sebError('SEB_PRESIGNED_UNSUPPORTED', 'presigned AWS requests (a signature in the query string) are not accepted by seb: send the request with an Authorization header');
    }
  }
  const authorization = single(headers['authorization']) ?? '';
  if (/^AWS4-ECDSA-P256-SHA256\b/i.test(authorization) || headers['x-amz-region-set'] !== undefined) {
    return sebError('SEB_SIGV4A_UNSUPPORTED', 'SigV4a (AWS4-ECDSA-P256-SHA256, multi-region access points) signatures are not supported by seb; use a regional endpoint signed with SigV4');
  }
  const mode = single(headers['x-amz-content-sha256']);
  if (mode !== undefined && /^STREAMING-(AWS4-|UNSIGNED-PAYLOAD$)/i.test(mode)) {
    return sebError('SEB_STREAMING_UNSUPPORTED', `chunk-signed uploads (x-amz-content-sha256: ${mode.slice(0, 64)}) are not supported by seb; let the client send STREAMING-UNSIGNED-PAYLOAD-TRAILER or a whole-body hash`);
  }
  return undefined;
}

/** The payload of a request whose signing form is acceptable. */
export function payloadOf(headers: Headers, body: Buffer): PayloadResult {
  const modeHeader = headers['x-amz-content-sha256'];
  if (Array.isArray(modeHeader)) return unsupported('x-amz-content-sha256 is given more than once');
  const mode = modeHeader;
  const encoding = single(headers['content-encoding'])?.trim();
  const awsChunked = encoding !== undefined && encoding.split(',').some((t) => t.trim().toLowerCase() === 'aws-chunked');
  if (mode === STREAMING_UNSIGNED_TRAILER) {
    if (encoding !== 'aws-chunked') return unsupported(`${STREAMING_UNSIGNED_TRAILER} bodies must be sent with Content-Encoding: aws-chunked and no other coding (got ${encoding ? JSON.stringify(encoding.slice(0, 64)) : 'none'})`);
    const decoded = decodeAwsChunked(body, headers);
    return decoded.ok ? { ok: true, payload: { content: decoded.content, mode, trailers: decoded.trailers, chunked: true } } : unsupported(`malformed aws-chunked body: ${decoded.reason}`);
  }
  if (awsChunked) return unsupported(`Content-Encoding aws-chunked needs x-amz-content-sha256: ${STREAMING_UNSIGNED_TRAILER} (the only streaming mode seb reads)`);
  if (mode === undefined || mode === UNSIGNED_PAYLOAD) return { ok: true, payload: { content: body, mode, trailers: {}, chunked: false } };
  if (/^[0-9a-f]{64}$/.test(mode)) {
    if (createHash('sha256').update(body).digest('hex') !== mode) return unsupported('x-amz-content-sha256 does not match the body received');
    return { ok: true, payload: { content: body, mode, trailers: {}, chunked: false } };
  }
  return unsupported(`x-amz-content-sha256 "${mode.slice(0, 80)}" is neither a lower-case SHA-256 hex digest nor a payload mode seb reads (UNSIGNED-PAYLOAD, ${STREAMING_UNSIGNED_TRAILER})`);
}

type Decoded = { ok: true; content: Buffer; trailers: Record<string, string> } | { ok: false; reason: string };

const CRLF = Buffer.from('\r\n');
const MAX_TRAILERS = 4;

/**
 * aws-chunked, unsigned: `<hex size>\r\n<data>\r\n` ... `0\r\n<trailer>:<value>\r\n`... `\r\n`. Only the form the
 * SDKs write is accepted: lower-case hex sizes without leading zeros or extensions, exactly the trailers named
 * in x-amz-trailer, nothing after the final CRLF, and the length in x-amz-decoded-content-length.
 */
export function decodeAwsChunked(body: Buffer, headers: Headers): Decoded {
  const declared = single(headers['x-amz-decoded-content-length']);
  if (declared === undefined || !/^(0|[1-9]\d{0,15})$/.test(declared)) return { ok: false, reason: 'x-amz-decoded-content-length is missing or not a decimal length' };
  const trailerNames = (single(headers['x-amz-trailer']) ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (trailerNames.length > MAX_TRAILERS || trailerNames.some((t) => !/^x-amz-checksum-[a-z0-9]{1,16}$/.test(t))) {
    return { ok: false, reason: 'x-amz-trailer must name lower-case x-amz-checksum-* headers' };
  }
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf(CRLF, at);
    if (eol < 0 || eol - at > 200) return { ok: false, reason: `no chunk size line at byte ${at}` };
    const sizeText = body.toString('latin1', at, eol).slice(0, 40);
    if (!/^(0|[1-9a-f][0-9a-f]{0,7})$/.test(sizeText)) return { ok: false, reason: `chunk size "${sizeText}" at byte ${at} is not lower-case hex without extensions` };
    const size = parseInt(sizeText, 16);
    at = eol + 2;
    if (size === 0) break;
    if (at + size + 2 > body.length) return { ok: false, reason: `a chunk of ${size} bytes at byte ${at} runs past the end of the body` };
    parts.push(body.subarray(at, at + size));
    at += size;
    if (!body.subarray(at, at + 2).equals(CRLF)) return { ok: false, reason: `chunk data at byte ${at} is not followed by CRLF` };
    at += 2;
  }
  const trailers: Record<string, string> = {};
  for (;;) {
    const eol = body.indexOf(CRLF, at);
    if (eol < 0) return { ok: false, reason: 'the trailer section does not end with an empty line' };
    if (eol === at) {
      at += 2;
      break;
    }
    const line = body.toString('latin1', at, eol);
    const m = /^([a-z0-9-]{1,64}):([A-Za-z0-9+/=]{1,128})$/.exec(line);
    if (!m) return { ok: false, reason: `trailer line "${line.slice(0, 80)}" is not "<lower-case name>:<base64 value>"` };
    if (!trailerNames.includes(m[1]!)) return { ok: false, reason: `trailer ${m[1]} is not declared in x-amz-trailer` };
    if (trailers[m[1]!] !== undefined) return { ok: false, reason: `trailer ${m[1]} is given twice` };
    trailers[m[1]!] = m[2]!;
    at = eol + 2;
  }
  if (at !== body.length) return { ok: false, reason: `${body.length - at} bytes follow the end of the aws-chunked body` };
  const missing = trailerNames.find((t) => trailers[t] === undefined);
  if (missing) return { ok: false, reason: `the declared trailer ${missing} is missing` };
  const content = Buffer.concat(parts);
  if (content.length !== Number(declared)) return { ok: false, reason: `the chunks hold ${content.length} bytes, x-amz-decoded-content-length says ${declared}` };
  return { ok: true, content, trailers };
}

/** Encodes content the way the SDKs do (tests, fixtures). */
export function encodeAwsChunked(content: Buffer, trailers: Readonly<Record<string, string>>, chunkSize = 65536): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < content.length; i += chunkSize) {
    const chunk = content.subarray(i, i + chunkSize);
    out.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, CRLF);
  }
  out.push(Buffer.from(`0\r\n${Object.entries(trailers).map(([k, v]) => `${k}:${v}\r\n`).join('')}\r\n`));
  return Buffer.concat(out);
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
