// Request bodies as seb reads them to build contracts. Strict on purpose: the upstream must not be able to read
// a body differently from seb (a parser differential would let a certified-looking body do something else), so
// invalid UTF-8, duplicate JSON keys and "__proto__" members are refused rather than normalised.
import { parseStrictJson } from '../certs/sab/strict-json.ts';
import type { JsonValue } from '../certs/sab/types.ts';

const MAX_BODY_DEPTH = 100;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export type BodyParse = { readonly ok: true; readonly value: JsonValue } | { readonly ok: false; readonly message: string };

export function utf8Text(body: Buffer): { ok: true; text: string } | { ok: false; message: string } {
  try {
    return { ok: true, text: utf8.decode(body) };
  } catch {
    return { ok: false, message: 'the request body is not valid UTF-8' };
  }
}

export function strictJsonBody(body: Buffer): BodyParse {
  const text = utf8Text(body);
  if (!text.ok) return text;
  const parsed = parseStrictJson(text.text, MAX_BODY_DEPTH);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, message: `the request body is not acceptable JSON: ${parsed.error}` };
}
