// Signature verification: round trips, key rotation, and every way a signature can be wrong — each with its code.
import * as noble from '@noble/ed25519';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import type { SigningKey, TrustStore } from '../../certs/sab/index.ts';
import {
  createTrustStore, decodeAndVerify, decodeCertificate, generateSigningKey, parseTrustStore, signCertificate,
  rawPublicKey, SIGNING_DOMAIN, trustedKeyConfig, verifyCertificate,
} from '../../certs/sab/index.ts';
import { awsPayload, encodeText, envelopeOf, kubePayload, NOW, rawSignature, signed } from './fixtures.ts';

function storeOf(...keys: (SigningKey & { notAfter?: number; iss?: string })[]): TrustStore {
  const store = createTrustStore(keys.map((k) => ({
    kid: k.kid, publicKey: k.publicKey,
    ...(k.notAfter === undefined ? {} : { notAfter: k.notAfter }), ...(k.iss === undefined ? {} : { iss: k.iss }),
  })));
  if (!store.ok) throw new Error(store.error);
  return store.value;
}

/** The envelope of `header` with its signature replaced by one over `bytes`. */
function resigned(header: string, key: SigningKey, bytes: string): string {
  const envelope = envelopeOf(header);
  return encodeText(JSON.stringify({ ...envelope, sig: rawSignature(key, bytes) }));
}

function expectDenied(header: string, store: TrustStore, code: string, message: RegExp, now = NOW): void {
  const result = decodeAndVerify(header, store, { now });
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(code);
  expect(result.error.message).toMatch(message);
}

const sab = generateSigningKey();
const store = storeOf(sab);

describe('round trip: sign -> encode -> decode -> verify', () => {
  it('returns the payload unchanged, for both platforms', () => {
    for (const payload of [awsPayload(), kubePayload()]) {
      const result = decodeAndVerify(signed(payload, sab), store, { now: NOW });
      expect(result.ok).toBe(true);
      expect(result.ok && result.value.payload).toEqual(payload);
      expect(result.ok && result.value.kid).toBe(sab.kid);
    }
  });

  it('derives the key id from the public key: 16 hex digits, stable', () => {
    expect(sab.kid).toMatch(/^[0-9a-f]{16}$/);
    const config = trustedKeyConfig(sab);
    const reloaded = parseTrustStore({ keys: [{ publicKey: config.publicKey }] });
    expect(reloaded.ok && [...reloaded.value.keys.keys()]).toEqual([sab.kid]);
  });

  it('does not care how the envelope JSON is laid out: member order and whitespace', () => {
    const envelope = envelopeOf(signed(awsPayload(), sab)) as { payload: Record<string, unknown> };
    const reversed = Object.fromEntries(Object.entries(envelope.payload).reverse());
    const text = JSON.stringify({ sig: (envelope as Record<string, unknown>).sig, alg: 'Ed25519', kid: sab.kid, payload: reversed }, null, 2);
    expect(decodeAndVerify(encodeText(text), store, { now: NOW }).ok).toBe(true);
  });

  it('accepts a hand-made signature over SIGNING_DOMAIN + JCS(payload) (the spec, independent of the signer)', () => {
    const header = signed(awsPayload(), sab);
    const bytes = SIGNING_DOMAIN + canonicalize(awsPayload());
    expect(decodeAndVerify(resigned(header, sab, bytes), store, { now: NOW }).ok).toBe(true);
  });

  it('an independent Ed25519 implementation (@noble/ed25519) verifies what seb signs', async () => {
    const decoded = decodeCertificate(signed(kubePayload(), sab));
    if (!decoded.ok) throw new Error(decoded.error.message);
    const { signature, signingInput } = decoded.value;
    expect(await noble.verifyAsync(signature, signingInput, rawPublicKey(sab.publicKey))).toBe(true);
  });
});

