// A revocation and the commit of the same certificate's execution are ordered one after the other (both take the
// certificate's lock): revoke cannot return while a commit that did not see it is still able to succeed. Likewise an
// epoch bump and a commit (the commit reads the epoch rows FOR SHARE).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../ledger/open.ts';
import type { Ledger } from '../../ledger/types.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/pg.ts';

const pgSkip = await postgresSkipReason();

describe.skipIf(pgSkip !== undefined)('revocation and commit ordering on PostgreSQL', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    db = await createTestDatabase();
    const opened = await openLedger({ databaseUrl: db.url(), dir: '', timeoutMs: 5_000, poolSize: 4 });
    if (!opened.ok) throw new Error(opened.error.message);
    ledger = opened.value;
  });
  afterAll(async () => {
    await ledger?.close();
    await db?.drop();
  });

  const commitFor = (cid: string) => ({
    reservation: { cid, nonce: 'n1', subject: 'agent', instanceId: 'order-test', expiresAt: Date.now() / 1000 + 300 },
    execution: { cid, nonce: 'n1', instanceId: 'order-test', principal: 'executor', expiresAt: Date.now() / 1000 + 300 },
    policyEpoch: 0, revocationEpoch: 0,
  });

  it('a commit in flight holds off the revocation; a revocation in flight holds off the commit, which then sees it', async () => {
    const holder = new pg.Client({ connectionString: db.url() });
    await holder.connect();
    try {
      // Stand in for a transaction that holds the certificate's lock (a commit in flight).
      const cid = randomUUID();
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [cid]);
      let revoked = false;
      const revoking = ledger.revoke(cid, 'incident').then((r) => { revoked = r.ok; return r; });
      await new Promise((r) => setTimeout(r, 300));
      expect(revoked).toBe(false); // waits for the commit in flight
      await holder.query('COMMIT');
      expect((await revoking).ok).toBe(true);

      // The other way round: the revocation holds the lock; the commit waits, then finds it and writes nothing.
      const cid2 = randomUUID();
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [cid2]);
      await holder.query(`INSERT INTO seb_revocations (cid, reason) VALUES ($1, 'incident')`, [cid2]);
      const committing = ledger.commitExecution(commitFor(cid2));
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('COMMIT');
      const r = await committing;
      expect(r.ok === false && r.error.code).toBe('SEB_REVOKED');
      expect(await db.query('SELECT 1 FROM seb_nonces WHERE cid = $1', [cid2])).toEqual([]);
    } finally {
      await holder.end();
    }
  });

  it('revocation reasons are bounded (they travel in a NOTIFY payload)', async () => {
    const r = await ledger.revoke(randomUUID(), 'x'.repeat(10_000));
    expect(r.ok === false && r.error.message).toContain('longer than 1000');
  });

  it('an execution read back by credential says whether it has finished', async () => {
    const cid = randomUUID();
    const c = commitFor(cid);
    expect((await ledger.commitExecution({ ...c, execution: { ...c.execution, credentialId: `JTI=${cid}` } })).ok).toBe(true);
    const open = await ledger.executionByCredential(`JTI=${cid}`);
    expect(open.ok && open.value?.finished).toBe(false);
    expect((await ledger.finishExecution({ cid, nonce: 'n1', result: 'completed' })).ok).toBe(true);
    const done = await ledger.executionByCredential(`JTI=${cid}`);
    expect(done.ok && done.value?.finished).toBe(true);
  });

  it('a commit that outlasts its caller\'s budget (the caller has given up) is undone rather than committed behind its back', async () => {
    const holder = new pg.Client({ connectionString: db.url() });
    const caller = new pg.Client({ connectionString: db.url() });
    await holder.connect();
    await caller.connect();
    try {
      const cid = randomUUID();
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [cid]);
      const nulls = Array.from({ length: 9 }, () => null);
      const committing = caller.query(`SELECT r_status FROM seb_commit_execution($1, 'n1', 'agent', 'budget-test', $2, 'budget-test', 'executor', NULL, $2, 0, 0,
        $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, [cid, Date.now() / 1000 + 300, ...nulls, 100]).then(() => 'committed', (err: { code?: string }) => err.code);
      await new Promise((r) => setTimeout(r, 300)); // the caller's 100 ms are spent waiting for the lock
      await holder.query('COMMIT');
      expect(await committing).toBe('SEB02');
      expect(await db.query('SELECT 1 FROM seb_nonces WHERE cid = $1', [cid])).toEqual([]);
      expect(await db.query('SELECT 1 FROM seb_executions WHERE cid = $1', [cid])).toEqual([]);
    } finally {
      await holder.end();
      await caller.end();
    }
  });

  it('an epoch bump in flight holds off the commit (epoch rows FOR SHARE), which then sees the new epoch and writes nothing', async () => {
    const holder = new pg.Client({ connectionString: db.url() });
    await holder.connect();
    try {
      const cid = randomUUID();
      await holder.query('BEGIN');
      await holder.query(`UPDATE seb_epochs SET value = value + 1 WHERE name = 'policy'`);
      let settled = false;
      const committing = ledger.commitExecution(commitFor(cid)).then((r) => { settled = true; return r; });
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false); // waits for the bump
      await holder.query('COMMIT');
      const r = await committing;
      expect(r.ok === false && r.error.code).toBe('SEB_POLICY_EPOCH');
      expect(r.ok === false && r.error.message).toContain('the current policy epoch is 1');
      expect(await db.query('SELECT 1 FROM seb_nonces WHERE cid = $1', [cid])).toEqual([]);
    } finally {
      await holder.end();
    }
  });
});
