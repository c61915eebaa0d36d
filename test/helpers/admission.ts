// Admission test material: the 16 AdmissionReview bodies a real kube-apiserver v1.33 sent to a webhook
// (../shared/fixtures/kube-apiserver-v1.33/admission-review-*.json), rewritten per case (who asks, which seb
// annotations the objects carry), and executions recorded in a real ledger the way seb records them.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { newCid, newNonce } from '../../certs/sab/index.ts';
import type { Execution, Ledger } from '../../ledger/types.ts';
import { FIXTURES_DIR } from '../kube-apiserver/index.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const REVIEW_FILES: readonly string[] = readdirSync(FIXTURES_DIR).filter((f) => /^admission-review-\d{3}-.*\.json$/.test(f)).sort();

export function fixtureReview(file: string): Json {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, file), 'utf8'));
}

export const CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';

/** userInfo as kube-apiserver reports a ServiceAccount token: uid, its groups, and the token's credential id. */
export function serviceAccountUser(namespace: string, name: string, credentialId?: string): Json {
  return {
    username: `system:serviceaccount:${namespace}:${name}`, uid: randomUUID(),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    ...(credentialId ? { extra: { [CREDENTIAL_ID]: [credentialId] } } : {}),
  };
}

export interface Stamp { readonly cid: string; readonly nonce: string }

/** A copy of obj with seb's annotations set (or removed when stamp is undefined). */
export function stamped(obj: Json, stamp: Stamp | undefined): Json {
  if (!obj) return obj;
  const copy = structuredClone(obj);
  const annotations = { ...(copy.metadata?.annotations ?? {}) };
  delete annotations['seb.openkedge.io/cid'];
  delete annotations['seb.openkedge.io/nonce'];
  if (stamp) Object.assign(annotations, { 'seb.openkedge.io/cid': stamp.cid, 'seb.openkedge.io/nonce': stamp.nonce });
  copy.metadata = { ...(copy.metadata ?? {}), annotations };
  if (!Object.keys(annotations).length) delete copy.metadata.annotations;
  return copy;
}

/** A fixture review with another user and, optionally, seb annotations on its object / oldObject. */
export function reviewFor(file: string, opts: { user: Json; object?: Stamp | null; oldObject?: Stamp | null }): Json {
  const review = fixtureReview(file);
  review.request.userInfo = opts.user;
  if (opts.object !== undefined && review.request.object) review.request.object = stamped(review.request.object, opts.object ?? undefined);
  if (opts.oldObject !== undefined && review.request.oldObject) review.request.oldObject = stamped(review.request.oldObject, opts.oldObject ?? undefined);
  return review;
}

/** Records an execution as seb's pipeline does before forwarding: the nonce reserved, then the execution. */
export async function recordExecution(ledger: Ledger, opts: { principal: string; credentialId?: string; expiresAt?: number }): Promise<Execution> {
  const execution: Execution = {
    cid: newCid(), nonce: newNonce(), instanceId: 'test-seb', principal: opts.principal,
    ...(opts.credentialId ? { credentialId: opts.credentialId } : {}),
    expiresAt: opts.expiresAt ?? Math.floor(Date.now() / 1000) + 300,
  };
  const reserved = await ledger.reserveNonce({ cid: execution.cid, nonce: execution.nonce, subject: 'agent', instanceId: execution.instanceId, expiresAt: execution.expiresAt });
  if (!reserved.ok || reserved.value !== 'reserved') throw new Error(`reserving a nonce failed: ${JSON.stringify(reserved)}`);
  const recorded = await ledger.recordExecution(execution);
  if (!recorded.ok) throw new Error(`recording an execution failed: ${recorded.error.message}`);
  return execution;
}

export const jti = (): string => `JTI=${randomUUID()}`;
