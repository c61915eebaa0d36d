// The SAB public keys seb trusts, by key id. Several at once so the SAB can rotate: publish the new key, start
// signing with it, let the old one run out (notAfter) or remove it. Configuration format:
//   { "keys": [ { "kid": "sab-2026-07", "publicKey": "<base64url, 32 raw bytes>",
//                 "notAfter": "2026-12-31T23:59:59Z", "iss": "sab.prod.example" },
//               { "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n..." } ] }
// kid defaults to deriveKid(key); notAfter (RFC 3339) ends the key's validity; iss, when set, is the only issuer
// the key may sign for. Errors here are configuration errors (a string), not certificate denials.
import { readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { decodeBase64url } from './base64url.ts';
import { deriveKid, isEd25519, publicKeyFromPem, publicKeyFromRaw, rawPublicKey } from './keys.ts';
import { KeyIdSchema } from './schema.ts';
import { parseStrictJson } from './strict-json.ts';
import { describeIssue } from './validate.ts';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';

export interface TrustedKey {
  readonly kid: string;
  readonly publicKey: KeyObject;
  /** Seconds since the epoch after which the key no longer verifies anything. */
  readonly notAfter?: number;
  /** When set, the key only verifies certificates whose `iss` is this. */
  readonly iss?: string;
}

export interface TrustStore {
  readonly keys: ReadonlyMap<string, TrustedKey>;
}

type KeySource = { readonly publicKey: string; readonly publicKeyPem?: never } | { readonly publicKeyPem: string; readonly publicKey?: never };
export type TrustedKeyConfig = KeySource & { readonly kid?: string; readonly notAfter?: string; readonly iss?: string };
export interface TrustStoreConfig {
  readonly keys: readonly TrustedKeyConfig[];
}

const KeyConfigSchema = z.strictObject({
  kid: KeyIdSchema.optional(),
  publicKey: z.string().optional(),
  publicKeyPem: z.string().optional(),
  notAfter: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 time such as "2026-12-31T23:59:59Z"' }).optional(),
  iss: z.string().min(1, { error: 'must not be empty' }).optional(),
}).refine((k) => (k.publicKey === undefined) !== (k.publicKeyPem === undefined), {
  error: 'give exactly one of publicKey (base64url raw 32 bytes) and publicKeyPem',
});

const ConfigSchema = z.strictObject({
  keys: z.array(KeyConfigSchema).min(1, { error: 'must list at least one key' }),
});

/** Builds a trust store from its JSON text or already-parsed JSON. */
export function parseTrustStore(input: string | unknown): Result<TrustStore, string> {
  let config: unknown = input;
  if (typeof input === 'string') {
    const json = parseStrictJson(input);
    if (!json.ok) return fail(`trust store: ${json.error}`);
    config = json.value;
  }
  const parsed = ConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(`trust store: ${issue === undefined ? 'invalid' : describeIssue(issue, config, [])}`);
  }
  const keys: TrustedKey[] = [];
  for (const [index, entry] of parsed.data.keys.entries()) {
    const key = entry.publicKeyPem !== undefined ? publicKeyFromPem(entry.publicKeyPem) : rawKey(entry.publicKey ?? '');
    if (!key.ok) return fail(`trust store: keys[${index}]: ${key.error}`);
    keys.push({
      kid: entry.kid ?? deriveKid(key.value),
      publicKey: key.value,
      ...(entry.notAfter === undefined ? {} : { notAfter: Date.parse(entry.notAfter) / 1000 }),
      ...(entry.iss === undefined ? {} : { iss: entry.iss }),
    });
  }
  return createTrustStore(keys);
}

/** Builds a trust store from keys already in memory; refuses duplicate key ids and a key listed twice (under two
 * ids with different limits, a certificate could pick the laxer entry by switching its unsigned kid). */
export function createTrustStore(keys: readonly TrustedKey[]): Result<TrustStore, string> {
  const byKid = new Map<string, TrustedKey>();
  const seen = new Map<string, string>();
  for (const key of keys) {
    if (!isEd25519(key.publicKey) || key.publicKey.type !== 'public') return fail(`trust store: key ${key.kid} is not an Ed25519 public key`);
    if (byKid.has(key.kid)) return fail(`trust store: key id ${key.kid} is listed twice`);
    const fingerprint = rawPublicKey(key.publicKey).toString('hex');
    const other = seen.get(fingerprint);
    if (other !== undefined) return fail(`trust store: keys ${other} and ${key.kid} are the same public key`);
    seen.set(fingerprint, key.kid);
    byKid.set(key.kid, key);
  }
  return ok({ keys: byKid });
}

export async function loadTrustStoreFile(path: string): Promise<Result<TrustStore, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    return fail(`trust store ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  return parseTrustStore(text);
}

function rawKey(text: string): Result<KeyObject, string> {
  const bytes = decodeBase64url(text);
  return bytes.ok ? publicKeyFromRaw(bytes.value) : fail(`publicKey is not base64url: ${bytes.error}`);
}
