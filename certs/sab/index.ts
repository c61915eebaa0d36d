// SAB certificate v1: codec, signature verification, trust store, development signer, explanation.
// See types.ts for the format and codec.ts / verify.ts for the order of checks.
export type {
  Admitted, Arn, AwsAction, AwsContract, Bound, Bounds, CertificatePayload, Contract, DriftCheck, DriftWaiver,
  Envelope, FieldPath, JsonValue, KubeContract, KubeTarget, KubeVerb, OneOfBound, RangeBound, Risk, StateDigest,
} from './types.ts';
export { CERT_ALG, CERT_HEADER, CERT_VERSION, MAX_ENCODED_LENGTH, MAX_JSON_DEPTH, SIGNING_DOMAIN } from './types.ts';
export type { Result } from './result.ts';
export { decodeBase64url, encodeBase64url } from './base64url.ts';
export { parseStrictJson } from './strict-json.ts';
export { canonicalJson, signingInput } from './signing-input.ts';
export { validatePayload } from './validate.ts';
export type { DecodeOptions, DecodedCertificate } from './codec.ts';
export { decodeCertificate, encodeEnvelope } from './codec.ts';
export type { TrustedKey, TrustedKeyConfig, TrustStore, TrustStoreConfig } from './trust-store.ts';
export { createTrustStore, loadTrustStoreFile, parseTrustStore } from './trust-store.ts';
export type { VerifiedCertificate, VerifyOptions } from './verify.ts';
export { decodeAndVerify, verifyCertificate } from './verify.ts';
export type { SigningKey } from './signer.ts';
export {
  generateSigningKey, newCid, newNonce, signCertificate, signEnvelope, signingKeyFromPem, signingKeyFromSeed,
  trustedKeyConfig,
} from './signer.ts';
export { deriveKid, publicKeyFromPem, publicKeyFromRaw, rawPublicKey, verifyEd25519 } from './keys.ts';
export { explain } from './explain.ts';
export { ABSENT_DIGEST } from './types.ts';
export { digestState, digestValue, measureDrift, resolvePointer } from './state.ts';
