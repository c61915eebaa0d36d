// Strict base64url (RFC 4648 §5) without padding. Buffer.from(s, 'base64url') is lenient — it skips characters
// outside the alphabet, accepts '=', '+' and '/', and ignores non-zero trailing bits — which would let one
// certificate travel under many header values and hide garbage. Here exactly one spelling is accepted per byte string.
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';

const ALPHABET = /^[A-Za-z0-9_-]*$/;

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Decodes canonical unpadded base64url; the error says what is wrong with the text. */
export function decodeBase64url(text: string): Result<Buffer, string> {
  if (!ALPHABET.test(text)) {
    const at = text.search(/[^A-Za-z0-9_-]/);
    const char = text[at] === '=' ? "padding '='" : `character ${JSON.stringify(text[at])}`;
    return fail(`${char} at position ${at} is not allowed in unpadded base64url`);
  }
  // 4n+1 characters cannot come from any byte string: a truncated value.
  if (text.length % 4 === 1) return fail(`length ${text.length} is not a valid base64url length (truncated?)`);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) return fail('non-canonical base64url (unused trailing bits are not zero)');
  return ok(bytes);
}
