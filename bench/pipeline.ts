// Verification pipeline benchmarks: the local stages per second on one core, the whole pipeline (with the real
// ledger: embedded PGlite and PostgreSQL) p50/p99, and Ed25519 verification with node:crypto vs @noble/ed25519.
import { createAuditWriter } from '../audit/writer.ts';
import { startEpochWatch } from '../ledger/epoch-watch.ts';
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

/** The pipeline two ways, interleaved request by request in one run: bare (epochs read from the ledger per
 * request, no audit trail) and as `seb serve` runs it (the pushed epoch view, the signed decision record written in
 * the commit transaction, the outcome record after the call). The difference is the audit trail's cost. */
async function wholePipeline(ledger: Ledger, n: number): Promise<{ bare: LatencySummary; served: LatencySummary; auditCostP50Ms: number }> {
  const key = generateSigningKey();
  const trust = createTrustStore([{ kid: key.kid, publicKey: key.publicKey }]);
  if (!trust.ok) throw new Error(trust.error);
  const base = { trust: trust.value, ledger, adapters: { aws: agentAdapter }, subject: SUBJECT, now: () => Date.now() / 1000, clockSkewSeconds: 5 };
  const bare = createPipeline({ ...base, instanceId: 'bench-bare' });
  const writer = await createAuditWriter({ ledger, instanceId: `bench-served-${process.pid}-${Math.random().toString(16).slice(2)}` });
  if (!writer.ok) throw new Error(writer.error.message);
  const epochs = startEpochWatch({ ledger, maxStalenessMs: 2_000, reconnect: { minMs: 100, maxMs: 1_000 } });
  if (!(await epochs.ready(10_000))) throw new Error('the epoch view did not become fresh');
  const served = createPipeline({ ...base, instanceId: writer.value.instanceId, audit: writer.value, epochs });
  const now = Math.floor(Date.now() / 1000);
  const certs = Array.from({ length: 2 * (n + 50) }, () => {
    const s = signCertificate(payload(now), key);
    if (!s.ok) throw new Error(s.error.message);
    return s.value;
  });
  const samples = { bare: [] as number[], served: [] as number[] };
  for (let i = 0; i < certs.length; i++) {
    // Requests arrive as I/O: let timers run between them (PGlite answers within microtasks, so a tight loop
    // would starve the epoch view's heartbeat, which then, rightly, goes stale and denies).
    await new Promise((r) => setImmediate(r));
    const which = i % 2 === 0 ? 'bare' : 'served';
    const t = performance.now();
    const d = await (which === 'bare' ? bare : served)({ certificate: certs[i]!, request });
    if (d.kind !== 'allow') throw new Error(`bench certificate denied: ${d.error.code} ${d.error.message}`);
    const done = await d.complete({ result: 'completed', status: 200, requestId: 'bench', responseDigest: '0'.repeat(64) });
    if (!done.ok) throw new Error(done.error.message);
    if (i >= 100) samples[which].push(performance.now() - t); // the first 50 of each warm up connections and JIT
  }
  await epochs.close();
  const result = { bare: summarize(samples.bare), served: summarize(samples.served) };
  return { ...result, auditCostP50Ms: Math.round((result.served.p50 - result.bare.p50) * 1000) / 1000 };
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

  let withPostgres: Awaited<ReturnType<typeof wholePipeline>> | { skipped: string };
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
    wholePipelineMs: { note: 'all seven stages and the commit, sequential requests, drift waived and identity minting a no-op, each request followed by its outcome; bare = epochs read per request, no audit trail; served = the pushed epoch view plus the signed decision (in the commit transaction) and outcome records, as seb serve runs; interleaved request by request', pglite: withPglite, postgres: withPostgres },
  };
}
