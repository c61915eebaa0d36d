// The seven stages, each a small function returning a typed verdict. They are composed, timed and run in order
// (the last three concurrently) by run.ts; none of them knows which platform it is checking.
import { sebError, type SebError } from '../errors/codes.ts';
import { decodeAndVerify, type VerifiedCertificate } from '../certs/sab/verify.ts';
import type { TrustStore } from '../certs/sab/trust-store.ts';
import { measureDrift } from '../certs/sab/state.ts';
import { matchContract } from './contract-match.ts';
import type { RevocationView } from '../ledger/types.ts';
import type { EpochView, ExecutorIdentity, PipelineLedger, PlatformAdapter, RequestContract, Result } from './types.ts';

export type Verdict<T = undefined> = { readonly ok: true; readonly value: T; readonly note?: string } | { readonly ok: false; readonly error: SebError };

const pass = <T>(value: T, note?: string): Verdict<T> => (note === undefined ? { ok: true, value } : { ok: true, value, note });
const deny = (code: SebError['code'], message: string): Verdict<never> => ({ ok: false, error: sebError(code, message) });
const fromResult = <T>(r: Result<T>): Verdict<T> => (r.ok ? pass(r.value) : { ok: false, error: r.error });

/** 1. Ed25519 signature by a trusted SAB key (decoding and every malformation are checked first). */
export function signatureStage(header: string, trust: TrustStore, now: number): Verdict<VerifiedCertificate> {
  return fromResult(decodeAndVerify(header, trust, { now }));
}

/** 2. The certificate is for this agent, and the request is exactly the certified change. */
export function contractStage(cert: VerifiedCertificate, request: RequestContract, subject: string): Verdict {
  const p = cert.payload;
  if (p.sub !== subject) return deny('SEB_SUBJECT_MISMATCH', `certificate ${p.cid} was issued to ${JSON.stringify(p.sub)}, this sidecar serves ${JSON.stringify(subject)}; ask the SAB for a certificate for this agent`);
  const match = matchContract(p.contract, request);
  return match.ok ? pass(undefined) : deny('SEB_CONTRACT_MISMATCH', `certificate ${p.cid} does not authorise this request: ${match.reason}; ask the SAB to certify the exact change`);
}

/** 3. Inside [nbf - skew, exp). */
export function validityStage(cert: VerifiedCertificate, now: number, skewSeconds: number): Verdict {
  const { nbf, exp, cid } = cert.payload;
  if (now + skewSeconds < nbf) return deny('SEB_NOT_YET_VALID', `certificate ${cid} is valid from ${new Date(nbf * 1000).toISOString()}; retry then, or check the clocks of the SAB and this host`);
  if (now >= exp) return deny('SEB_EXPIRED', `certificate ${cid} expired at ${new Date(exp * 1000).toISOString()}; ask the SAB for a new one`);
  return pass(undefined);
}

/** 4. Issued under the policy in force now. */
export function policyEpochStage(cert: VerifiedCertificate, epochs: EpochView): Verdict {
  const { policyEpoch, cid } = cert.payload;
  if (policyEpoch === epochs.policy) return pass(undefined);
  return deny('SEB_POLICY_EPOCH', `certificate ${cid} was issued under policy epoch ${policyEpoch}, the current policy epoch is ${epochs.policy}; ask the SAB to re-certify under the current policy`);
}

/** 5. Not revoked, neither globally (revocation epoch) nor by cid. */
export function revocationStage(cert: VerifiedCertificate, view: RevocationView): Verdict {
  const { revocationEpoch, cid } = cert.payload;
  if (revocationEpoch < view.epochs.revocation) return deny('SEB_REVOKED', `certificate ${cid} predates revocation epoch ${view.epochs.revocation} (it carries ${revocationEpoch}): every certificate issued before it is revoked`);
  // A certificate from a later revocation epoch than this ledger knows: the SAB has seen revocations this broker
  // has not, so it cannot confirm the certificate is not among them. Fail closed.
  if (revocationEpoch > view.epochs.revocation) return deny('SEB_REVOCATION_UNKNOWN', `certificate ${cid} was issued under revocation epoch ${revocationEpoch}, but this broker's ledger is at ${view.epochs.revocation}; it cannot confirm the certificate is not revoked. Check that the SAB and seb use the same ledger`);
  if (view.revoked) return deny('SEB_REVOKED', `certificate ${cid} was revoked at ${view.revokedAt.toISOString()}: ${view.reason}`);
  return pass(undefined);
}

/** 6. The nonce has not been used, and the certificate was not revoked since stage 5 looked (a read that spares
 * a mint for a replay; the commit transaction reserves the nonce atomically across the fleet). */
export async function replayStage(cert: VerifiedCertificate, ledger: PipelineLedger): Promise<Verdict> {
  const p = cert.payload;
  const checked = await ledger.precheck(p.cid, p.nonce);
  if (!checked.ok) return { ok: false, error: checked.error };
  if (checked.value.nonceUsed) return deny('SEB_REPLAY', `certificate ${p.cid} has already been used (nonce ${p.nonce}); each certificate authorises one execution`);
  if (checked.value.revoked) return deny('SEB_REVOKED', `certificate ${p.cid} was revoked at ${checked.value.revokedAt.toISOString()}: ${checked.value.reason}`);
  return pass(undefined);
}

/** 7. The target still looks as the SAB saw it, within ε_C. */
export async function driftStage(cert: VerifiedCertificate, adapter: PlatformAdapter | undefined, context: unknown): Promise<Verdict> {
  const { admitted, contract, cid } = cert.payload;
  if (admitted.waived) return pass(undefined, `drift check waived by the SAB: ${admitted.reason}`);
  if (!adapter) return deny('SEB_DRIFT_UNOBSERVABLE', `seb cannot observe ${contract.platform} targets; certificate ${cid} needs a drift check (or an explicit SAB waiver)`);
  const observed = await adapter.observe(contract, context);
  if (!observed.ok) return deny('SEB_DRIFT_UNOBSERVABLE', `cannot observe the target of certificate ${cid}: ${observed.error.message}`);
  const drift = measureDrift(admitted.state, observed.value);
  if (drift.fraction > admitted.epsilon) {
    return deny('SEB_DRIFT', `the target changed since the SAB certified it (${drift.changed.join(', ')}: ${Math.round(drift.fraction * 100)}% of certified paths, tolerance ${admitted.epsilon * 100}%); ask the SAB to re-certify against the current state`);
  }
  return pass(undefined, drift.changed.length ? `drift ${drift.fraction} within epsilon ${admitted.epsilon}` : 'no drift');
}

/** The executor identity for this one change (runs beside replay and drift). */
export async function mintStage(cert: VerifiedCertificate, adapter: PlatformAdapter | undefined, context: unknown): Promise<Verdict<ExecutorIdentity>> {
  const platform = cert.payload.contract.platform;
  if (!adapter) return deny('SEB_MINT_FAILED', `no executor identity is configured for ${platform}; configure the ${platform} platform adapter`);
  const minted = await adapter.mint(cert, context);
  if (minted.ok) return pass(minted.value, minted.value.principal);
  // A contract too large for one executor session is the certificate's problem, not the platform's: keep its code.
  const code = minted.error.code === 'SEB_POLICY_TOO_LARGE' ? minted.error.code : 'SEB_MINT_FAILED';
  return deny(code, `could not mint an executor identity: ${minted.error.message}`);
}
