// Tampering with the audit trail in PostgreSQL, behind seb's back, the way someone with database access would:
// each kind of edit makes the real `seb audit verify` fail and name the record, and the untouched chain of the
// other instance still passes. Every case gets a database of its own with a fresh trail.
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publicKeyBase64, recordHash, signHash } from '../../audit/chain.ts';
import { createAuditWriter } from '../../audit/writer.ts';
import { openLedger } from '../../ledger/open.ts';
import type { LedgerResult } from '../../ledger/types.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/pg.ts';
import { runSeb } from '../helpers/run.ts';
import { tempDir } from '../helpers/seb.ts';

const skip = await postgresSkipReason();
const A = 'seb-host-a-1';
const B = 'seb-host-b-2';
const CID = '5f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

function value<T>(result: LedgerResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

const databases: TestDatabase[] = [];
afterAll(async () => { await Promise.all(databases.map((db) => db.drop())); });

/** A database holding two instances' trails: A with 8 records, B with 3; `streamed` gets the streamed lines. */
async function trail(streamed: string[] = []): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  const sink = (line: string) => { streamed.push(line); };
  const ledger = value(await openLedger({ databaseUrl: db.url(), dir: path.join(tmpdir(), 'unused'), timeoutMs: 5_000, poolSize: 2 }));
  try {
    const a = value(await createAuditWriter({ ledger, instanceId: A, sink }));
    const b = value(await createAuditWriter({ ledger, instanceId: B, sink }));
    for (let i = 1; i <= 8; i++) {
      value(await (i % 2
        ? a.append('decision', { decision: 'allow', subject: 'agent', platform: 'kube', operation: 'patch', cid: CID, stages: [{ stage: 'signature', ok: true, ms: 0.1 }] }, CID)
        : a.append('outcome', { cid: CID, result: 'completed', status: 200, requestId: `audit-${i}`, durationMs: 3, identity: 'system:serviceaccount:shop:seb-executor' }, CID)));
    }
    for (let i = 1; i <= 3; i++) value(await b.append('decision', { decision: 'deny', subject: 'agent', stages: [], code: 'SEB_REPLAY', message: `replay ${i}` }, CID));
  } finally {
    await ledger.close();
  }
  return db;
}

const verify = (db: TestDatabase, ...flags: string[]) => runSeb(['audit', 'verify', ...flags], { env: { ...process.env, SEB_DATABASE_URL: db.url() } });
const idOf = async (db: TestDatabase, instanceId: string, seq: number) =>
  (await db.query<{ id: string }>('SELECT id FROM seb_audit WHERE instance_id = $1 AND seq = $2', [instanceId, seq]))[0]!.id;

