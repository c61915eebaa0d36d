// A test world for the pipeline: a real SAB key and trust store, a ledger (real backends are plugged in by the
// caller), and a recording platform adapter standing in for the AWS/Kubernetes adapters.
import { createTrustStore, digestState, generateSigningKey, newCid, newNonce, signCertificate } from '../../certs/sab/index.ts';
import type { CertificatePayload, JsonValue, SigningKey, TrustStore } from '../../certs/sab/index.ts';
import { sebError } from '../../errors/codes.ts';
import type { ExecutorIdentity, PipelineLedger, PlatformAdapter, RequestContract } from '../../pipeline/types.ts';

export const SUBJECT = 'system:serviceaccount:agents:ops-bot';
export const SG_ARN = 'arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0';

export function sab(): { key: SigningKey; trust: TrustStore } {
  const key = generateSigningKey();
  const trust = createTrustStore([{ kid: key.kid, publicKey: key.publicKey }]);
  if (!trust.ok) throw new Error(trust.error);
  return { key, trust: trust.value };
}

export const TARGET_STATE: JsonValue = { GroupId: 'sg-0123456789abcdef0', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22 }], Tags: [{ Key: 'env', Value: 'prod' }] };

export function payload(now: number, overrides: Partial<CertificatePayload> = {}): CertificatePayload {
  return {
    v: 1,
    cid: newCid(),
    iss: 'sab.test',
    sub: SUBJECT,
    contract: {
      platform: 'aws',
      operation: 'ec2:AuthorizeSecurityGroupIngress',
      targets: [SG_ARN],
      params: { GroupId: 'sg-0123456789abcdef0', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }] },
      risk: 'high',
    },
    admitted: { waived: false, state: digestState(TARGET_STATE, ['/IpPermissions', '/Tags']), epsilon: 0 },
    nbf: now - 10,
    exp: now + 300,
    policyEpoch: 0,
    revocationEpoch: 0,
    nonce: newNonce(),
    ...overrides,
  };
}

export function request(overrides: Partial<Extract<RequestContract, { platform: 'aws' }>> = {}): RequestContract {
  return {
    platform: 'aws',
    operation: 'ec2:AuthorizeSecurityGroupIngress',
    targets: [SG_ARN],
    params: { GroupId: 'sg-0123456789abcdef0', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }] },
    ...overrides,
  };
}

export function sign(p: CertificatePayload, key: SigningKey): string {
  const r = signCertificate(p, key);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** A platform adapter whose observations and minting the test controls, recording what it was asked. */
export function recordingAdapter(opts: { state?: () => JsonValue | Error; mint?: () => ExecutorIdentity | Error; gate?: { observe?: Promise<void>; mint?: Promise<void> } } = {}) {
  const calls = { observe: 0, mint: 0, released: 0, observeStarted: Promise.withResolvers<void>(), mintStarted: Promise.withResolvers<void>() };
  const adapter: PlatformAdapter = {
    platform: 'aws',
    async observe() {
      calls.observe++;
      calls.observeStarted.resolve();
      await opts.gate?.observe;
      const s = opts.state ? opts.state() : TARGET_STATE;
      return s instanceof Error ? { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', s.message) } : { ok: true, value: s };
    },
    async mint(cert) {
      calls.mint++;
      calls.mintStarted.resolve();
      await opts.gate?.mint;
      const m = opts.mint ? opts.mint() : { platform: 'aws' as const, principal: `seb-${cert.payload.cid}`, expiresAt: cert.payload.exp, credentials: { token: 'minted' }, release: async () => { calls.released++; } };
      return m instanceof Error ? { ok: false, error: sebError('SEB_MINT_FAILED', m.message) } : { ok: true, value: m };
    },
  };
  return { adapter, calls };
}

/** A ledger that is down: every call fails the way the real backends report an outage. */
export const downLedger: PipelineLedger = {
  revocationView: async () => ({ ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', 'the ledger at postgres://db did not answer within 2000 ms (ledger.timeoutMs)') }),
  precheck: async () => ({ ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', 'the ledger at postgres://db did not answer within 2000 ms (ledger.timeoutMs)') }),
  commitExecution: async () => ({ ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', 'the ledger at postgres://db did not answer within 2000 ms (ledger.timeoutMs)') }),
  finishExecution: async () => ({ ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', 'the ledger at postgres://db did not answer within 2000 ms (ledger.timeoutMs)') }),
};
