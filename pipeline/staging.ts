// Certificates staged through the local API, for agents that cannot add a Seb-Certificate header (AWS CLI,
// kubectl). A certificate is verified when staged (a bad one is refused at once, with its code) and again by the
// pipeline when used. A request without a header uses the one staged certificate whose contract it matches.
import { sebError, type SebError } from '../errors/codes.ts';
import { decodeAndVerify, type VerifiedCertificate } from '../certs/sab/verify.ts';
import type { TrustStore } from '../certs/sab/trust-store.ts';
import { matchContract } from './contract-match.ts';
import type { RequestContract } from './types.ts';

export interface StagedCertificate {
  readonly cid: string;
  readonly header: string;
  readonly cert: VerifiedCertificate;
  readonly stagedAt: number;
}

export type Selection =
  | { readonly kind: 'found'; readonly staged: StagedCertificate }
  | { readonly kind: 'none'; readonly error: SebError }
  | { readonly kind: 'ambiguous'; readonly error: SebError };

export interface StagingStore {
  stage(header: string): { ok: true; value: StagedCertificate } | { ok: false; error: SebError };
  list(): StagedCertificate[];
  withdraw(cid: string): boolean;
  select(request: RequestContract): Selection;
  readonly size: number;
}

export function createStagingStore(deps: { trust: TrustStore; subject: string; now: () => number; max?: number }): StagingStore {
  const staged = new Map<string, StagedCertificate>();
  const max = deps.max ?? 1000;
  const prune = () => {
    const now = deps.now();
    for (const [cid, s] of staged) if (s.cert.payload.exp <= now) staged.delete(cid);
  };
  return {
    stage(header) {
      prune();
      const verified = decodeAndVerify(header.trim(), deps.trust, { now: deps.now() });
      if (!verified.ok) return verified;
      const cert = verified.value;
      if (cert.payload.sub !== deps.subject) {
        return { ok: false, error: sebError('SEB_SUBJECT_MISMATCH', `certificate ${cert.payload.cid} was issued to ${JSON.stringify(cert.payload.sub)}, this sidecar serves ${JSON.stringify(deps.subject)}`) };
      }
      if (cert.payload.exp <= deps.now()) return { ok: false, error: sebError('SEB_EXPIRED', `certificate ${cert.payload.cid} has already expired`) };
      if (!staged.has(cert.payload.cid) && staged.size >= max) {
        return { ok: false, error: sebError('SEB_BAD_REQUEST', `${max} certificates are staged already; withdraw some (DELETE /v1/certificates/CID) first`) };
      }
      const entry = { cid: cert.payload.cid, header: header.trim(), cert, stagedAt: deps.now() };
      staged.set(entry.cid, entry);
      return { ok: true, value: entry };
    },
    list() {
      prune();
      return [...staged.values()];
    },
    withdraw(cid) {
      return staged.delete(cid);
    },
    select(request) {
      prune();
      const matching = [...staged.values()].filter((s) => matchContract(s.cert.payload.contract, request).ok);
      if (matching.length === 1) return { kind: 'found', staged: matching[0]! };
      if (matching.length === 0) {
        // A staged certificate for the same operation on some of the same targets (other parameters, or a request
        // naming more or fewer targets than certified): say what differs.
        const near = [...staged.values()].find((s) => s.cert.payload.contract.operation === request.operation && overlappingTargets(s.cert.payload.contract.targets, request.targets));
        if (near) {
          const why = matchContract(near.cert.payload.contract, request);
          if (!why.ok) return { kind: 'none', error: sebError('SEB_CONTRACT_MISMATCH', `staged certificate ${near.cid} does not authorise this request: ${why.reason}; ask the SAB to certify the exact change`) };
        }
        return { kind: 'none', error: sebError('SEB_CERT_MISSING', `this mutation (${request.platform} ${request.operation}) carries no Seb-Certificate header and matches none of the ${staged.size} staged certificates; obtain one from the SAB and send it in the header or stage it with \`seb cert stage FILE\``) };
      }
      const cids = matching.map((s) => s.cid).join(', ');
      return { kind: 'ambiguous', error: sebError('SEB_CERT_AMBIGUOUS', `${matching.length} staged certificates match this mutation (${cids}); withdraw all but one, or send the intended one in the Seb-Certificate header`) };
    },
    get size() {
      return staged.size;
    },
  };
}

function overlappingTargets(a: readonly unknown[], b: readonly unknown[]): boolean {
  const key = (t: unknown) => JSON.stringify(t, Object.keys((t ?? {}) as object).sort());
  const certified = new Set(a.map(key));
  return b.some((t) => certified.has(key(t)));
}
