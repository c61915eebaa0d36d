// The behaviour every ledger backend must have, written once and run on PostgreSQL and on PGlite: the same SQL
// has to give the same answers on both, including under concurrency.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../ledger/migrate.ts';
import type { Ledger, LedgerResult } from '../../ledger/types.ts';
import type { PipelineLedger } from '../../pipeline/types.ts';

/** A store of its own (a PostgreSQL database, a PGlite directory) that ledgers can be opened on. */
export interface TestStore {
  open(): Promise<LedgerResult<Ledger>>;
  dispose(): Promise<void>;
}

export function value<T>(result: LedgerResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

const nonce = () => randomBytes(16).toString('base64url');
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

export function ledgerContract(name: string, newStore: () => Promise<TestStore>, skip?: string): void {
  describe.skipIf(skip !== undefined)(`ledger contract on ${name}`, () => {
    let store: TestStore;
    let ledger: Ledger;
    beforeAll(async () => {
      store = await newStore();
      ledger = value(await store.open());
    });
    afterAll(async () => {
      await ledger?.close();
      await store?.dispose();
    });

    it('applies the migrations on the first open only; data survives reopening; a closed ledger answers unavailable', async () => {
      const fresh = await newStore();
      try {
        const first = value(await fresh.open());
        expect(first.schema).toEqual({ version: MIGRATIONS.length, applied: MIGRATIONS.map((m) => m.version) });
        expect(value(await first.epochs())).toEqual({ policy: 0, revocation: 0 });
        expect(value(await first.bumpEpoch('policy'))).toBe(1);
        await first.close();
        const second = value(await fresh.open());
        expect(second.schema).toEqual({ version: MIGRATIONS.length, applied: [] });
        expect(value(await second.epochs())).toEqual({ policy: 1, revocation: 0 });
        await second.close();
        await second.close(); // harmless
        const closed = await second.epochs();
        expect(closed).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE' } });
        if (!closed.ok) expect(closed.error.message).toMatch(/is closed/);
      } finally {
        await fresh.dispose();
      }
    });

    it('is usable where the pipeline expects its ledger (type check) and answers health checks', async () => {
      const asPipeline: PipelineLedger = ledger;
      expect(asPipeline).toBe(ledger);
      expect(value(await ledger.health()).backend).toBe(ledger.backend);
    });

    it('reserves a (cid, nonce) once; a second use is a replay, whatever the case of the cid', async () => {
      const cid = randomUUID();
      const n = nonce();
      const base = { cid, nonce: n, subject: 'agent-1', instanceId: 'seb-a', expiresAt: inAnHour() };
      expect(value(await ledger.reserveNonce(base))).toBe('reserved');
      expect(value(await ledger.reserveNonce({ ...base, instanceId: 'seb-b' }))).toBe('replay');
      expect(value(await ledger.reserveNonce({ ...base, cid: cid.toUpperCase() }))).toBe('replay');
      expect(value(await ledger.reserveNonce({ ...base, nonce: nonce() }))).toBe('reserved');
      expect(value(await ledger.reserveNonce({ ...base, cid: randomUUID() }))).toBe('reserved');
    });

    it('100 concurrent reservations of one (cid, nonce): exactly one is reserved, 99 are replays', async () => {
      const r = { cid: randomUUID(), nonce: nonce(), subject: 'agent-1', instanceId: 'seb-a', expiresAt: inAnHour() };
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => ledger.reserveNonce({ ...r, instanceId: `seb-${i}` })));
      const answers = results.map(value);
      expect(answers.filter((a) => a === 'reserved')).toHaveLength(1);
      expect(answers.filter((a) => a === 'replay')).toHaveLength(99);
    });

    it('bumps epochs atomically: concurrent bumps return distinct consecutive values', async () => {
      const before = value(await ledger.epochs());
      expect(value(await ledger.bumpEpoch('policy'))).toBe(before.policy + 1);
      const bumps = (await Promise.all(Array.from({ length: 20 }, () => ledger.bumpEpoch('revocation')))).map(value);
      expect([...bumps].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => before.revocation + 1 + i));
      expect(value(await ledger.epochs())).toEqual({ policy: before.policy + 1, revocation: before.revocation + 20 });
    });

    it('revokes a certificate once, keeps the first reason, and shows it with the epochs in one view', async () => {
      const cid = randomUUID();
      expect(value(await ledger.revocationStatus(cid))).toEqual({ revoked: false });
      const first = value(await ledger.revoke(cid, 'key compromised'));
      expect(first).toMatchObject({ newly: true, reason: 'key compromised' });
      expect(first.revokedAt).toBeInstanceOf(Date);
      const again = value(await ledger.revoke(cid.toUpperCase(), 'second thoughts'));
      expect(again).toEqual({ newly: false, reason: 'key compromised', revokedAt: first.revokedAt });
      expect(value(await ledger.revocationStatus(cid))).toEqual({ revoked: true, reason: 'key compromised', revokedAt: first.revokedAt });
      const epochs = value(await ledger.epochs());
      expect(value(await ledger.revocationView(cid))).toEqual({ epochs, revoked: true, reason: 'key compromised', revokedAt: first.revokedAt });
      expect(value(await ledger.revocationView(randomUUID()))).toEqual({ epochs, revoked: false });
    });

    it('appends audit records numbered per instance without gaps, and lists them in order', async () => {
      const instanceId = `seb-${randomUUID()}`;
      const at = new Date('2026-11-22T10:00:00.123Z');
      const first = value(await ledger.appendAudit({ instanceId, kind: 'decision', cid: 'not-even-a-uuid', at, body: { allowed: false, code: 'SEB_CERT_MALFORMED' } }));
      expect(first.seq).toBe(1);
      const concurrent = (await Promise.all(Array.from({ length: 10 }, (_, i) =>
        ledger.appendAudit({ instanceId, kind: 'outcome', at: new Date(at.getTime() + 1000 + i), body: { i, nested: { ok: true } } })))).map(value);
      expect(concurrent.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
      expect(value(await ledger.appendAudit({ instanceId: `${instanceId}-other`, kind: 'decision', at, body: {} })).seq).toBe(1);

      const after = String(BigInt(first.id) - 1n);
      const mine = value(await ledger.listAudit({ afterId: after, limit: 100 })).filter((r) => r.instanceId === instanceId);
      expect(mine).toHaveLength(11);
      expect(mine[0]).toEqual({ id: first.id, seq: 1, instanceId, kind: 'decision', cid: 'not-even-a-uuid', at, body: { allowed: false, code: 'SEB_CERT_MALFORMED' } });
      expect(mine.map((r) => BigInt(r.id))).toEqual(mine.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : 1)));
      expect(mine[1]).not.toHaveProperty('cid');
      expect(value(await ledger.listAudit({ afterId: after, limit: 3 }))).toHaveLength(3);
      const since = value(await ledger.listAudit({ afterId: after, since: new Date(at.getTime() + 1005), limit: 100 }));
      expect(since.filter((r) => r.instanceId === instanceId).map((r) => (r.body as { i: number }).i).sort()).toEqual([5, 6, 7, 8, 9]);
    });

    it('rejects arguments it cannot store as a bug (SEB_INTERNAL), not as an outage', async () => {
      expect(await ledger.revoke('not-a-uuid', 'x')).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL' } });
      expect(await ledger.listAudit({ limit: 0 })).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL' } });
    });
  });
}
