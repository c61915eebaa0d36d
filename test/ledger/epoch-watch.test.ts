// The pushed epoch view against real ledgers: notifications arrive, a cut notification connection makes the view
// stale at once and it comes back after reconnecting, a silent partition makes it stale within the bound.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../ledger/open.ts';
import { startEpochWatch, type EpochWatch } from '../../ledger/epoch-watch.ts';
import type { Ledger } from '../../ledger/types.ts';
import { createTestDatabase, PG_ADMIN_URL, postgresSkipReason, type TestDatabase } from '../helpers/pg.ts';
import { startRelay, type Relay } from '../helpers/relay.ts';

const pgSkip = await postgresSkipReason();

async function until(what: string, check: () => boolean, ms = 8_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function open(databaseUrl: string | undefined, dir = ''): Promise<Ledger> {
  const r = await openLedger({ databaseUrl, dir, timeoutMs: 400, poolSize: 2 });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const epochsOf = (w: EpochWatch) => { const s = w.snapshot(); return s.fresh ? s.epochs : undefined; };

describe('epoch watch on embedded PGlite', () => {
  it('sees bumps and revocations made in the same process', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'seb-watch-'));
    const ledger = await open(undefined, dir);
    const watch = startEpochWatch({ ledger, maxStalenessMs: 2_000, reconnect: { minMs: 100, maxMs: 1_000 } });
    try {
      await until('the view is fresh', () => watch.snapshot().fresh);
      const before = epochsOf(watch)!.revocation;
      const bumped = await ledger.bumpEpoch('revocation');
      expect(bumped.ok && bumped.value).toBe(before + 1);
      await until('the bump is seen', () => epochsOf(watch)?.revocation === before + 1);
      const cid = randomUUID();
      await ledger.revoke(cid, 'test');
      await until('the revocation is seen', () => watch.revocation(cid)?.reason === 'test');
    } finally {
      await watch.close();
      await ledger.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(pgSkip !== undefined)('epoch watch on PostgreSQL', () => {
  let db: TestDatabase;
  let other: Ledger;
  beforeAll(async () => {
    db = await createTestDatabase();
    other = await open(db.url()); // the SAB / an operator's seb CLI
  });
  afterAll(async () => {
    await other?.close();
    await db?.drop();
  });

  it('a bump and a revocation committed elsewhere reach the view by NOTIFY', async () => {
    const ledger = await open(db.url());
    const watch = startEpochWatch({ ledger, maxStalenessMs: 2_000, heartbeatMs: 60_000, reconnect: { minMs: 100, maxMs: 1_000 } });
    try {
      await until('the view is fresh', () => watch.snapshot().fresh);
      const policy = epochsOf(watch)!.policy;
      await other.bumpEpoch('policy');
      // heartbeatMs is a minute: only the notification can have brought the new value this soon.
      await until('the bump is seen', () => epochsOf(watch)?.policy === policy + 1);
      const cid = randomUUID();
      await other.revoke(cid, 'incident');
      await until('the revocation is seen', () => watch.revocation(cid)?.reason === 'incident');
      expect(watch.revocation(randomUUID())).toBeUndefined();
    } finally {
      await watch.close();
      await ledger.close();
    }
  });

  it('pg_terminate_backend on the notification connection: stale at once, fresh again after the reconnection backoff', async () => {
    const ledger = await open(db.url());
    const events: string[] = [];
    const watch = startEpochWatch({ ledger, maxStalenessMs: 500, reconnect: { minMs: 1_000, maxMs: 2_000 }, onEvent: (e) => events.push(e.kind) });
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      await until('the view is fresh', () => watch.snapshot().fresh);
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = 'seb-listen' AND datname = $1`, [db.name]);
      expect(killed.rows.length).toBe(1);
      await until('the view is stale', () => !watch.snapshot().fresh, 3_000);
      const stale = watch.snapshot();
      expect(stale.fresh === false && stale.reason).toContain('lost');
      await until('the view is fresh again', () => watch.snapshot().fresh, 8_000);
      expect(events).toEqual(expect.arrayContaining(['connected', 'lost']));
      expect(events.filter((e) => e === 'connected').length).toBeGreaterThanOrEqual(2);
    } finally {
      await admin.end();
      await watch.close();
      await ledger.close();
    }
  });

  it('a silent partition (nothing answers, nothing fails): stale within the bound, fresh again when it heals', async () => {
    const relay: Relay = await startRelay();
    const ledger = await open(db.url(relay.port));
    const watch = startEpochWatch({ ledger, maxStalenessMs: 500, reconnect: { minMs: 100, maxMs: 500 } });
    try {
      await until('the view is fresh', () => watch.snapshot().fresh);
      relay.blackhole();
      await until('the view is stale', () => !watch.snapshot().fresh, 5_000);
      await relay.restore();
      await until('the view is fresh again', () => watch.snapshot().fresh, 10_000);
    } finally {
      await watch.close();
      await ledger.close();
      await relay.close();
    }
  });
});
