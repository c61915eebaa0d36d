// Audit trail benchmarks: what the records cost per mutation (one decision and one outcome record: canonical form,
// sha256, Ed25519 signature, INSERT), on embedded PGlite and on PostgreSQL, and how many records per second the
// real `seb audit verify` checks (read from PostgreSQL, signature and hash of each).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { GENESIS, publicKeyBase64, recordHash, signHash } from '../audit/chain.ts';
import type { DecisionBody, OutcomeBody } from '../audit/records.ts';
import { createAuditWriter } from '../audit/writer.ts';
import { openLedger } from '../ledger/open.ts';
import type { AuditEntry, Ledger } from '../ledger/types.ts';
import { summarize, type LatencySummary } from './stats.ts';

const CID = '5f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const decision: DecisionBody = {
  decision: 'allow', subject: 'bench-agent', platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress',
  targets: ['arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0'], cid: CID, contractDigest: 'ab'.repeat(32), staged: true,
  stages: (['signature', 'contract', 'validity', 'policy_epoch', 'revocation', 'replay', 'drift', 'mint', 'commit'] as const).map((stage) => ({ stage, ok: true, ms: 0.123 })),
};
const outcome: OutcomeBody = { cid: CID, result: 'completed', status: 200, requestId: 'c0ffee00-1234-4abc-9def-000000000000', responseDigest: 'cd'.repeat(32), durationMs: 12.5, identity: 'seb-5f1b2c3d-bench' };

/** ms per mutation for its two records (sequential, after a warm-up of 50). */
async function perMutation(ledger: Ledger, n: number): Promise<LatencySummary> {
  const writer = await createAuditWriter({ ledger, instanceId: `bench-${ledger.backend}-${process.pid}` });
  if (!writer.ok) throw new Error(writer.error.message);
  const samples: number[] = [];
  for (let i = 0; i < n + 50; i++) {
    const t = performance.now();
    const d = await writer.value.append('decision', decision, CID);
    const o = await writer.value.append('outcome', outcome, CID);
    if (!d.ok || !o.ok) throw new Error(`audit append failed: ${!d.ok ? d.error.message : !o.ok ? o.error.message : ''}`);
    if (i >= 50) samples.push(performance.now() - t);
  }
  return summarize(samples);
}

/** Records signed per second on one core: canonical form + sha256 + Ed25519, no I/O. */
function signRate(ms = 1500): number {
  const { privateKey } = generateKeyPairSync('ed25519');
  let n = 0;
  let prevHash = GENESIS;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const hash = recordHash({ instanceId: 'bench', seq: ++n, kind: 'decision', cid: CID, at: new Date(), body: decision, prevHash });
    signHash(hash, privateKey);
    prevHash = hash;
  }
  return Math.round((n / (performance.now() - t0)) * 1000);
}

/** Fills the ledger with `count` valid records of one instance (bulk INSERTs, signed like the writer signs). */
async function fillTrail(ledger: Ledger, url: string, count: number): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const instanceId = 'bench-verify';
  const registered = await ledger.registerAuditKey({ instanceId, publicKey: publicKeyBase64(publicKey) });
  if (!registered.ok) throw new Error(registered.error.message);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let prevHash = GENESIS;
    const start = Date.now() - count;
    for (let first = 1; first <= count; first += 1000) {
      const rows: AuditEntry[] = [];
      for (let seq = first; seq < Math.min(first + 1000, count + 1); seq++) {
        const unsigned = { instanceId, seq, kind: seq % 2 ? 'decision' as const : 'outcome' as const, cid: CID, at: new Date(start + seq), body: seq % 2 ? decision : outcome, prevHash };
        const hash = recordHash(unsigned);
        rows.push({ ...unsigned, hash, signature: signHash(hash, privateKey) });
        prevHash = hash;
      }
      const values = rows.map((_, i) => `($${i * 9 + 1}, $${i * 9 + 2}, $${i * 9 + 3}, $${i * 9 + 4}, $${i * 9 + 5}, $${i * 9 + 6}::jsonb, $${i * 9 + 7}, $${i * 9 + 8}, $${i * 9 + 9})`).join(', ');
      await client.query(`INSERT INTO seb_audit (instance_id, seq, kind, cid, at, body, prev_hash, hash, signature) VALUES ${values}`,
        rows.flatMap((r) => [r.instanceId, r.seq, r.kind, r.cid, r.at, JSON.stringify(r.body), r.prevHash, r.hash, r.signature]));
    }
  } finally {
    await client.end();
  }
}

/** The real CLI, as an auditor runs it: `seb audit verify --stats --json`. */
async function verifyRate(url: string): Promise<{ records: number; seconds: number; recordsPerSecond: number; wallSeconds: number }> {
  const t0 = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, [path.resolve(import.meta.dirname, '../bin/seb.ts'), 'audit', 'verify', '--stats', '--json'],
    { env: { ...process.env, SEB_DATABASE_URL: url }, maxBuffer: 64 * 1024 * 1024 });
  const report = JSON.parse(stdout) as { ok: boolean; records: number; seconds: number; recordsPerSecond: number };
  if (!report.ok) throw new Error('seb audit verify found a bad record in the benchmark trail');
  return { records: report.records, seconds: Math.round(report.seconds * 1000) / 1000, recordsPerSecond: report.recordsPerSecond, wallSeconds: Math.round(performance.now() - t0) / 1000 };
}

export async function benchAudit(postgresUrl: string | undefined, n = 500, verifyRecords = 20_000) {
  const dir = await mkdtemp(path.join(tmpdir(), 'seb-bench-audit-'));
  try {
    const embedded = await openLedger({ dir, timeoutMs: 10_000, poolSize: 1 });
    if (!embedded.ok) throw new Error(embedded.error.message);
    const pglite = await perMutation(embedded.value, n);
    await embedded.value.close();

    let postgres: LatencySummary | undefined;
    let verify: Awaited<ReturnType<typeof verifyRate>> | undefined;
    if (postgresUrl) {
      const opened = await openLedger({ databaseUrl: postgresUrl, dir, timeoutMs: 10_000, poolSize: 4 });
      if (!opened.ok) throw new Error(opened.error.message);
      try {
        postgres = await perMutation(opened.value, n);
        await fillTrail(opened.value, postgresUrl, verifyRecords);
      } finally {
        await opened.value.close();
      }
      verify = await verifyRate(postgresUrl);
    }
    return {
      description: 'audit records per certified mutation (a decision and an outcome record: RFC 8785 canonical form, sha256, Ed25519 signature by the instance key, one INSERT each, appended one after the other) and `seb audit verify` throughput',
      mutations: n,
      signedRecordsPerSecondOneCore: signRate(),
      perMutationMs: { pglite, ...(postgres ? { postgres } : {}) },
      ...(verify ? { verify: { ...verify, note: `the real CLI on a PostgreSQL trail of ${verifyRecords} + ${2 * (n + 50)} records; recordsPerSecond counts the verification itself (read, hash, signature), wallSeconds includes starting node` } } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
