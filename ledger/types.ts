// The shared ledger: reserved nonces, the policy and revocation epochs, per-certificate revocations and audit
// records. One interface, two backends (PostgreSQL for a fleet, embedded PGlite for one machine) running the same
// SQL. Every method returns its failure as a value (SEB_LEDGER_UNAVAILABLE, with a message telling the operator
// what to do) within ledger.timeoutMs: the verification pipeline denies the mutation and never hangs on the ledger.
import type { SebError } from '../errors/codes.ts';
import type { SignedAuditRow } from '../audit/writer.ts';

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

/** One signed, hash-chained audit record as the ledger stores it (audit/chain.ts computes hash and signature). */
export interface AuditEntry {
  readonly instanceId: string;
  /** 1, 2, 3, ... per instanceId, without gaps, handed out by the instance's audit writer. */
  readonly seq: number;
  readonly kind: AuditKind;
  /** The certificate the attempt claimed, if any (untrusted for denials, so stored as text, not checked). */
  readonly cid?: string;
  readonly at: Date;
  readonly body: object;
  /** Hash of the instance's previous record (64 lower-case hex; 64 zeros for seq 1). */
  readonly prevHash: string;
  /** sha256, 64 lower-case hex, over the record's canonical form (audit/chain.ts). */
  readonly hash: string;
  /** Ed25519 signature of the hash by the instance's audit key, base64. */
  readonly signature: string;
}

export interface AuditRecord extends AuditEntry {
  /** Ledger-wide id (bigserial, as a decimal string: it may outgrow a JS number). */
  readonly id: string;
}

/** An instance's audit public key, registered before its first record. */
export interface AuditKey {
  readonly instanceId: string;
  /** Ed25519 public key, SPKI DER, base64. */
  readonly publicKey: string;
  readonly registeredAt: Date;
}

export interface AuditQuery {
  /** Records at or after this time. */
  readonly since?: Date;
  /** Records with an id greater than this one (a cursor: pass the last id of the previous page). */
  readonly afterId?: string;
  /** At most this many records, 1 to 10000, oldest first. */
  readonly limit: number;
  /** 'id' (default): ledger-wide in the order written. 'chain': by instance id, then seq (the order verify walks
   * the chains in); page with afterChain. 'latest': the newest `limit` records, oldest first (for tail). */
  readonly order?: 'id' | 'chain' | 'latest';
  /** With order 'chain': records after this (instanceId, seq) position. */
  readonly afterChain?: { readonly instanceId: string; readonly seq: number };
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
  /** Set when read back: the execution's outcome is recorded, so its credential has no business left. */
  readonly finished?: boolean;
}

export interface ExecutionCommit {
  readonly reservation: NonceReservation;
  readonly execution: Execution;
  /** The certificate's epochs: the commit fails if the ledger has moved past them. */
  readonly policyEpoch: number;
  readonly revocationEpoch: number;
  readonly decision?: SignedAuditRow;
}

export interface ExecutionFinish {
  readonly cid: string;
  readonly nonce: string;
  readonly result: 'completed' | 'uncertain' | 'not_forwarded';
  readonly outcome?: SignedAuditRow;
  /** Crash recovery by another seb: record only while the execution's instance has been silent for longer than
   * this, ms (see Ledger.abandonedExecutions), so an instance that came back in between keeps its execution. */
  readonly ifInstanceSilentMs?: number;
}

export interface SubscriptionHandlers {
  onEpoch(name: EpochName, value: number): void;
  onRevoked(cid: string, reason: string, revokedAt: Date): void;
  /** The notification connection is gone; the subscription is dead (subscribe again). */
  onLost(reason: string): void;
}

export interface Subscription {
  /** Reads the epochs over the notification connection itself, proving it is alive and caught up. */
  epochs(): Promise<LedgerResult<Epochs>>;
  close(): Promise<void>;
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
  /** Stores one signed record (audit/writer.ts makes them); fails if (instanceId, seq) is taken. */
  appendAudit(entry: AuditEntry): Promise<LedgerResult<{ readonly id: string }>>;
  /** Registers an instance's audit public key; idempotent for the same key, an error for a different one. */
  registerAuditKey(key: { readonly instanceId: string; readonly publicKey: string }): Promise<LedgerResult<void>>;
  /** Every registered audit key, by instance id. */
  auditKeys(): Promise<LedgerResult<readonly AuditKey[]>>;
  /** Records an execution (its nonce must be reserved); written before the call goes upstream. */
  recordExecution(execution: Execution): Promise<LedgerResult<void>>;
  /** The execution a minted credential belongs to, for the admission webhook. */
  executionByCredential(credentialId: string): Promise<LedgerResult<Execution | undefined>>;
  /** A cheap read before the concurrent stages: has this nonce been used, is the certificate revoked? (The
   * authoritative answer is commitExecution's, in one transaction; this only spares a mint for a replay.) */
  precheck(cid: string, nonce: string): Promise<LedgerResult<{ readonly nonceUsed: boolean } & RevocationStatus>>;
  /** One statement (a transaction on its own): re-checks the epochs and the certificate's revocation, reserves the
   * nonce, writes the execution and (when given) the decision record. Fails with SEB_REPLAY, SEB_REVOKED,
   * SEB_POLICY_EPOCH, SEB_REVOCATION_UNKNOWN or SEB_LEDGER_UNAVAILABLE and then writes nothing (but for an answer
   * lost after the statement committed): a nonce is never reserved without its decision record. */
  commitExecution(commit: ExecutionCommit): Promise<LedgerResult<void>>;
  /** Marks an execution finished (completed or uncertain) and writes its outcome record, in one transaction. Only
   * while it has no outcome: exactly one of several callers racing to record one succeeds; the others get
   * SEB_INTERNAL and write nothing. */
  finishExecution(finish: ExecutionFinish): Promise<LedgerResult<void>>;
  /** Executions without an outcome whose instance id starts with prefix, other than instanceId (crash recovery). */
  unfinishedExecutions(prefix: string, instanceId: string): Promise<LedgerResult<readonly Execution[]>>;
  /** Records that this seb instance is alive now (ledger time); the first call registers it. */
  heartbeat(instanceId: string): Promise<LedgerResult<void>>;
  /** Executions without an outcome, other than instanceId's, committed over silentMs ago by an instance not seen
   * (heartbeat) within silentMs: left by a seb that died (crash recovery across the fleet; at most 1000 a call). */
  abandonedExecutions(silentMs: number, instanceId: string): Promise<LedgerResult<readonly Execution[]>>;
  /** A connection that receives epoch and revocation notifications (LISTEN/NOTIFY; in-process for PGlite). */
  subscribe(handlers: SubscriptionHandlers): Promise<LedgerResult<Subscription>>;
  listAudit(query: AuditQuery): Promise<LedgerResult<readonly AuditRecord[]>>;
  /** One cheap round trip. */
  health(): Promise<LedgerResult<LedgerHealth>>;
  /** Idempotent and bounded (a hung database cannot block shutdown); later calls return SEB_LEDGER_UNAVAILABLE. */
  close(): Promise<void>;
}
