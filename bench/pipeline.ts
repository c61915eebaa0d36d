// Verification pipeline benchmarks: the local stages per second on one core, the whole pipeline (with the real
// ledger: embedded PGlite and PostgreSQL) p50/p99, and Ed25519 verification with node:crypto vs @noble/ed25519.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as noble from '@noble/ed25519';
import { createTrustStore, decodeCertificate, generateSigningKey, newCid, newNonce, rawPublicKey, signCertificate, signingInput, verifyEd25519, type CertificatePayload } from '../certs/sab/index.ts';
import { contractStage, signatureStage, validityStage } from '../pipeline/stages.ts';
import { createPipeline } from '../pipeline/run.ts';
import type { PlatformAdapter, RequestContract } from '../pipeline/types.ts';
import { openLedger } from '../ledger/open.ts';
import type { Ledger } from '../ledger/types.ts';
import { summarize, type LatencySummary } from './stats.ts';

const SUBJECT = 'bench-agent';
const ARN = 'arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0';
const request: RequestContract = { platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [ARN], params: { GroupId: 'sg-0123456789abcdef0', IpPermissions: [{ IpProtocol: 'tcp', FromPort: '443', ToPort: '443', IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] } };

function payload(now: number): CertificatePayload {
  return { v: 1, cid: newCid(), iss: 'bench-sab', sub: SUBJECT, contract: { ...request, risk: 'high' }, admitted: { waived: true, reason: 'bench' }, nbf: now - 10, exp: now + 3600, policyEpoch: 0, revocationEpoch: 0, nonce: newNonce() };
}

/** Calls per second of `fn` over about `ms` milliseconds (after a warm-up). */
function rate(fn: () => void, ms = 1500): number {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  return Math.round((n / (performance.now() - t0)) * 1000);
}

const agentAdapter: PlatformAdapter = {
  platform: 'aws',
  observe: async () => ({ ok: true, value: {} }),
  mint: async (cert) => ({ ok: true, value: { platform: 'aws', principal: 'bench', expiresAt: cert.payload.exp, credentials: null } }),
};

async function wholePipeline(ledger: Ledger, n: number): Promise<LatencySummary> {
  const key = generateSigningKey();
  const trust = createTrustStore([{ kid: key.kid, publicKey: key.publicKey }]);
  if (!trust.ok) throw new Error(trust.error);
  const pipeline = createPipeline({ trust: trust.value, ledger, adapters: { aws: agentAdapter }, subject: SUBJECT, instanceId: 'bench', now: () => Date.now() / 1000, clockSkewSeconds: 5 });
  const now = Math.floor(Date.now() / 1000);
  const certs = Array.from({ length: n + 50 }, () => {
    const s = signCertificate(payload(now), key);
    if (!s.ok) throw new Error(s.error.message);
    return s.value;
  });
  const samples: number[] = [];
  for (let i = 0; i < certs.length; i++) {
    const t = performance.now();
    const d = await pipeline({ certificate: certs[i]!, request });
    if (d.kind !== 'allow') throw new Error(`bench certificate denied: ${d.error.code} ${d.error.message}`);
    if (i >= 50) samples.push(performance.now() - t); // the first 50 warm up connections and JIT
  }
  return summarize(samples);
}

export async function benchPipeline(postgresUrl: string | undefined): Promise<Record<string, unknown>> {
  const key = generateSigningKey();
  const trustR = createTrustStore([{ kid: key.kid, publicKey: key.publicKey }]);
  if (!trustR.ok) throw new Error(trustR.error);
  const trust = trustR.value;
  const now = Math.floor(Date.now() / 1000);
  const header = signCertificate(payload(now), key);
  if (!header.ok) throw new Error(header.error.message);
  const verified = signatureStage(header.value, trust, now);
  if (!verified.ok) throw new Error('bench certificate does not verify');
  const cert = verified.value;

  const decoded = decodeCertificate(header.value);
  if (!decoded.ok) throw new Error('decode');
  const input = signingInput(decoded.value.payload);
  if (!input.ok) throw new Error('input');
  const message = input.value;
  const signature = decoded.value.signature;
  const raw = rawPublicKey(key.publicKey);
  noble.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest());

  const localStagesPerSecond = {
    signature_decode_and_verify: rate(() => void signatureStage(header.value, trust, now)),
    contract_match: rate(() => void contractStage(cert, request, SUBJECT)),
    validity_window: rate(() => void validityStage(cert, now, 5)),
    all_local_stages: rate(() => {
      const v = signatureStage(header.value, trust, now);
      if (v.ok) {
        contractStage(v.value, request, SUBJECT);
        validityStage(v.value, now, 5);
      }
    }),
  };
  const ed25519VerifyPerSecond = {
    node_crypto: rate(() => void verifyEd25519(key.publicKey, message, signature)),
    noble_ed25519: rate(() => void noble.verify(signature, message, raw), 2000),
  };

  const dir = await mkdtemp(path.join(tmpdir(), 'seb-bench-pglite-'));
  const pglite = await openLedger({ dir, timeoutMs: 5000, poolSize: 1 });
  if (!pglite.ok) throw new Error(pglite.error.message);
  const withPglite = await wholePipeline(pglite.value, 1000);
  await pglite.value.close();
  await rm(dir, { recursive: true, force: true });

  let withPostgres: LatencySummary | { skipped: string };
  if (postgresUrl) {
    const pgLedger = await openLedger({ databaseUrl: postgresUrl, dir: '', timeoutMs: 5000, poolSize: 4 });
    if (!pgLedger.ok) throw new Error(pgLedger.error.message);
    withPostgres = await wholePipeline(pgLedger.value, 1000);
    await pgLedger.value.close();
  } else {
    withPostgres = { skipped: 'PostgreSQL not reachable' };
  }
  return {
    localStagesPerSecondOneCore: localStagesPerSecond,
    ed25519VerifyPerSecond: { ...ed25519VerifyPerSecond, ratio: Math.round((ed25519VerifyPerSecond.node_crypto / ed25519VerifyPerSecond.noble_ed25519) * 10) / 10, usedOnHotPath: 'node_crypto' },
    wholePipelineMs: { note: 'all seven stages, sequential requests, drift waived and identity minting a no-op: ledger round trips (revocation view, nonce reservation) dominate', pglite: withPglite, postgres: withPostgres },
  };
}
