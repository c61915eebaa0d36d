// A development SAB for end-to-end tests: a real Ed25519 key, the trust store file seb loads, and certificates
// signed for exactly the contract a test is about to send.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateSigningKey, newCid, newNonce, signCertificate, trustedKeyConfig } from '../../certs/sab/index.ts';
import type { Admitted, CertificatePayload, Contract } from '../../certs/sab/index.ts';

export interface TestSab {
  readonly trustFile: string;
  issue(contract: Contract, opts?: { sub?: string; admitted?: Admitted; ttl?: number; policyEpoch?: number; revocationEpoch?: number; nbf?: number }): string;
}

export async function createTestSab(dir: string, subject: string): Promise<TestSab> {
  const key = generateSigningKey();
  const trustFile = path.join(dir, 'trust.json');
  await writeFile(trustFile, JSON.stringify({ keys: [trustedKeyConfig(key)] }));
  return {
    trustFile,
    issue(contract, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: CertificatePayload = {
        v: 1, cid: newCid(), iss: 'test-sab', sub: opts.sub ?? subject, contract,
        admitted: opts.admitted ?? { waived: true, reason: 'test: target created by this call' },
        nbf: opts.nbf ?? now - 5, exp: now + (opts.ttl ?? 300),
        policyEpoch: opts.policyEpoch ?? 0, revocationEpoch: opts.revocationEpoch ?? 0, nonce: newNonce(),
      };
      const signed = signCertificate(payload, key);
      if (!signed.ok) throw new Error(signed.error.message);
      return signed.value;
    },
  };
}