describe('signature failures', () => {
  const header = signed(awsPayload(), sab);

  it('signature over non-canonical bytes (JSON.stringify order) -> SEB_SIGNATURE', () => {
    const bytes = SIGNING_DOMAIN + JSON.stringify(awsPayload());
    expect(bytes).not.toBe(SIGNING_DOMAIN + canonicalize(awsPayload())); // the fixture really is non-canonical
    expectDenied(resigned(header, sab, bytes), store, 'SEB_SIGNATURE', /does not verify/);
  });

  it('signature over canonical JSON without the domain prefix -> SEB_SIGNATURE', () => {
    expectDenied(resigned(header, sab, canonicalize(awsPayload()) ?? ''), store, 'SEB_SIGNATURE', /does not verify/);
  });

  it('signature over pretty-printed canonical-order JSON -> SEB_SIGNATURE', () => {
    const pretty = SIGNING_DOMAIN + JSON.stringify(JSON.parse(canonicalize(awsPayload()) ?? ''), null, 2);
    expectDenied(resigned(header, sab, pretty), store, 'SEB_SIGNATURE', /does not verify/);
  });

  it('payload changed after signing -> SEB_SIGNATURE', () => {
    const envelope = envelopeOf(header) as { payload: { contract: { params: { GroupId: string } } } };
    envelope.payload.contract.params.GroupId = 'sg-0ffffffffffffffff';
    expectDenied(encodeText(JSON.stringify(envelope)), store, 'SEB_SIGNATURE', /does not verify/);
  });

  it('signature from an untrusted key under a trusted kid -> SEB_SIGNATURE', () => {
    const impostor = generateSigningKey(sab.kid);
    expectDenied(signed(awsPayload(), impostor), store, 'SEB_SIGNATURE', /does not verify/);
  });

  it('unknown kid -> SEB_UNKNOWN_KEY', () => {
    const stranger = generateSigningKey('sab-unknown');
    expectDenied(signed(awsPayload(), stranger), store, 'SEB_UNKNOWN_KEY', /key id sab-unknown is not in the trust store/);
  });

  it('kid switched to another trusted key -> SEB_SIGNATURE', () => {
    const other = generateSigningKey('other');
    const envelope = envelopeOf(header);
    const switched = encodeText(JSON.stringify({ ...envelope, kid: 'other' }));
    expectDenied(switched, storeOf(sab, other), 'SEB_SIGNATURE', /does not verify with key other/);
  });

  it('malformed input never reaches crypto: decodeAndVerify reports SEB_CERT_MALFORMED', () => {
    expectDenied('not a certificate!', store, 'SEB_CERT_MALFORMED', /base64url/);
  });

  it('a hand-built DecodedCertificate with a short signature is refused, not thrown', () => {
    const decoded = decodeCertificate(header);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const result = verifyCertificate({ ...decoded.value, signature: new Uint8Array(10) }, store, { now: NOW });
    expect(!result.ok && result.error.code).toBe('SEB_CERT_MALFORMED');
  });
});

describe('trusted keys: rotation, expiry, issuer binding', () => {
  const old = { ...generateSigningKey('sab-2026-01'), notAfter: NOW + 3600 };
  const current = generateSigningKey('sab-2026-07');
  const both = storeOf(old, current);
  const fromOld = signed(awsPayload(), old);
  const fromCurrent = signed(awsPayload(), current);

  it('accepts certificates from either key while both are valid', () => {
    expect(decodeAndVerify(fromOld, both, { now: NOW }).ok).toBe(true);
    expect(decodeAndVerify(fromCurrent, both, { now: NOW }).ok).toBe(true);
  });

  it('the old key stops verifying after its notAfter, with a message saying it expired; the new one goes on', () => {
    expect(decodeAndVerify(fromOld, both, { now: NOW + 3600 }).ok).toBe(true); // notAfter itself is still valid
    expectDenied(fromOld, both, 'SEB_UNKNOWN_KEY', /key sab-2026-01 expired at 2026-05-28T\d\d:\d\d:\d\d\.000Z/, NOW + 3601);
    expect(decodeAndVerify(fromCurrent, both, { now: NOW + 3601 }).ok).toBe(true);
  });

  it('once the old key is removed its certificates name an unknown key', () => {
    expectDenied(fromOld, storeOf(current), 'SEB_UNKNOWN_KEY', /not in the trust store/);
  });

  it('fails closed when the clock reads NaN', () => {
    expectDenied(fromOld, both, 'SEB_UNKNOWN_KEY', /expired/, Number.NaN);
    expect(decodeAndVerify(fromCurrent, both, { now: Number.NaN }).ok).toBe(true); // no notAfter, nothing to judge
  });

  it('uses the clock when no time is given', () => {
    const expired = storeOf({ ...sab, notAfter: Date.now() / 1000 - 1 });
    expect(decodeAndVerify(signed(awsPayload(), sab), expired).ok).toBe(false);
  });

  it('a key bound to an issuer does not verify certificates naming another issuer', () => {
    const bound = storeOf({ ...sab, iss: 'sab.staging.example' });
    expectDenied(signed(awsPayload(), sab), bound, 'SEB_UNKNOWN_KEY', /may sign only for issuer "sab.staging.example", not "sab.prod.example"/);
    expect(decodeAndVerify(signed(awsPayload({ iss: 'sab.staging.example' }), sab), bound, { now: NOW }).ok).toBe(true);
  });
});

describe('signer', () => {
  it('refuses to sign an invalid payload', () => {
    const result = signCertificate(awsPayload({ exp: NOW - 120 }), sab);
    expect(!result.ok && result.error).toMatchObject({ code: 'SEB_CERT_MALFORMED', message: 'payload.exp: must be later than nbf' });
  });

  it('refuses an invalid kid', () => {
    const result = signCertificate(awsPayload(), { ...sab, kid: 'has space' });
    expect(!result.ok && result.error.message).toMatch(/^kid:/);
  });

  it('refuses a certificate larger than the limit', () => {
    const big = awsPayload({ contract: { ...awsPayload().contract, params: { blob: 'x'.repeat(13_000) } } });
    const result = signCertificate(big, sab);
    expect(!result.ok && result.error.message).toMatch(/the limit is 16384/);
  });
});
