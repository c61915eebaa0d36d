// The audit writer on a real PostgreSQL ledger: records are signed and chained, concurrent appends of one writer
// keep the chain whole, a failed write leaves the head where it was, a write that "failed" but committed is
// recognised, and what is streamed equals what is stored.
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLine } from '../../audit/chain.ts';
import type { DecisionBody } from '../../audit/records.ts';
import { verifyTrail } from '../../audit/verify.ts';
import { createAuditWriter, type SignedAuditRow } from '../../audit/writer.ts';
import { sebError } from '../../errors/codes.ts';
import { openLedger } from '../../ledger/open.ts';
import type { AuditRecord, Ledger, LedgerResult } from '../../ledger/types.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/pg.ts';

const skip = await postgresSkipReason();

function value<T>(result: LedgerResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

const deny = (i: number): DecisionBody => ({ decision: 'deny', subject: 'agent', stages: [{ stage: 'signature', ok: false, ms: 0.25, code: 'SEB_CERT_MISSING' }], code: 'SEB_CERT_MISSING', message: `attempt ${i}` });

describe.skipIf(skip !== undefined)('audit writer on PostgreSQL', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = value(await openLedger({ databaseUrl: db.url(), dir: path.join(tmpdir(), 'unused'), timeoutMs: 5_000, poolSize: 4 }));
  });
  afterAll(async () => {
    await ledger?.close();
    await db?.drop();
  });

  const chainOf = async (instanceId: string): Promise<AuditRecord[]> =>
    value(await ledger.listAudit({ order: 'chain', afterChain: { instanceId, seq: 0 }, limit: 10_000 })).filter((r) => r.instanceId === instanceId);
  const verifyOne = async (instanceId: string) => {
    const keys = value(await ledger.auditKeys()).filter((k) => k.instanceId === instanceId);
    return verifyTrail((async function* () { yield await chainOf(instanceId); })(), keys);
  };

  it('registers its key and keeps one gapless chain under 50 concurrent appends, streaming each stored row', async () => {
    const lines: string[] = [];
    const writer = value(await createAuditWriter({ ledger, instanceId: 'seb-concurrent', sink: (l) => lines.push(l) }));
    expect(value(await ledger.auditKeys()).find((k) => k.instanceId === 'seb-concurrent')?.publicKey).toBe(writer.publicKey);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => i % 2
      ? writer.append('decision', deny(i), undefined)
      : writer.append('outcome', { cid: '7d0c1a52-3b1f-4f7e-9a55-0c2b6f1e8d41', result: 'completed', status: 200, durationMs: i, identity: 'seb-executor' }, '7d0c1a52-3b1f-4f7e-9a55-0c2b6f1e8d41')));
    expect(results.every((r) => r.ok)).toBe(true);
    const chain = await chainOf('seb-concurrent');
    expect(chain.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await verifyOne('seb-concurrent')).toMatchObject({ ok: true, records: 50 });
    // The stream carries exactly the stored rows, in chain order (the export form without the ledger id).
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(chain.map((r) => { const { id: _id, ...row } = r; return JSON.parse(auditLine(row)) as unknown; }));
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'seb.audit', instanceId: 'seb-concurrent', seq: 1, prevHash: '0'.repeat(64) });
  });

  it('does not advance the head when persisting fails or throws, and says why', async () => {
    const writer = value(await createAuditWriter({ ledger, instanceId: 'seb-failing' }));
    value(await writer.append('decision', deny(1), undefined));
    const seen: SignedAuditRow[] = [];
    const failed = await writer.append('decision', deny(2), undefined, async (row) => {
      seen.push(row);
      return { ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', 'the test ledger is down') };
    });
    expect(failed).toEqual({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE', message: 'the test ledger is down' } });
    const thrown = await writer.append('decision', deny(3), undefined, async () => { throw new Error('socket hang up'); });
    expect(thrown).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE', message: expect.stringMatching(/seb-failing#2 could not be written \(Error: socket hang up\)/) } });
    const unserialisable = await writer.append('decision', { ...deny(5), targets: [10n] }, undefined);
    expect(unserialisable).toMatchObject({ ok: false, error: { code: 'SEB_INTERNAL', message: expect.stringMatching(/cannot serialise.*BigInt/) } });
    value(await writer.append('decision', deny(4), undefined));
    const chain = await chainOf('seb-failing');
    expect(chain.map((r) => [r.seq, (r.body as DecisionBody).message])).toEqual([[1, 'attempt 1'], [2, 'attempt 4']]);
    expect(seen[0]!.seq).toBe(2);
    expect(await verifyOne('seb-failing')).toMatchObject({ ok: true });
  });

  it('returns what a custom persist returns, and chains on when a write reported as failed had committed', async () => {
    const lines: string[] = [];
    const writer = value(await createAuditWriter({ ledger, instanceId: 'seb-timeout', sink: (l) => lines.push(l) }));
    const custom = await writer.append('decision', deny(1), undefined, async (row) => {
      value(await ledger.appendAudit(row));
      return { ok: true, value: 'committed with the nonce' as const };
    });
    expect(custom).toEqual({ ok: true, value: 'committed with the nonce' });
    // The deadline passed, but the INSERT committed after all.
    const lost = await writer.append('decision', deny(2), undefined, async (row) => {
      value(await ledger.appendAudit(row));
      return { ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', 'the ledger did not answer within 5000 ms') };
    });
    expect(lost.ok).toBe(false);
    value(await writer.append('decision', deny(3), undefined));
    expect((await chainOf('seb-timeout')).map((r) => [r.seq, (r.body as DecisionBody).message])).toEqual([[1, 'attempt 1'], [2, 'attempt 2'], [3, 'attempt 3']]);
    // The record found to have committed is streamed when it is recognised, so the stream misses nothing.
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3]);
    expect(await verifyOne('seb-timeout')).toMatchObject({ ok: true });
  });

  it('refuses to chain onto a record it did not write (another process with the same instance id)', async () => {
    const writer = value(await createAuditWriter({ ledger, instanceId: 'seb-twin' }));
    value(await writer.append('decision', deny(1), undefined));
    // A second writer under the same id cannot even register: its key differs.
    expect(await createAuditWriter({ ledger, instanceId: 'seb-twin' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/already has another audit key/) } });
    const [first] = await chainOf('seb-twin');
    value(await ledger.appendAudit({ ...first!, seq: 2, prevHash: first!.hash }));
    const r = await writer.append('decision', deny(2), undefined);
    expect(r).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE', message: expect.stringMatching(/already has a record 2/) } });
  });

  it('stores bodies PostgreSQL would otherwise reject (NUL, lone surrogates), and they still verify', async () => {
    const writer = value(await createAuditWriter({ ledger, instanceId: 'seb-odd-text' }));
    value(await writer.append('decision', { ...deny(1), message: 'a\u0000b\ud800c', targets: [{ 'k\u0000': 1, nested: [undefined, -0, 1e21] }] }, 'not a uuid \u0000'));
    const [row] = await chainOf('seb-odd-text');
    expect(row!.cid).toBe('not a uuid \uFFFD');
    expect(row!.body).toMatchObject({ message: 'a\uFFFDb\uFFFDc', targets: [{ 'k\uFFFD': 1, nested: [null, 0, 1e21] }] });
    expect(await verifyOne('seb-odd-text')).toMatchObject({ ok: true });
  });

  it('gives back the ledger error when its key cannot be registered', async () => {
    const closed = value(await openLedger({ databaseUrl: db.url(), dir: path.join(tmpdir(), 'unused'), timeoutMs: 5_000, poolSize: 1 }));
    await closed.close();
    expect(await createAuditWriter({ ledger: closed, instanceId: 'seb-no-ledger' })).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE' } });
  });
});
