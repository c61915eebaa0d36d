// Seb-Certificate header value <-> envelope. Decoding is a row of guard clauses, cheapest first, each failing with
// SEB_CERT_MALFORMED and a message saying which rule broke; nothing here does cryptography (verify.ts does, and
// only on what survived). Transport encoding: base64url (no padding) of the UTF-8 JSON envelope — a header-safe
// token that survives proxies, kubeconfig exec plugins and copy-paste, where raw JSON (quotes, non-ASCII) does not.
import { sebError } from '../../errors/codes.ts';
import type { CertificatePayload, Envelope } from './types.ts';
import { CERT_ALG, MAX_ENCODED_LENGTH } from './types.ts';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { parseStrictJson } from './strict-json.ts';
import { signingInput } from './signing-input.ts';
import { isObject, validatePayload } from './validate.ts';
import { KeyIdSchema } from './schema.ts';
import { preview } from './path.ts';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';

/** A certificate whose shape is valid and whose signature has NOT been checked yet. */
export interface DecodedCertificate {
  readonly payload: CertificatePayload;
  readonly kid: string;
  readonly alg: typeof CERT_ALG;
  /** The 64 signature bytes. */
  readonly signature: Uint8Array;
  /** SIGNING_DOMAIN + JCS(payload): the bytes the signature must cover. */
  readonly signingInput: Uint8Array;
}

export interface DecodeOptions {
  /** Largest accepted header value in characters; MAX_ENCODED_LENGTH unless given. */
  readonly maxLength?: number;
}

const ENVELOPE_FIELDS = ['payload', 'kid', 'alg', 'sig'] as const;
const SIGNATURE_BYTES = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeCertificate(header: string, options: DecodeOptions = {}): Result<DecodedCertificate> {
  const maxLength = options.maxLength ?? MAX_ENCODED_LENGTH;
  if (typeof header !== 'string') return malformed('certificate must be a string');
  // Size first, before any allocation proportional to the input.
  if (header.length > maxLength) {
    return malformed(`certificate is ${header.length} characters encoded; the limit is ${maxLength}`);
  }
  if (header.length === 0) return malformed('certificate is empty');

  const bytes = decodeBase64url(header);
  if (!bytes.ok) return malformed(`certificate is not base64url: ${bytes.error}`);

  let text: string;
  try {
    text = utf8.decode(bytes.value);
  } catch {
    return malformed('certificate is not valid UTF-8');
  }

  const json = parseStrictJson(text);
  if (!json.ok) return malformed(`certificate ${json.error}`);
  const envelope = json.value;
  if (!isObject(envelope)) return malformed('certificate envelope must be a JSON object');

  for (const field of Object.keys(envelope)) {
    if (!(ENVELOPE_FIELDS as readonly string[]).includes(field)) return malformed(`unknown field ${preview(field)} in envelope`);
  }
  for (const field of ENVELOPE_FIELDS) {
    if (!(field in envelope)) return malformed(`missing field ${field}`);
  }

  const { alg, kid, sig } = envelope;
  if (alg !== CERT_ALG) return malformed(`alg must be "${CERT_ALG}", got ${preview(alg)}`);
  const kidCheck = KeyIdSchema.safeParse(kid);
  if (!kidCheck.success) return malformed(`kid: ${kidCheck.error.issues[0]?.message ?? 'invalid'}`);
  if (typeof sig !== 'string') return malformed(`sig must be a base64url string, got ${typeName(sig)}`);
  const signature = decodeBase64url(sig);
  if (!signature.ok) return malformed(`sig is not base64url: ${signature.error}`);
  if (signature.value.length !== SIGNATURE_BYTES) {
    return malformed(`sig must be ${SIGNATURE_BYTES} bytes, got ${signature.value.length}`);
  }

  const payload = validatePayload(envelope.payload);
  if (!payload.ok) return payload;
  // Canonicalise what arrived, not the schema's copy of it: the signature must cover the received value.
  const input = signingInput(envelope.payload);
  if (!input.ok) return malformed(`payload cannot be canonicalised: ${input.error}`);

  return ok({ payload: payload.value, kid: kidCheck.data, alg: CERT_ALG, signature: signature.value, signingInput: input.value });
}

/** Envelope -> header value. The JSON may list members in any order: signatures cover the canonical payload. */
export function encodeEnvelope(envelope: Envelope): string {
  return encodeBase64url(Buffer.from(JSON.stringify(envelope), 'utf8'));
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function malformed(message: string): Result<never> {
  return fail(sebError('SEB_CERT_MALFORMED', message));
}
