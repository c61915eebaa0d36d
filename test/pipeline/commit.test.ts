// The pipeline's last step and its epoch view, against the real embedded ledger (PGlite): the commit transaction
// re-checks revocation immediately before forwarding, reserves the nonce only together with a signed decision
// record, and a stale epoch view denies mutations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline } from '../../pipeline/run.ts';
import type { EpochSource, PlatformAdapter } from '../../pipeline/types.ts';
import { createAuditWriter, type AuditWriter } from '../../audit/writer.ts';
import { payload, recordingAdapter, request, sab, sign, TARGET_STATE, SUBJECT } from './world.ts';
import { openPgliteForTest, type LedgerUnderTest } from './ledgers.ts';

const NOW = Math.floor(Date.now() / 1000);

describe('pipeline commit and epoch view', () => {
  const { key, trust } = sab();
  let ledger: LedgerUnderTest;
  let audit: AuditWriter;
  const lines: string[] = [];
  beforeAll(async () => {
    ledger = await openPgliteForTest();
    const w = await createAuditWriter({ ledger: ledger.ledger, instanceId: 'commit-test', sink: (l) => lines.push(l) });
    if (!w.ok) throw new Error(w.error.message);
    audit = w.value;
  });
  afterAll(async () => ledger?.close());

  const pipeline = (over: { adapter?: PlatformAdapter; epochs?: EpochSource } = {}) => createPipeline({
    trust, ledger: ledger.ledger, adapters: { aws: over.adapter ?? recordingAdapter().adapter }, subject: SUBJECT,
    instanceId: 'commit-test', now: () => NOW, clockSkewSeconds: 5, audit, ...(over.epochs ? { epochs: over.epochs } : {}),
  });
  const fresh = async () => {
    const epochs = await ledger.epochs();
    return payload(NOW, { policyEpoch: epochs.policy, revocationEpoch: epochs.revocation });
  };
  const decisionsOf = (cid: string) => lines.map((l) => JSON.parse(l) as { kind: string; cid: string | null; body: { decision?: string; result?: string } }).filter((r) => r.cid === cid);

  it('an allowed execution is committed with one signed decision record, and completing it writes one outcome record', async () => {
    const p = await fresh();
    const d = await pipeline()({ certificate: sign(p, key), request: request() });
    expect(d.kind).toBe('allow');
    if (d.kind !== 'allow') return;
    expect(decisionsOf(p.cid).map((r) => [r.kind, r.body.decision])).toEqual([['decision', 'allow']]);
    expect((await d.complete({ result: 'completed', status: 200, requestId: 'req-1', responseDigest: 'ab'.repeat(32) })).ok).toBe(true);
    expect(decisionsOf(p.cid).map((r) => [r.kind, r.body.decision ?? r.body.result])).toEqual([['decision', 'allow'], ['outcome', 'completed']]);
    const unfinished = await ledger.ledger.unfinishedExecutions('commit-', 'other');
    expect(unfinished.ok && unfinished.value.some((e) => e.cid === p.cid)).toBe(false);
  });

  it('a revocation that lands while drift and minting are in flight stops the call at the commit, and the nonce stays unreserved', async () => {
    const observe = Promise.withResolvers<void>();
    const { adapter, calls } = recordingAdapter({ gate: { observe: observe.promise } });
    const p = await fresh();
    const pending = pipeline({ adapter })({ certificate: sign(p, key), request: request() });
    await calls.observeStarted.promise; // stages 1-5 passed; drift is in flight
    await ledger.revoke(p.cid, 'incident 42');
    observe.resolve();
    const d = await pending;
    expect(d.kind).toBe('deny');
    if (d.kind === 'deny') {
      expect(d.error.code).toBe('SEB_REVOKED');
      expect(d.stages.at(-1)).toMatchObject({ stage: 'commit', ok: false, code: 'SEB_REVOKED' });
    }
    expect(calls.released).toBe(1); // the minted identity was given back
    const checked = await ledger.ledger.precheck(p.cid, p.nonce);
    expect(checked.ok && checked.value.nonceUsed).toBe(false);
  });

  it('an epoch bump that lands during drift stops a certificate of the old revocation epoch at the commit', async () => {
    const observe = Promise.withResolvers<void>();
    const { adapter, calls } = recordingAdapter({ gate: { observe: observe.promise } });
    const p = await fresh();
    const pending = pipeline({ adapter })({ certificate: sign(p, key), request: request() });
    await calls.observeStarted.promise;
    await ledger.bumpEpoch('revocation');
    observe.resolve();
    const d = await pending;
    expect(d.kind === 'deny' && d.error.code).toBe('SEB_REVOKED');
  });

  it('a drift denial does not consume the certificate: once the target is back as certified, it executes', async () => {
    const p = await fresh();
    const cert = sign(p, key);
    const changed = { ...(TARGET_STATE as object), Tags: [{ Key: 'env', Value: 'staging' }] };
    const denied = await pipeline({ adapter: recordingAdapter({ state: () => changed }).adapter })({ certificate: cert, request: request() });
    expect(denied.kind === 'deny' && denied.error.code).toBe('SEB_DRIFT');
    const allowed = await pipeline()({ certificate: cert, request: request() });
    expect(allowed.kind).toBe('allow');
    const again = await pipeline()({ certificate: cert, request: request() });
    expect(again.kind === 'deny' && again.error.code).toBe('SEB_REPLAY');
  });

  it('a stale epoch view denies with SEB_REVOCATION_UNKNOWN before any ledger write; a fresh one lets the mutation through', async () => {
    const stale: EpochSource = { snapshot: () => ({ fresh: false, reason: 'the epoch notification connection was lost (terminated)' }), revocation: () => undefined };
    const p = await fresh();
    const d = await pipeline({ epochs: stale })({ certificate: sign(p, key), request: request() });
    expect(d.kind === 'deny' && d.error.code).toBe('SEB_REVOCATION_UNKNOWN');
    if (d.kind === 'deny') expect(d.error.message).toContain('connection was lost');
    const epochs = await ledger.epochs();
    const freshView: EpochSource = { snapshot: () => ({ fresh: true, epochs, ageMs: 3 }), revocation: () => undefined };
    expect((await pipeline({ epochs: freshView })({ certificate: sign(p, key), request: request() })).kind).toBe('allow');
    const revokedView: EpochSource = { snapshot: () => ({ fresh: true, epochs, ageMs: 3 }), revocation: (cid) => (cid === q.cid ? { reason: 'incident', revokedAt: new Date() } : undefined) };
    const q = await fresh();
    const r = await pipeline({ epochs: revokedView })({ certificate: sign(q, key), request: request() });
    expect(r.kind === 'deny' && r.error.code).toBe('SEB_REVOKED');
  });
});
