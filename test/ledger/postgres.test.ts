// The PostgreSQL ledger on the real server: the shared contract, several seb processes (two pools) sharing one
// database, concurrent start-up migrations, NOTIFY on changes, and a configuration mistake reported as a value.
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareSchema } from '../../ledger/core.ts';
import { MIGRATIONS } from '../../ledger/migrate.ts';
import { openLedger } from '../../ledger/open.ts';
import { postgresBackend } from '../../ledger/postgres.ts';
import type { Ledger } from '../../ledger/types.ts';
import { ledgerContract, value, type TestStore } from './contract.ts';
import { createTestDatabase, PG_ADMIN_URL, postgresSkipReason, type TestDatabase } from '../helpers/pg.ts';

const skip = await postgresSkipReason();
const unusedDir = path.join(tmpdir(), 'seb-ledger-unused'); // openLedger ignores dir when databaseUrl is set

const open = (db: TestDatabase, poolSize = 10) => openLedger({ databaseUrl: db.url(), dir: unusedDir, timeoutMs: 5_000, poolSize });

async function postgresStore(): Promise<TestStore> {
  const db = await createTestDatabase();
  return { open: () => open(db), dispose: () => db.drop() };
}

ledgerContract('PostgreSQL', postgresStore, skip);

describe.skipIf(skip !== undefined)('PostgreSQL ledger shared by several seb processes', () => {
  let db: TestDatabase;
  let a: Ledger;
  let b: Ledger;
  beforeAll(async () => {
    db = await createTestDatabase();
    // Four processes starting together: the advisory lock lets exactly one of them apply the migrations.
    const opened = (await Promise.all([open(db, 3), open(db, 3), open(db, 2), open(db, 2)])).map(value);
    expect(opened.flatMap((l) => l.schema.applied).sort()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await db.query('SELECT version, name FROM seb_schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    [a, b] = opened as [Ledger, Ledger];
    await Promise.all(opened.slice(2).map((l) => l.close()));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('a nonce reserved through one is a replay through the other, including under a concurrent race', async () => {
    const r = { cid: randomUUID(), nonce: randomBytes(16).toString('base64url'), subject: 'agent', instanceId: 'seb-a', expiresAt: 2e9 };
    expect(value(await a.reserveNonce(r))).toBe('reserved');
    expect(value(await b.reserveNonce({ ...r, instanceId: 'seb-b' }))).toBe('replay');
    const race = { ...r, nonce: randomBytes(16).toString('base64url') };
    const answers = (await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).reserveNonce(race)))).map(value);
    expect(answers.filter((x) => x === 'reserved')).toHaveLength(1);
  });

  it('an epoch bumped or a certificate revoked through one is seen by the other', async () => {
    const before = value(await b.epochs());
    expect(value(await a.bumpEpoch('revocation'))).toBe(before.revocation + 1);
    expect(value(await b.epochs())).toEqual({ ...before, revocation: before.revocation + 1 });
    const cid = randomUUID();
    value(await a.revoke(cid, 'agent compromised'));
    expect(value(await b.revocationView(cid))).toMatchObject({ epochs: { revocation: before.revocation + 1 }, revoked: true, reason: 'agent compromised' });
  });

  it('bumpEpoch and revoke NOTIFY seb_epochs / seb_revocations when they commit', async () => {
    const listener = new pg.Client({ connectionString: db.url() });
    listener.on('error', () => {});
    await listener.connect();
    try {
      const got: Array<{ channel: string; payload: unknown }> = [];
      listener.on('notification', (n) => got.push({ channel: n.channel, payload: JSON.parse(n.payload ?? 'null') }));
      await listener.query('LISTEN seb_epochs; LISTEN seb_revocations');
      const policy = value(await a.bumpEpoch('policy'));
      const cid = randomUUID();
      value(await b.revoke(cid, 'test'));
      value(await b.revoke(cid, 'again')); // already revoked: nothing new to announce
      await expect.poll(() => got.length).toBe(2);
      expect(got).toEqual([
        { channel: 'seb_epochs', payload: { name: 'policy', value: policy } },
        { channel: 'seb_revocations', payload: { cid, reason: expect.any(String), revokedAt: expect.any(String) } },
      ]);
    } finally {
      await listener.end();
    }
  });
});

describe.skipIf(skip !== undefined)('PostgreSQL ledger under lock contention and schema changes', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await createTestDatabase(); });
  afterAll(async () => { await db?.drop(); });

  it('a writer stuck holding the epoch row lock bounds bumpEpoch by timeoutMs; reads on the pipeline path go on', async () => {
    const timeoutMs = 300;
    const ledger = value(await openLedger({ databaseUrl: db.url(), dir: unusedDir, timeoutMs, poolSize: 2 }));
    const holder = new pg.Client({ connectionString: db.url() });
    holder.on('error', () => {});
    await holder.connect();
    try {
      // An operator's forgotten psql transaction, or a seb process frozen mid-bump.
      await holder.query("BEGIN; UPDATE seb_epochs SET value = value WHERE name = 'policy'");
      const started = performance.now();
      const bumped = await ledger.bumpEpoch('policy');
      expect(performance.now() - started).toBeLessThan(3 * timeoutMs);
      expect(bumped).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE' } });
      if (!bumped.ok) expect(bumped.error.message).toMatch(/did not answer within 300 ms|statement timeout/);
      expect(value(await ledger.revocationView(randomUUID())).revoked).toBe(false); // MVCC: readers do not wait
      await holder.query('ROLLBACK');
      expect(value(await ledger.bumpEpoch('policy'))).toBe(1);
    } finally {
      await holder.end();
      await ledger.close();
    }
  });

  it('applies a later migration once on top of the current schema, and refuses a database migrated by an incompatible build', async () => {
    const backend = postgresBackend({ databaseUrl: db.url(), timeoutMs: 2_000, poolSize: 1 });
    try {
      value(await prepareSchema(backend, 2_000));
      const next = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'test_extra', sql: 'CREATE TABLE seb_test_extra (x integer);\nINSERT INTO seb_test_extra VALUES (1);' }];
      expect(value(await prepareSchema(backend, 2_000, next)).applied).toEqual([MIGRATIONS.length + 1]);
      expect(value(await prepareSchema(backend, 2_000, next)).applied).toEqual([]);
      expect(await db.query('SELECT x FROM seb_test_extra')).toEqual([{ x: 1 }]);
      const renamed = [{ ...MIGRATIONS[0]!, name: 'something_else' }];
      const refused = await prepareSchema(backend, 2_000, renamed);
      expect(refused).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE' } });
      if (!refused.ok) expect(refused.error.message).toMatch(/recorded as "init" but this seb has "something_else"/);
    } finally {
      await backend.close(2_000);
    }
  });

  it('a failing migration leaves nothing behind (one transaction)', async () => {
    const backend = postgresBackend({ databaseUrl: db.url(), timeoutMs: 2_000, poolSize: 1 });
    try {
      const extra = { version: MIGRATIONS.length + 1, name: 'test_extra', sql: 'CREATE TABLE IF NOT EXISTS seb_test_extra (x integer)' };
      const broken = { version: MIGRATIONS.length + 2, name: 'broken', sql: 'CREATE TABLE seb_half_done (x integer); SELECT no_such_function();' };
      value(await prepareSchema(backend, 2_000));
      const failed = await prepareSchema(backend, 2_000, [...MIGRATIONS, extra, broken]);
      expect(failed.ok).toBe(false);
      if (!failed.ok) expect(failed.error.message).toMatch(/no_such_function/);
      expect(await db.query("SELECT to_regclass('seb_half_done') AS t")).toEqual([{ t: null }]);
      expect(await db.query('SELECT version FROM seb_schema_migrations WHERE version > $1', [MIGRATIONS.length + 1])).toEqual([]);
    } finally {
      await backend.close(2_000);
    }
  });
});

describe.skipIf(skip !== undefined)('PostgreSQL ledger misconfigured', () => {
  it('a database that does not exist is an error value naming the URL without its password', async () => {
    const u = new URL(PG_ADMIN_URL);
    u.password = 'hunter2-secret';
    u.pathname = `/seb_missing_${randomBytes(4).toString('hex')}`;
    const result = await openLedger({ databaseUrl: u.toString(), dir: unusedDir, timeoutMs: 2_000, poolSize: 1 });
    expect(result).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE' } });
    if (result.ok) return;
    expect(result.error.message).toContain(u.pathname);
    expect(result.error.message).toMatch(/does not exist .*SQLSTATE 3D000.*ledger\.databaseUrl/);
    expect(result.error.message).not.toContain('hunter2');
  });
});
