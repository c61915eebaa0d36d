// Accept and deny tests for every stage of the pipeline, run against the real embedded ledger (PGlite), with a
// recording platform adapter in place of AWS/Kubernetes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type PipelineDeps } from '../../pipeline/run.ts';
import type { PipelineLedger, PlatformAdapter } from '../../pipeline/types.ts';
import { generateSigningKey } from '../../certs/sab/index.ts';
import { downLedger, payload, recordingAdapter, request, sab, sign, SUBJECT, TARGET_STATE } from './world.ts';
import { openPgliteForTest, type LedgerUnderTest } from './ledgers.ts';

const NOW = Math.floor(Date.now() / 1000);

describe('verification pipeline', () => {
  const { key, trust } = sab();
  let ledger: LedgerUnderTest;
  beforeAll(async () => {
    ledger = await openPgliteForTest();
  });
  afterAll(async () => ledger?.close());

  const pipeline = (over: { adapter?: PlatformAdapter; ledger?: PipelineLedger; subject?: string } = {}) => {
    const deps: PipelineDeps = {
      trust,
      ledger: over.ledger ?? ledger.pipeline,
      adapters: { aws: over.adapter ?? recordingAdapter().adapter },
      subject: over.subject ?? SUBJECT,
      instanceId: 'test-instance',
      now: () => NOW,
      clockSkewSeconds: 5,
    };
    return createPipeline(deps);
  };

  it('allows the certified request: every stage passes, each with a measured duration, and an identity is minted', async () => {
    const { adapter, calls } = recordingAdapter();
    const d = await pipeline({ adapter })({ certificate: sign(payload(NOW), key), request: request() });
    expect(d.kind).toBe('allow');
    expect(d.stages.map((s) => s.stage)).toEqual(['signature', 'contract', 'validity', 'policy_epoch', 'revocation', 'replay', 'drift', 'mint', 'commit']);
    expect(d.stages.every((s) => s.ok && s.ms >= 0)).toBe(true);
    if (d.kind === 'allow') expect(d.identity.principal).toBe(`seb-${d.cert.payload.cid}`);
    expect(calls).toMatchObject({ observe: 1, mint: 1, released: 0 });
  });

  it('runs nonce reservation, drift observation and minting concurrently', async () => {
    // observe waits until mint has started and mint until observe has: run one after the other, this never ends.
    const observeGate = Promise.withResolvers<void>();
    const mintGate = Promise.withResolvers<void>();
    const { adapter, calls } = recordingAdapter({ gate: { observe: observeGate.promise, mint: mintGate.promise } });
    void calls.mintStarted.promise.then(() => observeGate.resolve());
    void calls.observeStarted.promise.then(() => mintGate.resolve());
    const d = await pipeline({ adapter })({ certificate: sign(payload(NOW), key), request: request() });
    expect(d.kind).toBe('allow');
  });

  const denies = async (certificate: string, code: string, opts: Parameters<typeof pipeline>[0] & { req?: ReturnType<typeof request> } = {}) => {
    const d = await pipeline(opts)({ certificate, request: opts.req ?? request() });
    expect(d.kind).toBe('deny');
    if (d.kind === 'deny') {
      expect(d.error.code).toBe(code);
      expect(d.error.message.length).toBeGreaterThan(20);
      expect(d.stages.at(-1)?.ok === false || d.stages.some((s) => !s.ok)).toBe(true);
    }
    return d;
  };

  it('signature: malformed, unknown key and bad signature are denied with their codes', async () => {
    await denies('not-a-certificate!', 'SEB_CERT_MALFORMED');
    await denies(sign(payload(NOW), generateSigningKey()), 'SEB_UNKNOWN_KEY');
    const impostor = generateSigningKey(key.kid);
    await denies(sign(payload(NOW), impostor), 'SEB_SIGNATURE');
  });

  it('contract: another agent, another operation, another target, other parameters are denied', async () => {
    await denies(sign(payload(NOW, { sub: 'someone-else' }), key), 'SEB_SUBJECT_MISMATCH');
    await denies(sign(payload(NOW), key), 'SEB_CONTRACT_MISMATCH', { req: request({ operation: 'ec2:RevokeSecurityGroupIngress' }) });
    await denies(sign(payload(NOW), key), 'SEB_CONTRACT_MISMATCH', { req: request({ targets: ['arn:aws:ec2:us-east-1:123456789012:security-group/sg-other'] }) });
    const d = await denies(sign(payload(NOW), key), 'SEB_CONTRACT_MISMATCH', { req: request({ params: { GroupId: 'sg-0123456789abcdef0', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22 }] } }) });
    if (d.kind === 'deny') expect(d.error.message).toContain('/IpPermissions/0/FromPort');
  });

  it('contract: a value inside declared bounds passes, one outside is denied', async () => {
    const bounded = () => payload(NOW, {
      contract: { platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', targets: [request().targets[0] as string], params: { GroupId: 'sg-0123456789abcdef0', Port: 443 }, bounds: { '/Port': { min: 8000, max: 9000 } }, risk: 'high' },
      admitted: { waived: true, reason: 'test' },
    });
    const ok = await pipeline()({ certificate: sign(bounded(), key), request: request({ params: { GroupId: 'sg-0123456789abcdef0', Port: 8080 } }) });
    expect(ok.kind).toBe('allow');
    const d = await denies(sign(bounded(), key), 'SEB_CONTRACT_MISMATCH', { req: request({ params: { GroupId: 'sg-0123456789abcdef0', Port: 9999 } }) });
    if (d.kind === 'deny') expect(d.error.message).toContain('above the certified maximum 9000');
  });

  it('validity: not yet valid and expired are denied; clock skew is tolerated on nbf only', async () => {
    await denies(sign(payload(NOW, { nbf: NOW + 60, exp: NOW + 600 }), key), 'SEB_NOT_YET_VALID');
    await denies(sign(payload(NOW, { nbf: NOW - 600, exp: NOW }), key), 'SEB_EXPIRED');
    expect((await pipeline()({ certificate: sign(payload(NOW, { nbf: NOW + 3 }), key), request: request() })).kind).toBe('allow');
  });

  it('policy epoch: a certificate from another policy epoch is denied', async () => {
    const before = await ledger.epochs();
    await denies(sign(payload(NOW, { policyEpoch: before.policy + 1 }), key), 'SEB_POLICY_EPOCH');
    await ledger.bumpEpoch('policy');
    await denies(sign(payload(NOW, { policyEpoch: before.policy }), key), 'SEB_POLICY_EPOCH');
    expect((await pipeline()({ certificate: sign(payload(NOW, { policyEpoch: before.policy + 1 }), key), request: request() })).kind).toBe('allow');
  });

  it('revocation: a revoked cid and a certificate older than the revocation epoch are denied', async () => {
    const epochs = await ledger.epochs();
    const p = payload(NOW, { policyEpoch: epochs.policy, revocationEpoch: epochs.revocation });
    await ledger.revoke(p.cid, 'incident 42');
    const d = await denies(sign(p, key), 'SEB_REVOKED');
    if (d.kind === 'deny') expect(d.error.message).toContain('incident 42');
    await ledger.bumpEpoch('revocation');
    await denies(sign(payload(NOW, { policyEpoch: epochs.policy, revocationEpoch: epochs.revocation }), key), 'SEB_REVOKED');
    expect((await pipeline()({ certificate: sign(payload(NOW, { policyEpoch: epochs.policy, revocationEpoch: epochs.revocation + 1 }), key), request: request() })).kind).toBe('allow');
  });

  it('revocation: a certificate from a revocation epoch the ledger has not reached is denied as unknown', async () => {
    const epochs = await ledger.epochs();
    const d = await denies(sign(payload(NOW, { policyEpoch: epochs.policy, revocationEpoch: epochs.revocation + 5 }), key), 'SEB_REVOCATION_UNKNOWN');
    if (d.kind === 'deny') expect(d.error.message).toContain('cannot confirm');
  });

  it('replay: a certificate executes once; the second use is denied', async () => {
    const epochs = await ledger.epochs();
    const cert = sign(payload(NOW, { policyEpoch: epochs.policy, revocationEpoch: epochs.revocation }), key);
    expect((await pipeline()({ certificate: cert, request: request() })).kind).toBe('allow');
    await denies(cert, 'SEB_REPLAY');
  });

  it('drift: a changed target is denied, a change within epsilon passes, unobservable targets are denied, a waiver passes', async () => {
    const epochs = await ledger.epochs();
    const fresh = (over: Parameters<typeof payload>[1] = {}) => sign(payload(NOW, { policyEpoch: epochs.policy, revocationEpoch: epochs.revocation, ...over }), key);
    const changed = { ...(TARGET_STATE as object), Tags: [{ Key: 'env', Value: 'staging' }] };
    const d = await denies(fresh(), 'SEB_DRIFT', { adapter: recordingAdapter({ state: () => changed }).adapter });
    if (d.kind === 'deny') expect(d.error.message).toContain('/Tags');
    const base = payload(NOW);
    const tolerant = fresh({ admitted: { waived: false, state: (base.admitted as { state: Record<string, `sha256:${string}`> }).state, epsilon: 0.5 } });
    expect((await pipeline({ adapter: recordingAdapter({ state: () => changed }).adapter })({ certificate: tolerant, request: request() })).kind).toBe('allow');
    await denies(fresh(), 'SEB_DRIFT_UNOBSERVABLE', { adapter: recordingAdapter({ state: () => new Error('DescribeSecurityGroups timed out') }).adapter });
    const waived = fresh({ admitted: { waived: true, reason: 'new object' } });
    const allowed = await pipeline({ adapter: recordingAdapter({ state: () => changed }).adapter })({ certificate: waived, request: request() });
    expect(allowed.kind).toBe('allow');
    expect(allowed.stages.find((s) => s.stage === 'drift')?.note).toContain('waived');
  });

  it('mint: a failed mint is denied; an identity minted for a denied request is released', async () => {
    const epochs = await ledger.epochs();
    const fresh = () => sign(payload(NOW, { policyEpoch: epochs.policy, revocationEpoch: epochs.revocation }), key);
    await denies(fresh(), 'SEB_MINT_FAILED', { adapter: recordingAdapter({ mint: () => new Error('AssumeRole: AccessDenied') }).adapter });
    const { adapter, calls } = recordingAdapter({ state: () => ({}) });
    await denies(fresh(), 'SEB_DRIFT', { adapter });
    expect(calls.released).toBe(1);
  });

  it('ledger unavailable: denied with SEB_LEDGER_UNAVAILABLE, never allowed', async () => {
    await denies(sign(payload(NOW), key), 'SEB_LEDGER_UNAVAILABLE', { ledger: downLedger });
  });
});