describe.skipIf(skip !== undefined).concurrent('seb audit verify against a tampered PostgreSQL trail', () => {
  it('passes an untouched trail and reports records per second', async () => {
    const db = await trail();
    const r = await verify(db, '--stats');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('11 records from 2 instance(s)');
    expect(r.stdout).toContain(`ok   ${A}: records 1-8, signatures and chain intact`);
    expect(r.stdout).toContain(`ok   ${B}: records 1-3, signatures and chain intact`);
    expect(r.stdout).toMatch(/verified 11 records in [\d.]+ s: \d+ records\/s/);
  });

  it('names a modified record', async () => {
    const db = await trail();
    await db.query(`UPDATE seb_audit SET body = jsonb_set(body, '{status}', '500') WHERE instance_id = $1 AND seq = 4`, [A]);
    const r = await verify(db);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`BAD  ${A} record 4 (id ${await idOf(db, A, 4)}): modified: its content no longer matches its signed hash`);
    expect(r.stdout).toContain(`ok   ${B}`);
    expect(r.stderr).toMatch(/audit trail verification FAILED: 1 instance chain\(s\) have a bad record/);
  });

  it('names a modified time, and a hash rewritten to match the edit (signature no longer verifies)', async () => {
    const db = await trail();
    await db.query(`UPDATE seb_audit SET at = at - interval '1 hour' WHERE instance_id = $1 AND seq = 2`, [A]);
    const [row] = await db.query<{ seq: number; kind: 'decision'; cid: string; at: Date; body: object; prev_hash: string }>(
      'SELECT seq, kind, cid, at, body, prev_hash FROM seb_audit WHERE instance_id = $1 AND seq = 2', [B]);
    const rehashed = recordHash({ instanceId: B, seq: 2, kind: row!.kind, cid: row!.cid, at: row!.at, body: { ...row!.body, code: 'SEB_CERT_MISSING' }, prevHash: row!.prev_hash });
    await db.query(`UPDATE seb_audit SET body = jsonb_set(body, '{code}', '"SEB_CERT_MISSING"'), hash = $2 WHERE instance_id = $1 AND seq = 2`, [B, rehashed]);
    const r = await verify(db, '--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; chains: Array<{ instanceId: string; bad?: { seq: number; fault: string } }> };
    expect(report.ok).toBe(false);
    expect(report.chains.map((c) => [c.instanceId, c.bad?.seq, c.bad?.fault])).toEqual([[A, 2, 'modified'], [B, 2, 'bad-signature']]);
  });

  it('names a deleted record', async () => {
    const db = await trail();
    const after = await idOf(db, A, 6);
    await db.query('DELETE FROM seb_audit WHERE instance_id = $1 AND seq = 5', [A]);
    const r = await verify(db);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`BAD  ${A} record 5 (id ${after}): deleted: record 5 is missing: the chain jumps from record 4 to record 6`);
  });

  it('names a deleted first record', async () => {
    const db = await trail();
    await db.query('DELETE FROM seb_audit WHERE instance_id = $1 AND seq = 1', [B]);
    const r = await verify(db);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`BAD  ${B} record 1 (id ${await idOf(db, B, 2)}): deleted: record 1 is missing: the chain jumps from its start to record 2`);
  });

  it('names reordered records (two seq values swapped)', async () => {
    const db = await trail();
    const third = await idOf(db, A, 3);
    const sixth = await idOf(db, A, 6);
    await db.query('UPDATE seb_audit SET seq = -1 WHERE id = $1', [third]);
    await db.query('UPDATE seb_audit SET seq = 3 WHERE id = $1', [sixth]);
    await db.query('UPDATE seb_audit SET seq = 6 WHERE id = $1', [third]);
    const r = await verify(db);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`BAD  ${A} record 3 (id ${sixth}): reordered: it was signed as record 6 but is stored as record 3`);
  });

  it('names a forged record inserted into the middle of a chain', async () => {
    const db = await trail();
    // Make room at seq 5 (highest first, so the unique constraint holds at every step), then forge a record that
    // links correctly to record 4, hashed correctly, signed with a key that is not the instance's.
    for (let seq = 8; seq >= 5; seq--) await db.query('UPDATE seb_audit SET seq = seq + 1 WHERE instance_id = $1 AND seq = $2', [A, seq]);
    const [fourth] = await db.query<{ hash: string }>('SELECT hash FROM seb_audit WHERE instance_id = $1 AND seq = 4', [A]);
    const forged = { instanceId: A, seq: 5, kind: 'decision' as const, cid: CID, at: new Date(), body: { decision: 'allow', subject: 'agent', stages: [] }, prevHash: fourth!.hash };
    const hash = recordHash(forged);
    const [inserted] = await db.query<{ id: string }>(
      `INSERT INTO seb_audit (instance_id, seq, kind, cid, at, body, prev_hash, hash, signature) VALUES ($1, 5, 'decision', $2, $3, $4, $5, $6, $7) RETURNING id`,
      [A, CID, forged.at, JSON.stringify(forged.body), forged.prevHash, hash, signHash(hash, generateKeyPairSync('ed25519').privateKey)]);
    const r = await verify(db);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`BAD  ${A} record 5 (id ${inserted!.id}): bad-signature: its signature does not verify with the instance's key: the record was forged (inserted)`);
    expect(r.stdout).toContain(`ok   ${B}`);
  });

  it('names a deleted last record when given the streamed copy (the chain alone cannot show a cut tail)', async () => {
    const streamed: string[] = [];
    const db = await trail(streamed);
    await db.query('DELETE FROM seb_audit WHERE instance_id = $1 AND seq = 8', [A]);
    expect((await verify(db)).code).toBe(0);
    const copy = path.join(await tempDir(), 'audit.jsonl');
    // As a log shipper would keep it: JSON logs and audit lines interleaved.
    await writeFile(copy, ['{"level":30,"msg":"seb is serving"}', ...streamed, ''].join('\n'));
    const r = await verify(db, '--against', copy);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`BAD  ${A} record 8: deleted: record 8 is in the copy but not in the ledger: deleted`);
    expect(r.stdout).toContain(`ok   ${B}`);
  });

  it('names a chain re-signed under a replaced key when given an export taken before', async () => {
    const db = await trail();
    const exported = await runSeb(['audit', 'export'], { env: { ...process.env, SEB_DATABASE_URL: db.url() } });
    expect(exported.code).toBe(0);
    // Someone with database access rewrites B's record 2 and re-signs B's whole chain under a key of their own.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await db.query('UPDATE seb_audit_keys SET public_key = $2 WHERE instance_id = $1', [B, publicKeyBase64(publicKey)]);
    const rows = await db.query<{ seq: string; kind: 'decision'; cid: string; at: Date; body: { message?: string } }>('SELECT seq, kind, cid, at, body FROM seb_audit WHERE instance_id = $1 ORDER BY seq', [B]);
    let prevHash = '0'.repeat(64);
    for (const row of rows) {
      const body = Number(row.seq) === 2 ? { ...row.body, message: 'nothing happened' } : row.body;
      const hash = recordHash({ instanceId: B, seq: Number(row.seq), kind: row.kind, cid: row.cid, at: row.at, body, prevHash });
      await db.query('UPDATE seb_audit SET body = $3, prev_hash = $4, hash = $5, signature = $6 WHERE instance_id = $1 AND seq = $2', [B, row.seq, JSON.stringify(body), prevHash, hash, signHash(hash, privateKey)]);
      prevHash = hash;
    }
    expect((await verify(db)).code).toBe(0);
    const copy = path.join(await tempDir(), 'export.jsonl');
    await writeFile(copy, exported.stdout);
    const r = await verify(db, '--against', copy);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`BAD  ${B} record 1 (id ${await idOf(db, B, 1)}): differs-from-copy: its hash or signature differs from the copy's`);
    expect(r.stdout).toContain(`ok   ${A}`);
  });

  it('names records of an instance that never registered a key', async () => {
    const db = await trail();
    await db.query(`INSERT INTO seb_audit (instance_id, seq, kind, at, body, prev_hash, hash, signature) SELECT 'seb-intruder', seq, kind, at, body, prev_hash, hash, signature FROM seb_audit WHERE instance_id = $1`, [B]);
    const r = await verify(db);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BAD {2}seb-intruder record 1 \(id \d+\): unknown-key: no audit key is registered for instance seb-intruder/);
  });
}, 90_000); // each test runs the CLI (a node start) up to three times; slow on a busy 2-core machine
