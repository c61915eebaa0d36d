// The bytes a certificate signature covers: SIGNING_DOMAIN followed by the RFC 8785 (JCS) canonical JSON of the
// payload, UTF-8 encoded. The verifier canonicalises the payload it parsed, so the signature is checked over the
// very value the broker then enforces — not over some byte string that merely parses to something similar.
import canonicalize from 'canonicalize';
import { SIGNING_DOMAIN } from './types.ts';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';

const DOMAIN = Buffer.from(SIGNING_DOMAIN, 'utf8');

export function canonicalJson(value: unknown): Result<string, string> {
  try {
    const text = canonicalize(value);
    return text === undefined ? fail('value has no JSON representation') : ok(text);
  } catch (cause) {
    // canonicalize throws on NaN, Infinity, lone surrogates and cycles: none of them is I-JSON.
    return fail(cause instanceof Error ? cause.message : String(cause));
  }
}

export function signingInput(payload: unknown): Result<Buffer, string> {
  const canonical = canonicalJson(payload);
  if (!canonical.ok) return canonical;
  return ok(Buffer.concat([DOMAIN, Buffer.from(canonical.value, 'utf8')]));
}
