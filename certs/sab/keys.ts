// Ed25519 key plumbing over node:crypto KeyObjects (node:crypto verifies ~15x faster than @noble/ed25519 here, and a
// KeyObject is parsed once at trust-store load instead of on every verification).
import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';

// DER prefixes of the fixed-size Ed25519 encodings (RFC 8410): SPKI for a 32-byte public key, PKCS#8 for a 32-byte
// seed. Prepending them is the simplest exact way to import raw keys.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const KEY_BYTES = 32;

export function isEd25519(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ed25519';
}

export function publicKeyFromRaw(raw: Uint8Array): Result<KeyObject, string> {
  if (raw.length !== KEY_BYTES) return fail(`an Ed25519 public key is ${KEY_BYTES} bytes, got ${raw.length}`);
  try {
    return ok(createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }));
  } catch (cause) {
    return fail(`not an Ed25519 public key: ${message(cause)}`);
  }
}

/** Imports an SPKI "PUBLIC KEY" PEM. A private key PEM is refused: it does not belong in a trust store. */
export function publicKeyFromPem(pem: string): Result<KeyObject, string> {
  if (!/^\s*-----BEGIN PUBLIC KEY-----\s/.test(pem)) return fail('expected a "-----BEGIN PUBLIC KEY-----" PEM');
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    return isEd25519(key) ? ok(key) : fail(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  } catch (cause) {
    return fail(`unreadable PEM: ${message(cause)}`);
  }
}

export function privateKeyFromSeed(seed: Uint8Array): Result<KeyObject, string> {
  if (seed.length !== KEY_BYTES) return fail(`an Ed25519 seed is ${KEY_BYTES} bytes, got ${seed.length}`);
  return ok(createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }));
}

/** The 32 raw public key bytes (the last 32 bytes of the fixed-size SPKI DER). */
export function rawPublicKey(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** Default key id: the first 16 hex digits of SHA-256 over the raw public key — stable, and collision-free in
 * practice for the handful of keys a trust store holds. */
export function deriveKid(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

/** Pure Ed25519 (RFC 8032) verification; false, never an exception, for any bad input. */
export function verifyEd25519(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (!isEd25519(publicKey) || signature.length !== 64) return false;
  try {
    // Algorithm null: for Ed25519 the key type alone selects the (pure, unhashed) scheme.
    return verify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}

function message(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
