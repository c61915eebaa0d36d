// The audit writer of one seb instance: signs each record with the instance's own Ed25519 key, chains it to the
// previous one, persists it, then streams it. Appends run one at a time (a promise queue), so seq has no gaps and
// prevHash always names the record persisted before; the head moves only when persisting succeeded.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sebError } from '../errors/codes.ts';
import { AuditSeqTaken } from '../ledger/audit-sql.ts';
import type { AuditEntry, Ledger, LedgerResult } from '../ledger/types.ts';
import { auditLine, cleanText, GENESIS, publicKeyBase64, recordHash, signHash, storableBody } from './chain.ts';
import type { DecisionBody, OutcomeBody } from './records.ts';

/** Exactly what the ledger stores. */
export type SignedAuditRow = AuditEntry;

export interface AuditWriter {
  readonly instanceId: string;
  /** The instance's audit public key as registered (SPKI DER, base64). */
  readonly publicKey: string;
  /** Signs and chains the next record and persists it; the chain head advances only if persisting succeeds.
   * Appends of one writer are serialised, so seq has no gaps and prevHash always names the previously persisted
   * record. `persist` defaults to ledger.appendAudit(row); a caller passes its own to write the row in the same
   * transaction as other rows (it must either commit the row or fail). Streams the row as one JSON line to the
   * sink once persisted. */
  append<T = void>(kind: 'decision' | 'outcome', body: DecisionBody | OutcomeBody, cid: string | undefined,
                   persist?: (row: SignedAuditRow) => Promise<LedgerResult<T>>): Promise<LedgerResult<T>>;
}

export interface AuditWriterDeps {
  readonly ledger: Pick<Ledger, 'appendAudit' | 'registerAuditKey'>;
  readonly instanceId: string;
  readonly sink?: (line: string) => void;
  readonly now?: () => Date;
}

/** Generates the instance's key, registers its public key in the ledger and returns the writer. */
export async function createAuditWriter(deps: AuditWriterDeps): Promise<LedgerResult<AuditWriter>> {
  const { ledger, instanceId, sink, now = () => new Date() } = deps;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const registered = await ledger.registerAuditKey({ instanceId, publicKey: publicKeyBase64(publicKey) });
  if (!registered.ok) return registered;
  return { ok: true, value: chainWriter(instanceId, publicKeyBase64(publicKey), privateKey, ledger, sink, now) };
}

function chainWriter(instanceId: string, publicKey: string, privateKey: KeyObject, ledger: Pick<Ledger, 'appendAudit'>,
                     sink: ((line: string) => void) | undefined, now: () => Date): AuditWriter {
  let head = { seq: 0, hash: GENESIS };
  // Rows whose persist failed at the current head seq, by hash: a write that timed out may still have committed.
  let unsure = new Map<string, SignedAuditRow>();
  let queue: Promise<unknown> = Promise.resolve();

  const defaultPersist = async <T>(row: SignedAuditRow): Promise<LedgerResult<T>> => {
    const stored = await ledger.appendAudit(row);
    return stored.ok ? { ok: true, value: undefined as T } : stored;
  };

  const sign = (kind: SignedAuditRow['kind'], body: object, cid: string | undefined): SignedAuditRow => {
    const unsigned = { instanceId, seq: head.seq + 1, kind, ...(cid === undefined ? {} : { cid }), at: now(), body, prevHash: head.hash };
    const hash = recordHash(unsigned);
    return { ...unsigned, hash, signature: signHash(hash, privateKey) };
  };

  const advance = (row: SignedAuditRow) => {
    head = { seq: row.seq, hash: row.hash };
    unsure = new Map();
    try {
      sink?.(auditLine(row));
    } catch {
      // The stream is a copy for log shippers; the stored row is the record (see audit/sink.ts).
    }
  };

  async function appendNow<T>(kind: SignedAuditRow['kind'], body: object, cid: string | undefined,
                              persist: (row: SignedAuditRow) => Promise<LedgerResult<T>>): Promise<LedgerResult<T>> {
    let stored: object;
    try {
      stored = storableBody(body);
    } catch (cause) {
      return { ok: false, error: sebError('SEB_INTERNAL', `seb built an audit record it cannot serialise (${String(cause)}); this is a bug in seb, please report it`, cause) };
    }
    const storedCid = cid === undefined ? undefined : cleanText(cid);
    // At most two tries: the second only after learning that an earlier, seemingly failed write of ours committed.
    for (let attempt = 0; attempt < 2; attempt++) {
      const row = sign(kind, stored, storedCid);
      let result: LedgerResult<T>;
      try {
        result = await persist(row);
      } catch (cause) {
        result = { ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', `the audit record ${instanceId}#${row.seq} could not be written (${String(cause)}); mutations are denied until it can`, cause) };
      }
      if (result.ok) {
        advance(row);
        return result;
      }
      const taken = seqTaken(result.error.cause);
      const ours = taken?.seq === row.seq && taken.storedHash !== undefined ? unsure.get(taken.storedHash) : undefined;
      if (ours) {
        advance(ours); // it was ours after all: chain on from it and try again
        continue;
      }
      unsure.set(row.hash, row);
      return result;
    }
    return { ok: false, error: sebError('SEB_LEDGER_UNAVAILABLE', `the audit chain of instance ${instanceId} could not be resynchronised with the ledger; mutations are denied until it can`) };
  }

  return {
    instanceId,
    publicKey,
    append<T = void>(kind: SignedAuditRow['kind'], body: DecisionBody | OutcomeBody, cid: string | undefined,
                     persist?: (row: SignedAuditRow) => Promise<LedgerResult<T>>): Promise<LedgerResult<T>> {
      const next = queue.then(() => appendNow(kind, body, cid, persist ?? defaultPersist<T>));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

function seqTaken(cause: unknown): AuditSeqTaken | undefined {
  return cause instanceof AuditSeqTaken ? cause : undefined;
}
