// Shared certificate fixtures: one valid payload per platform, and helpers to build raw envelopes by hand (the
// malformed corpus needs envelopes no honest signer would produce).
import { sign } from 'node:crypto';
import type { CertificatePayload } from '../../certs/sab/index.ts';
import { encodeBase64url, signCertificate } from '../../certs/sab/index.ts';
import type { SigningKey } from '../../certs/sab/index.ts';

export const NOW = 1_780_000_000; // 2026-05-28, inside every fixture window

export function awsPayload(overrides: Partial<CertificatePayload> = {}): CertificatePayload {
  return {
    v: 1,
    cid: '0b8e7a52-3c1d-4f6a-9b2e-5d4c3b2a1f00',
    iss: 'sab.prod.example',
    sub: 'system:serviceaccount:agents:ops-bot',
    contract: {
      platform: 'aws',
      operation: 'ec2:AuthorizeSecurityGroupIngress',
      targets: ['arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0'],
      params: { GroupId: 'sg-0123456789abcdef0', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }] },
      risk: 'high',
    },
    admitted: {
      waived: false,
      state: { '/IpPermissions': `sha256:${'ab'.repeat(32)}` },
      epsilon: 0,
    },
    nbf: NOW - 60,
    exp: NOW + 240,
    policyEpoch: 7,
    revocationEpoch: 3,
    nonce: 'q83vEjRWeJCrze8SNFZ4kA',
    ...overrides,
  };
}

export function kubePayload(overrides: Partial<CertificatePayload> = {}): CertificatePayload {
  return awsPayload({
    cid: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    contract: {
      platform: 'kube',
      operation: 'patch',
      targets: [{ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web', subresource: 'scale' }],
      params: { spec: { replicas: 5 } },
      bounds: { '/spec/replicas': { min: 3, max: 10 } },
      risk: 'medium',
    },
    admitted: { waived: true, reason: 'scale subresource carries no drift-sensitive state' },
    ...overrides,
  });
}

/** Signs with the real signer; fails the test loudly if the fixture itself is invalid. */
export function signed(payload: CertificatePayload, key: SigningKey): string {
  const result = signCertificate(payload, key);
  if (!result.ok) throw new Error(`fixture did not sign: ${result.error.message}`);
  return result.value;
}

/** Encodes any JSON text as a header value, bypassing every check of the signer. */
export function encodeText(json: string): string {
  return encodeBase64url(Buffer.from(json, 'utf8'));
}

/** Decodes a header value back to its envelope object. */
export function envelopeOf(header: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Ed25519 over arbitrary bytes with the key — for signatures the real signer would never make. */
export function rawSignature(key: SigningKey, bytes: string | Uint8Array): string {
  return encodeBase64url(sign(null, typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes, key.privateKey));
}
