// The behaviour every ledger backend must have, written once and run on PostgreSQL and on PGlite: the same SQL
// has to give the same answers on both, including under concurrency.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../ledger/migrate.ts';
import type { Ledger, LedgerResult } from '../../ledger/types.ts';
import type { PipelineLedger } from '../../pipeline/types.ts';
import { createAuditWriter } from '../../audit/writer.ts';

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

    it('stores signed audit records chained per instance, refuses a taken seq, and lists them by id or by chain', async () => {
      const instanceId = `seb-${randomUUID()}`;
      const at = new Date('2026-11-22T10:00:00.123Z');
      let tick = 0;
      const writer = value(await createAuditWriter({ ledger, instanceId, now: () => new Date(at.getTime() + 1000 * tick++) }));
      const deny = { decision: 'deny', subject: 'agent', stages: [], code: 'SEB_CERT_MALFORMED' } as const;
      value(await writer.append('decision', deny, 'not-even-a-uuid'));
      await Promise.all(Array.from({ length: 10 }, (_, i) =>
        writer.append('outcome', { cid: randomUUID(), result: 'completed', durationMs: i, identity: 'exec' }, undefined).then(value)));
      const other = value(await createAuditWriter({ ledger, instanceId: `${instanceId}-other` }));
      value(await other.append('decision', deny, undefined));

      const keys = value(await ledger.auditKeys()).filter((k) => k.instanceId.startsWith(instanceId));
      expect(keys.map((k) => k.instanceId)).toEqual([instanceId, `${instanceId}-other`]);
      expect(keys[0]!.publicKey).toBe(writer.publicKey);
      expect(await ledger.registerAuditKey({ instanceId, publicKey: writer.publicKey })).toEqual({ ok: true, value: undefined });
      expect(await ledger.registerAuditKey({ instanceId, publicKey: other.publicKey })).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE', message: expect.stringMatching(/already has another audit key/) } });

      const chain = value(await ledger.listAudit({ order: 'chain', afterChain: { instanceId, seq: 0 }, limit: 100 })).filter((r) => r.instanceId === instanceId);
      expect(chain.map((r) => r.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
      expect(chain[0]).toMatchObject({ seq: 1, instanceId, kind: 'decision', cid: 'not-even-a-uuid', at, body: deny, prevHash: '0'.repeat(64) });
      chain.slice(1).forEach((r, i) => expect(r.prevHash).toBe(chain[i]!.hash));
      expect(chain[1]).not.toHaveProperty('cid');
      expect(value(await ledger.listAudit({ order: 'chain', afterChain: { instanceId, seq: 9 }, limit: 2 })).map((r) => [r.instanceId, r.seq]))
        .toEqual([[instanceId, 10], [instanceId, 11]]);

      const taken = await ledger.appendAudit({ ...chain[4]!, body: { forged: true } });
      expect(taken).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE', message: expect.stringMatching(/already has a record 5/) } });

      const after = String(BigInt(chain[0]!.id) - 1n);
      const mine = value(await ledger.listAudit({ afterId: after, limit: 100 })).filter((r) => r.instanceId === instanceId);
      expect(mine).toHaveLength(11);
      expect(mine.map((r) => BigInt(r.id))).toEqual(mine.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : 1)));
      expect(value(await ledger.listAudit({ afterId: after, limit: 3 }))).toHaveLength(3);
      const since = value(await ledger.listAudit({ afterId: after, since: new Date(at.getTime() + 6000), limit: 100 }));
      expect(since.filter((r) => r.instanceId === instanceId).map((r) => r.seq)).toEqual([7, 8, 9, 10, 11]);
    });

    it('rejects arguments it cannot store as a bug (SEB_INTERNAL), not as an outage', async () => {
      expect(await ledger.revoke('not-a-uuid', 'x')).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL' } });
      expect(await ledger.listAudit({ limit: 0 })).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL' } });
    });
  });
}
