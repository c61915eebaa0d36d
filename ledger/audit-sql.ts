// The audit record INSERT of Ledger.appendAudit, and AuditSeqTaken, the error audit/writer.ts resyncs its chain on.
// The commit and the outcome of an execution write their record in SQL (seb_insert_audit, migration 005), which
// raises SQLSTATE SEB01 with the stored hash for a taken seq; core.ts turns that into the same AuditSeqTaken.
import type { Session } from './backend.ts';
import type { AuditEntry } from './types.ts';

/** Thrown when (instanceId, seq) is already taken; carries the hash stored there so the writer can resync. */
export class AuditSeqTaken extends Error {
  readonly instanceId: string;
  readonly seq: number;
  readonly storedHash: string | undefined;
  constructor(instanceId: string, seq: number, storedHash: string | undefined) {
    super(`the audit chain of instance ${instanceId} already has a record ${seq}; another process uses this instance id, or an earlier write that timed out did commit`);
    this.instanceId = instanceId;
    this.seq = seq;
    this.storedHash = storedHash;
  }
}

/** One INSERT (plus a SELECT only when the seq is taken, then throws AuditSeqTaken); returns the record's id. */
export async function insertAuditRow(session: Session, row: AuditEntry): Promise<string> {
  const rows = await session.query<{ id: unknown }>(
    `INSERT INTO seb_audit (instance_id, seq, kind, cid, at, body, prev_hash, hash, signature)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9) ON CONFLICT (instance_id, seq) DO NOTHING RETURNING id`,
    [row.instanceId, row.seq, row.kind, row.cid ?? null, row.at, JSON.stringify(row.body), row.prevHash, row.hash, row.signature]);
  if (rows[0]) return String(rows[0].id);
  // DO NOTHING (rather than a unique violation) keeps a surrounding transaction usable for this read.
  const taken = await session.query<{ hash: string | null }>('SELECT hash FROM seb_audit WHERE instance_id = $1 AND seq = $2', [row.instanceId, row.seq]);
  throw new AuditSeqTaken(row.instanceId, row.seq, taken[0]?.hash ?? undefined);
}
