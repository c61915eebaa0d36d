// Stage 1 of the pipeline: is this certificate signed by a SAB key we trust right now? Guard clauses first
// (algorithm, signature length, key known, key not expired, key allowed for this issuer) — the same order as
// panva/jose's flattened JWS verify — and the Ed25519 verification last, once, over SIGNING_DOMAIN + JCS(payload).
// Validity window, epochs, revocation, replay and drift are later stages, not this one.
import { sebError } from '../../errors/codes.ts';
import type { CertificatePayload } from './types.ts';
import { CERT_ALG } from './types.ts';
import type { DecodeOptions, DecodedCertificate } from './codec.ts';
import { decodeCertificate } from './codec.ts';
import { isEd25519, verifyEd25519 } from './keys.ts';
import { preview } from './path.ts';
import type { TrustStore } from './trust-store.ts';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';

// Compile-time only: a VerifiedCertificate can come from verifyCertificate and nowhere else, so later stages can
// demand one in their signature and an unverified payload cannot reach them by accident.
declare const verifiedBrand: unique symbol;

export interface VerifiedCertificate {
  readonly payload: CertificatePayload;
  /** The trust-store key that verified it. */
  readonly kid: string;
  readonly [verifiedBrand]: true;
}

export interface VerifyOptions {
  /** Seconds since the epoch; Date.now() / 1000 unless given. Only key expiry uses it here. */
  readonly now?: number;
}

export function verifyCertificate(
  cert: DecodedCertificate,
  store: TrustStore,
  options: VerifyOptions = {},
): Result<VerifiedCertificate> {
  if (cert.alg !== CERT_ALG) return fail(sebError('SEB_CERT_MALFORMED', `alg must be "${CERT_ALG}"`));
  if (cert.signature.length !== 64) return fail(sebError('SEB_CERT_MALFORMED', 'sig must be 64 bytes'));

  const key = store.keys.get(cert.kid);
  if (key === undefined) return fail(sebError('SEB_UNKNOWN_KEY', `key id ${cert.kid} is not in the trust store`));
  const now = options.now ?? Date.now() / 1000;
  // Written as !(now <= notAfter) so that a NaN clock or notAfter counts as expired: fail closed.
  if (key.notAfter !== undefined && !(now <= key.notAfter)) {
    const when = Number.isFinite(key.notAfter) ? new Date(key.notAfter * 1000).toISOString() : 'an unknown time';
    return fail(sebError('SEB_UNKNOWN_KEY', `key ${cert.kid} expired at ${when} and no longer verifies certificates`));
  }
  if (key.iss !== undefined && key.iss !== cert.payload.iss) {
    return fail(sebError('SEB_UNKNOWN_KEY', `key ${cert.kid} may sign only for issuer ${JSON.stringify(key.iss)}, not ${preview(cert.payload.iss)}`));
  }
  if (!isEd25519(key.publicKey)) return fail(sebError('SEB_UNKNOWN_KEY', `key ${cert.kid} is not an Ed25519 key`));

  if (!verifyEd25519(key.publicKey, cert.signingInput, cert.signature)) {
    return fail(sebError('SEB_SIGNATURE', `the signature does not verify with key ${cert.kid}`));
  }
  return ok({ payload: cert.payload, kid: cert.kid } as VerifiedCertificate);
}

/** The header value straight to a verified certificate: decodeCertificate then verifyCertificate. */
export function decodeAndVerify(
  header: string,
  store: TrustStore,
  options: VerifyOptions & DecodeOptions = {},
): Result<VerifiedCertificate> {
  const decoded = decodeCertificate(header, options);
  return decoded.ok ? verifyCertificate(decoded.value, store, options) : decoded;
}
