// The behaviour every ledger backend must have, written once and run on PostgreSQL and on PGlite: the same SQL
// has to give the same answers on both, including under concurrency.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../ledger/migrate.ts';
import type { Ledger, LedgerResult } from '../../ledger/types.ts';
import type { PipelineLedger } from '../../pipeline/types.ts';
import { createAuditWriter } from '../../audit/writer.ts';
import { AuditSeqTaken } from '../../ledger/audit-sql.ts';

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

    const commitOf = (cid: string, epochs: { policy: number; revocation: number }, instanceId = 'seb-commit') => ({
      reservation: { cid, nonce: 'n1', subject: 'agent', instanceId, expiresAt: inAnHour() },
      execution: { cid, nonce: 'n1', instanceId, principal: 'executor', credentialId: `JTI=${cid}`, expiresAt: inAnHour() },
      policyEpoch: epochs.policy, revocationEpoch: epochs.revocation,
    });
    const denied = async (r: Promise<LedgerResult<void>>) => {
      const result = await r;
      if (result.ok) throw new Error('expected a denial');
      return result.error;
    };

    it('commits an execution in one statement, and denies with the codes of each check, writing nothing', async () => {
      value(await ledger.bumpEpoch('revocation'));
      const epochs = value(await ledger.epochs());
      const cids = Array.from({ length: 4 }, () => randomUUID());
      const policy = await denied(ledger.commitExecution({ ...commitOf(cids[0]!, epochs), policyEpoch: epochs.policy + 1 }));
      expect(policy).toMatchObject({ code: 'SEB_POLICY_EPOCH', message: expect.stringContaining(`issued under policy epoch ${epochs.policy + 1}, the current policy epoch is ${epochs.policy}`) });
      const older = await denied(ledger.commitExecution({ ...commitOf(cids[0]!, epochs), revocationEpoch: epochs.revocation - 1 }));
      expect(older).toMatchObject({ code: 'SEB_REVOKED', message: expect.stringContaining(`predates revocation epoch ${epochs.revocation} (it carries ${epochs.revocation - 1})`) });
      const newer = await denied(ledger.commitExecution({ ...commitOf(cids[0]!, epochs), revocationEpoch: epochs.revocation + 1 }));
      expect(newer).toMatchObject({ code: 'SEB_REVOCATION_UNKNOWN', message: expect.stringContaining(`but the ledger is at ${epochs.revocation}`) });
      const revocation = value(await ledger.revoke(cids[1]!, 'incident 7'));
      const revoked = await denied(ledger.commitExecution(commitOf(cids[1]!.toUpperCase(), epochs)));
      expect(revoked).toEqual({ code: 'SEB_REVOKED', message: `certificate ${cids[1]!.toUpperCase()} was revoked at ${revocation.revokedAt.toISOString()}: incident 7` });
      for (const cid of cids.slice(0, 2)) expect(value(await ledger.precheck(cid, 'n1')).nonceUsed).toBe(false);

      expect(await ledger.commitExecution(commitOf(cids[2]!, epochs))).toEqual({ ok: true, value: undefined });
      expect(value(await ledger.precheck(cids[2]!, 'n1')).nonceUsed).toBe(true);
      expect(value(await ledger.executionByCredential(`JTI=${cids[2]}`))).toMatchObject({ cid: cids[2], nonce: 'n1', instanceId: 'seb-commit', principal: 'executor', finished: false });
      const replay = await denied(ledger.commitExecution({ ...commitOf(cids[2]!, epochs), execution: { ...commitOf(cids[2]!, epochs).execution, credentialId: `JTI=${cids[3]}` } }));
      expect(replay).toEqual({ code: 'SEB_REPLAY', message: `certificate ${cids[2]} has already been used (nonce n1); each certificate authorises one execution` });
      expect(value(await ledger.executionByCredential(`JTI=${cids[3]}`))).toBeUndefined();

      expect(await ledger.finishExecution({ cid: cids[2]!, nonce: 'n1', result: 'completed' })).toEqual({ ok: true, value: undefined });
      expect(await denied(ledger.finishExecution({ cid: cids[2]!, nonce: 'n1', result: 'uncertain' }))).toMatchObject({ code: 'SEB_INTERNAL', message: expect.stringContaining('no open outcome') });
      expect(value(await ledger.executionByCredential(`JTI=${cids[2]}`))?.finished).toBe(true);
    });

    it('a taken audit seq in a commit or an outcome surfaces as AuditSeqTaken with the stored hash, undoes the whole write, and the writer resyncs', async () => {
      const epochs = value(await ledger.epochs());
      const instanceId = `seb-${randomUUID()}`;
      const writer = value(await createAuditWriter({ ledger, instanceId }));
      value(await writer.append('decision', { decision: 'deny', subject: 'agent', stages: [], code: 'SEB_CERT_MALFORMED' }, undefined));
      const [stored] = value(await ledger.listAudit({ order: 'chain', afterChain: { instanceId, seq: 0 }, limit: 10 })).filter((r) => r.instanceId === instanceId);
      const forged = { instanceId, seq: 1, kind: 'decision' as const, at: new Date(), body: { forged: true }, prevHash: '0'.repeat(64), hash: 'a'.repeat(64), signature: 'x' };
      const cid = randomUUID();
      const commit = await denied(ledger.commitExecution({ ...commitOf(cid, epochs, instanceId), decision: forged }));
      expect(commit).toMatchObject({ code: 'SEB_LEDGER_UNAVAILABLE', message: expect.stringMatching(/already has a record 1/) });
      expect(commit.cause).toBeInstanceOf(AuditSeqTaken);
      expect(commit.cause).toMatchObject({ instanceId, seq: 1, storedHash: stored!.hash });
      expect(value(await ledger.precheck(cid, 'n1')).nonceUsed).toBe(false); // no nonce without its record

      expect((await ledger.commitExecution(commitOf(cid, epochs, instanceId))).ok).toBe(true);
      const finish = await denied(ledger.finishExecution({ cid, nonce: 'n1', result: 'completed', outcome: { ...forged, kind: 'outcome' } }));
      expect(finish.cause).toMatchObject({ instanceId, seq: 1, storedHash: stored!.hash });
      expect(value(await ledger.unfinishedExecutions(`${instanceId}`, 'nobody')).map((e) => e.cid)).toEqual([cid]); // still open

      // A commit whose answer was lost although it committed: the writer learns from the next one that the seq is
      // its own, chains on from it and succeeds.
      const lost = randomUUID();
      const first = await writer.append('decision', { decision: 'allow', subject: 'agent', stages: [] }, lost, async (row) => {
        value(await ledger.commitExecution({ ...commitOf(lost, epochs, instanceId), decision: row }));
        return { ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE', message: 'the ledger did not answer in time' } };
      });
      expect(first.ok).toBe(false);
      const next = randomUUID();
      expect(await writer.append('decision', { decision: 'allow', subject: 'agent', stages: [] }, next,
        (row) => ledger.commitExecution({ ...commitOf(next, epochs, instanceId), decision: row }))).toEqual({ ok: true, value: undefined });
      const chain = value(await ledger.listAudit({ order: 'chain', afterChain: { instanceId, seq: 0 }, limit: 10 })).filter((r) => r.instanceId === instanceId);
      expect(chain.map((r) => [r.seq, r.cid])).toEqual([[1, undefined], [2, lost], [3, next]]);
      chain.slice(1).forEach((r, i) => expect(r.prevHash).toBe(chain[i]!.hash));
    });

    it('liveness: finds the executions of silent instances only, and exactly one of several sebs racing records each', { timeout: 20_000 }, async () => {
      const epochs = value(await ledger.epochs());
      const [dead, alive, me] = ['dead', 'alive', 'me'].map((n) => `${n}-${randomUUID()}`) as [string, string, string];
      for (const id of [dead, alive, me]) value(await ledger.heartbeat(id));
      const cidOf = { dead: randomUUID(), alive: randomUUID(), me: randomUUID(), unregistered: randomUUID() };
      value(await ledger.commitExecution(commitOf(cidOf.dead, epochs, dead)));
      value(await ledger.commitExecution(commitOf(cidOf.alive, epochs, alive)));
      value(await ledger.commitExecution(commitOf(cidOf.me, epochs, me)));
      value(await ledger.commitExecution(commitOf(cidOf.unregistered, epochs, `old-${randomUUID()}`))); // never heartbeats
      const ours = new Set<string>(Object.values(cidOf));
      const abandoned = async (silentMs: number) => value(await ledger.abandonedExecutions(silentMs, me)).filter((e) => ours.has(e.cid)).map((e) => e.cid).sort();
      expect(await abandoned(60_000)).toEqual([]); // just committed: its instance was alive then
      await new Promise((r) => setTimeout(r, 2_000));
      value(await ledger.heartbeat(alive));
      value(await ledger.heartbeat(me));
      expect(await abandoned(1_500)).toEqual([cidOf.dead, cidOf.unregistered].sort());
      expect(await abandoned(60_000)).toEqual([]);

      // The live instance's execution is not for recovery; a plain finish (its own) still works.
      expect(await denied(ledger.finishExecution({ cid: cidOf.alive, nonce: 'n1', result: 'uncertain', ifInstanceSilentMs: 1_500 }))).toMatchObject({ code: 'SEB_INTERNAL' });
      expect((await ledger.finishExecution({ cid: cidOf.alive, nonce: 'n1', result: 'completed' })).ok).toBe(true);

      // Four sebs find the dead instance's execution at once: one outcome record, the others write nothing.
      const writers = await Promise.all(Array.from({ length: 4 }, (_, i) => createAuditWriter({ ledger, instanceId: `${me}-${i}` }).then(value)));
      const results = await Promise.all(writers.map((w) => w.append('outcome', { cid: cidOf.dead, result: 'uncertain', durationMs: 0, identity: 'executor', error: 'gone' }, cidOf.dead,
        (row) => ledger.finishExecution({ cid: cidOf.dead, nonce: 'n1', result: 'uncertain', outcome: row, ifInstanceSilentMs: 1_500 }))));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.error.code)).toEqual(['SEB_INTERNAL', 'SEB_INTERNAL', 'SEB_INTERNAL']);
      const records = value(await ledger.listAudit({ order: 'latest', limit: 100 })).filter((r) => r.cid === cidOf.dead && r.kind === 'outcome');
      expect(records).toHaveLength(1);
      expect(await abandoned(1_500)).toEqual([cidOf.unregistered]);

      expect(await ledger.abandonedExecutions(0, me)).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL' } });
      expect(await ledger.heartbeat('')).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL' } });
    });

    it('rejects arguments it cannot store as a bug (SEB_INTERNAL), not as an outage', async () => {
      expect(await ledger.revoke('not-a-uuid', 'x')).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL' } });
      expect(await ledger.listAudit({ limit: 0 })).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL' } });
    });
  });
}
