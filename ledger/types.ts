// The shared ledger: reserved nonces, the policy and revocation epochs, per-certificate revocations and audit
// records. One interface, two backends (PostgreSQL for a fleet, embedded PGlite for one machine) running the same
// SQL. Every method returns its failure as a value (SEB_LEDGER_UNAVAILABLE, with a message telling the operator
// what to do) within ledger.timeoutMs: the verification pipeline denies the mutation and never hangs on the ledger.
import type { SebError } from '../errors/codes.ts';

export type LedgerResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: SebError };

export type EpochName = 'policy' | 'revocation';

export interface Epochs {
  readonly policy: number;
  readonly revocation: number;
}

export interface NonceReservation {
  /** Certificate id, a UUID. */
  readonly cid: string;
  readonly nonce: string;
  /** The agent the certificate was issued to (payload.sub). */
  readonly subject: string;
  /** The seb process reserving it. */
  readonly instanceId: string;
  /** The certificate's expiry, integer seconds since the Unix epoch (payload.exp); after it the row may be purged. */
  readonly expiresAt: number;
}

export type RevocationStatus =
  | { readonly revoked: false }
  | { readonly revoked: true; readonly reason: string; readonly revokedAt: Date };

/** What the pipeline reads on every mutation, in one round trip: both epochs and this certificate's revocation. */
export type RevocationView = { readonly epochs: Epochs } & RevocationStatus;

export interface Revocation {
  readonly reason: string;
  readonly revokedAt: Date;
  /** false: the certificate was already revoked; the first reason and time are kept. */
  readonly newly: boolean;
}

export type AuditKind = 'decision' | 'outcome';

export interface AuditEntry {
  readonly instanceId: string;
  readonly kind: AuditKind;
  /** The certificate the attempt claimed, if any (untrusted for denials, so stored as text, not checked). */
  readonly cid?: string;
  readonly at: Date;
  readonly body: object;
}

export interface AuditRecord extends AuditEntry {
  /** Ledger-wide id (bigserial, as a decimal string: it may outgrow a JS number). */
  readonly id: string;
  /** 1, 2, 3, ... per instanceId, without gaps: the order a later hash chain links records in. */
  readonly seq: number;
}

export interface AuditQuery {
  /** Records at or after this time. */
  readonly since?: Date;
  /** Records with an id greater than this one (a cursor: pass the last id of the previous page). */
  readonly afterId?: string;
  /** At most this many records, 1 to 10000, oldest first. */
  readonly limit: number;
}

/** A certified mutation seb is about to execute, under the identity minted for it. */
export interface Execution {
  readonly cid: string;
  readonly nonce: string;
  readonly instanceId: string;
  /** The executor identity, e.g. "system:serviceaccount:shop:seb-executor". */
  readonly principal: string;
  /** The minted credential's id, when the platform reports one (Kubernetes "JTI=..."). */
  readonly credentialId?: string;
  /** Seconds since the Unix epoch. */
  readonly expiresAt: number;
}

export interface LedgerHealth {
  readonly backend: 'postgres' | 'pglite';
  readonly latencyMs: number;
}

export interface Ledger {
  readonly backend: 'postgres' | 'pglite';
  /** Where the ledger lives, for messages: "PostgreSQL ledger at postgres://db:5432/seb", "embedded ledger at /x". */
  readonly where: string;
  /** Schema version after open, and the migrations this open applied (empty when the schema was current). */
  readonly schema: { readonly version: number; readonly applied: readonly number[] };

  /** Atomic: exactly one reservation of (cid, nonce) across every seb sharing the ledger gets 'reserved'. */
  reserveNonce(reservation: NonceReservation): Promise<LedgerResult<'reserved' | 'replay'>>;
  epochs(): Promise<LedgerResult<Epochs>>;
  /** Increments atomically and returns the new value; NOTIFY seb_epochs in the same transaction. */
  bumpEpoch(name: EpochName): Promise<LedgerResult<number>>;
  /** Idempotent; NOTIFY seb_revocations in the same transaction when newly revoked. */
  revoke(cid: string, reason: string): Promise<LedgerResult<Revocation>>;
  revocationStatus(cid: string): Promise<LedgerResult<RevocationStatus>>;
  revocationView(cid: string): Promise<LedgerResult<RevocationView>>;
  appendAudit(entry: AuditEntry): Promise<LedgerResult<{ readonly id: string; readonly seq: number }>>;
  /** Records an execution (its nonce must be reserved); written before the call goes upstream. */
  recordExecution(execution: Execution): Promise<LedgerResult<void>>;
  /** The execution a minted credential belongs to, for the admission webhook. */
  executionByCredential(credentialId: string): Promise<LedgerResult<Execution | undefined>>;
  listAudit(query: AuditQuery): Promise<LedgerResult<readonly AuditRecord[]>>;
  /** One cheap round trip. */
  health(): Promise<LedgerResult<LedgerHealth>>;
  /** Idempotent and bounded (a hung database cannot block shutdown); later calls return SEB_LEDGER_UNAVAILABLE. */
  close(): Promise<void>;
}
