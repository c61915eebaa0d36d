// Loading the trust store from its JSON description: both key encodings, defaults, and every configuration error.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveKid, generateSigningKey, loadTrustStoreFile, parseTrustStore, trustedKeyConfig } from '../../certs/sab/index.ts';

const key = generateSigningKey('sab-a');
const raw = trustedKeyConfig(key).publicKey ?? '';
const pem = key.publicKey.export({ format: 'pem', type: 'spki' }).toString();

function expectError(input: unknown, message: RegExp): void {
  const result = parseTrustStore(input);
  expect(result.ok).toBe(false);
  expect(!result.ok && result.error).toMatch(message);
}

describe('parseTrustStore', () => {
  it('loads raw and PEM keys, with kid, notAfter and iss', () => {
    const other = generateSigningKey();
    const otherPem = other.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const result = parseTrustStore(JSON.stringify({
      keys: [
        { kid: 'sab-a', publicKey: raw, notAfter: '2026-12-31T23:59:59Z', iss: 'sab.prod.example' },
        { publicKeyPem: otherPem },
      ],
    }));
    if (!result.ok) throw new Error(result.error);
    const a = result.value.keys.get('sab-a');
    expect(a?.notAfter).toBe(Date.UTC(2026, 11, 31, 23, 59, 59) / 1000);
    expect(a?.iss).toBe('sab.prod.example');
    expect(a?.publicKey.equals(key.publicKey)).toBe(true);
    expect(result.value.keys.get(deriveKid(other.publicKey))?.publicKey.equals(other.publicKey)).toBe(true);
  });

  it('accepts a notAfter with an offset', () => {
    const result = parseTrustStore({ keys: [{ publicKey: raw, notAfter: '2027-01-01T01:00:00+01:00' }] });
    expect(result.ok && [...result.value.keys.values()][0]?.notAfter).toBe(Date.UTC(2027, 0, 1) / 1000);
  });

  it('loads from a file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'seb-trust-'));
    const file = path.join(dir, 'trust.json');
    await writeFile(file, JSON.stringify({ keys: [{ kid: 'sab-a', publicKeyPem: pem }] }));
    const result = await loadTrustStoreFile(file);
    expect(result.ok && [...result.value.keys.keys()]).toEqual(['sab-a']);
    const missing = await loadTrustStoreFile(path.join(dir, 'nope.json'));
    expect(!missing.ok && missing.error).toMatch(/nope\.json: ENOENT/);
  });

  it('reports configuration errors as values', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const privatePem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expectError('{', /not JSON/);
    expectError('{"keys":[],"keys":[]}', /duplicate key keys/);
    expectError({}, /missing field keys/);
    expectError({ keys: [] }, /keys: must list at least one key/);
    expectError({ keys: [{ publicKey: raw }], extra: 1 }, /unknown field extra/);
    expectError({ keys: [{ kid: 'a' }] }, /exactly one of publicKey .* and publicKeyPem/);
    expectError({ keys: [{ publicKey: raw, publicKeyPem: pem }] }, /exactly one of publicKey/);
    expectError({ keys: [{ publicKey: `${raw}=` }] }, /keys\[0\]: publicKey is not base64url/);
    expectError({ keys: [{ publicKey: Buffer.from(raw, 'base64url').subarray(0, 31).toString('base64url') }] }, /keys\[0\]: an Ed25519 public key is 32 bytes, got 31/);
    expectError({ keys: [{ publicKeyPem: privatePem }] }, /BEGIN PUBLIC KEY/);
    expectError({ keys: [{ publicKeyPem: rsa }] }, /expected an Ed25519 key, got rsa/);
    expectError({ keys: [{ publicKey: raw, notAfter: 'tomorrow' }] }, /keys\[0\]\.notAfter: must be an RFC 3339 time/);
    expectError({ keys: [{ publicKey: raw, kid: 'a b' }] }, /keys\[0\]\.kid/);
    expectError({ keys: [{ kid: 'x', publicKey: raw }, { kid: 'x', publicKeyPem: generateSigningKey().publicKey.export({ format: 'pem', type: 'spki' }).toString() }] }, /key id x is listed twice/);
    expectError({ keys: [{ kid: 'x', publicKey: raw }, { kid: 'y', publicKeyPem: pem }] }, /keys x and y are the same public key/);
  });
});
