// A development and test signer: what a SAB does, minus the policy. Production SABs may be written in any language;
// they need only produce the same bytes — SIGNING_DOMAIN + RFC 8785 JSON of the payload — and an Ed25519 signature.
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes, randomUUID, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { sebError } from '../../errors/codes.ts';
import type { CertificatePayload, Envelope } from './types.ts';
import { CERT_ALG, MAX_ENCODED_LENGTH } from './types.ts';
import { encodeBase64url } from './base64url.ts';
import { encodeEnvelope } from './codec.ts';
import { deriveKid, isEd25519, privateKeyFromSeed, rawPublicKey } from './keys.ts';
import { KeyIdSchema } from './schema.ts';
import { signingInput } from './signing-input.ts';
import type { TrustedKeyConfig } from './trust-store.ts';
import { validatePayload } from './validate.ts';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateSigningKey(kid?: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid: kid ?? deriveKid(publicKey), privateKey, publicKey };
}

/** Deterministic keys from a 32-byte seed (RFC 8032 "SECRET KEY"), for vectors and reproducible fixtures. */
export function signingKeyFromSeed(seed: Uint8Array, kid?: string): Result<SigningKey, string> {
  const privateKey = privateKeyFromSeed(seed);
  if (!privateKey.ok) return privateKey;
  const publicKey = createPublicKey(privateKey.value);
  return ok({ kid: kid ?? deriveKid(publicKey), privateKey: privateKey.value, publicKey });
}

/** Loads a PKCS#8 "PRIVATE KEY" PEM holding an Ed25519 key. */
export function signingKeyFromPem(pem: string, kid?: string): Result<SigningKey, string> {
  try {
    const privateKey = createPrivateKey({ key: pem, format: 'pem' });
    if (!isEd25519(privateKey)) return fail(`expected an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? 'unknown'}`);
    const publicKey = createPublicKey(privateKey);
    return ok({ kid: kid ?? deriveKid(publicKey), privateKey, publicKey });
  } catch (cause) {
    return fail(`unreadable private key PEM: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Validates the payload (a signer must never emit what the verifier rejects) and signs it. */
export function signEnvelope(payload: CertificatePayload, key: SigningKey): Result<Envelope> {
  const kid = KeyIdSchema.safeParse(key.kid);
  if (!kid.success) return fail(sebError('SEB_CERT_MALFORMED', `kid: ${kid.error.issues[0]?.message ?? 'invalid'}`));
  const valid = validatePayload(payload);
  if (!valid.ok) return valid;
  const input = signingInput(payload);
  if (!input.ok) return fail(sebError('SEB_CERT_MALFORMED', `payload cannot be canonicalised: ${input.error}`));
  const sig = encodeBase64url(sign(null, input.value, key.privateKey));
  return ok({ payload, kid: key.kid, alg: CERT_ALG, sig });
}

/** Signs and encodes: the value to send in the Seb-Certificate header. */
export function signCertificate(payload: CertificatePayload, key: SigningKey, maxLength = MAX_ENCODED_LENGTH): Result<string> {
  const envelope = signEnvelope(payload, key);
  if (!envelope.ok) return envelope;
  const encoded = encodeEnvelope(envelope.value);
  if (encoded.length > maxLength) {
    return fail(sebError('SEB_CERT_MALFORMED', `certificate would be ${encoded.length} characters encoded; the limit is ${maxLength}`));
  }
  return ok(encoded);
}

/** The trust-store entry for this key, for writing a verifier's configuration. */
export function trustedKeyConfig(key: SigningKey, limits: { readonly notAfter?: string; readonly iss?: string } = {}): TrustedKeyConfig {
  return { kid: key.kid, publicKey: encodeBase64url(rawPublicKey(key.publicKey)), ...limits };
}

/** A fresh certificate id and nonce, as a SAB would mint them. */
export function newCid(): string {
  return randomUUID();
}

export function newNonce(bytes = 16): string {
  return encodeBase64url(randomBytes(bytes));
}
