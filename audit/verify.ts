// Verifies the audit trail: per instance, every record's signature (by the instance's registered key), its hash
// (recomputed from its content), seq continuity from 1 and the prevHash links. Records arrive in chain order
// (instance id, then seq) page by page, so memory stays flat however long the trail is. For each instance the
// first bad record is named with the reason an auditor needs:
//   modified       the content no longer matches its signed hash (a field was edited)
//   reordered      the content matches its signed hash under another seq (seq values were swapped / renumbered)
//   deleted        seq jumps: the records in between are missing
//   inserted       a record with a valid signature whose prevHash does not name its predecessor
//   bad-signature  the stored hash is not signed by the instance's key (forged record, or hash/signature edited)
//   unknown-key    no key is registered for the instance (records written by someone other than seb)
//   unsigned       no hash or signature (written before migration 003, or stripped)
//   duplicate      a seq appears twice (the UNIQUE (instance_id, seq) constraint was dropped)
// With a copy of the trail kept elsewhere (the streamed JSON lines, an earlier export), also:
//   differs-from-copy  the record's hash or signature differs from the copy's (re-signed, e.g. under a replaced key)
//   deleted            a record in the copy is missing from the ledger (this catches a truncated tail too)
import type { KeyObject } from 'node:crypto';
import type { AuditKey, AuditRecord } from '../ledger/types.ts';
import { GENESIS, importPublicKey, recordHash, signatureValid } from './chain.ts';

export type Fault = 'modified' | 'reordered' | 'deleted' | 'inserted' | 'bad-signature' | 'unknown-key' | 'unsigned' | 'duplicate' | 'differs-from-copy';

export interface BadRecord {
  readonly instanceId: string;
  readonly seq: number;
  /** The ledger id of the record found at fault (for deleted: the first record after the gap; '-' when none is). */
  readonly id: string;
  readonly fault: Fault;
  readonly why: string;
}

export interface ChainReport {
  readonly instanceId: string;
  /** Records of this instance read (including those after a bad one, which are not checked further). */
  readonly records: number;
  readonly lastSeq: number;
  /** Registered key but no records yet: nothing to check. */
  readonly hasKey: boolean;
  readonly bad?: BadRecord;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly records: number;
  readonly chains: readonly ChainReport[];
}

/** A trusted copy of (part of) the trail: "instanceId#seq" → the hash and signature it had when copied. */
export type TrailCopy = ReadonlyMap<string, { readonly hash: string; readonly signature: string }>;

/** How far from its position a reordered record's signed seq is searched for (on the failure path only). */
const REORDER_WINDOW = 4096;

export async function verifyTrail(pages: AsyncIterable<readonly AuditRecord[]>, keys: readonly AuditKey[], copy?: TrailCopy): Promise<VerifyReport> {
  const registered = new Map(keys.map((k) => [k.instanceId, k.publicKey]));
  // Seqs of the copy per instance, ascending, to find the copied records the ledger no longer has.
  const copied = new Map<string, number[]>();
  for (const key of copy?.keys() ?? []) {
    const at = key.lastIndexOf('#');
    const instanceId = key.slice(0, at);
    const seqs = copied.get(instanceId) ?? [];
    seqs.push(Number(key.slice(at + 1)));
    copied.set(instanceId, seqs);
  }
  for (const seqs of copied.values()) seqs.sort((a, b) => a - b);
  const seen = new Set<string>();
  const chains: ChainReport[] = [];
  let total = 0;
  let current: { instanceId: string; key: KeyObject | undefined; records: number; lastSeq: number; lastHash: string; bad?: BadRecord } | undefined;

  const finish = () => {
    if (!current) return;
    const missing = (copied.get(current.instanceId) ?? []).find((seq) => !seen.has(`${current!.instanceId}#${seq}`));
    if (missing !== undefined && (!current.bad || missing < current.bad.seq)) {
      current.bad = { instanceId: current.instanceId, seq: missing, id: '-', fault: 'deleted', why: `record ${missing} is in the copy but not in the ledger: deleted` };
    }
    copied.delete(current.instanceId);
    seen.clear();
    chains.push({ instanceId: current.instanceId, records: current.records, lastSeq: current.lastSeq, hasKey: registered.has(current.instanceId), ...(current.bad ? { bad: current.bad } : {}) });
    registered.delete(current.instanceId);
  };

  for await (const page of pages) {
    for (const record of page) {
      total++;
      if (current?.instanceId !== record.instanceId) {
        finish();
        const encoded = registered.get(record.instanceId);
        current = { instanceId: record.instanceId, key: encoded === undefined ? undefined : importPublicKey(encoded), records: 0, lastSeq: 0, lastHash: GENESIS };
      }
      current.records++;
      const inCopy = copy?.get(`${record.instanceId}#${record.seq}`);
      if (inCopy) seen.add(`${record.instanceId}#${record.seq}`);
      if (current.bad) continue; // after the first bad record the chain proves nothing more
      const bad = checkRecord(record, current.key, registered.has(record.instanceId), current.lastSeq, current.lastHash)
        ?? (inCopy && (inCopy.hash !== record.hash || inCopy.signature !== record.signature)
          ? { instanceId: record.instanceId, seq: record.seq, id: record.id, fault: 'differs-from-copy' as const, why: 'its hash or signature differs from the copy\'s: the record was rewritten and re-signed (e.g. under a replaced key)' }
          : undefined);
      if (bad) current.bad = bad;
      else {
        current.lastSeq = record.seq;
        current.lastHash = record.hash;
      }
    }
  }
  finish();
  // Instances in the copy of which the ledger has no record at all.
  for (const [instanceId, seqs] of copied) {
    chains.push({ instanceId, records: 0, lastSeq: 0, hasKey: registered.delete(instanceId), bad: { instanceId, seq: seqs[0]!, id: '-', fault: 'deleted', why: `the copy has ${seqs.length} record(s) of this instance and the ledger none: deleted` } });
  }
  // Instances that registered a key and wrote nothing (yet).
  for (const instanceId of registered.keys()) chains.push({ instanceId, records: 0, lastSeq: 0, hasKey: true });
  chains.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
  return { ok: chains.every((c) => !c.bad), records: total, chains };
}

function checkRecord(r: AuditRecord, key: KeyObject | undefined, hasKey: boolean, lastSeq: number, lastHash: string): BadRecord | undefined {
  const bad = (fault: Fault, why: string, seq = r.seq): BadRecord => ({ instanceId: r.instanceId, seq, id: r.id, fault, why });
  if (r.hash === '' || r.signature === '') return bad('unsigned', 'the record has no hash or signature (written before ledger schema 3, or they were removed)');
  if (!hasKey) return bad('unknown-key', `no audit key is registered for instance ${r.instanceId}: seb did not write this chain (or its key row was deleted)`);
  if (!key) return bad('unknown-key', `the audit key registered for instance ${r.instanceId} is not an Ed25519 public key (the key row was altered)`);
  if (!signatureValid(r.hash, r.signature, key)) {
    return bad('bad-signature', 'its signature does not verify with the instance\'s key: the record was forged (inserted) or its hash or signature was edited');
  }
  if (recordHash(r) !== r.hash) {
    const signedAs = signedSeq(r);
    return signedAs === undefined
      ? bad('modified', 'its content no longer matches its signed hash: a field (body, time, kind, cid or prevHash) was edited')
      : bad('reordered', `it was signed as record ${signedAs} but is stored as record ${r.seq}: records were reordered or renumbered`);
  }
  if (r.seq <= lastSeq) return bad('duplicate', `record ${r.seq} appears more than once`);
  if (r.seq !== lastSeq + 1) {
    const missing = r.seq === lastSeq + 2 ? `record ${lastSeq + 1} is` : `records ${lastSeq + 1}-${r.seq - 1} are`;
    return bad('deleted', `${missing} missing: the chain jumps from ${lastSeq === 0 ? 'its start' : `record ${lastSeq}`} to record ${r.seq} (id ${r.id}); deleted`, lastSeq + 1);
  }
  if (r.prevHash !== lastHash) {
    return bad('inserted', `its prevHash does not name record ${lastSeq}: the record before it was replaced, or this one was inserted from another chain`);
  }
  return undefined;
}

/** The seq this record's hash was computed for, if another seq near its position reproduces it. */
function signedSeq(r: AuditRecord): number | undefined {
  for (let d = 1; d <= REORDER_WINDOW; d++) {
    for (const seq of [r.seq - d, r.seq + d]) {
      if (seq >= 1 && recordHash({ ...r, seq }) === r.hash) return seq;
    }
  }
  return undefined;
}

/** Reads a copy of the trail from JSON lines (the streamed form or `seb audit export`); other lines, such as the
 * JSON logs beside the records on stdout, are skipped. A malformed audit line is an error naming it. */
export function parseTrailCopy(text: string): { ok: true; copy: TrailCopy; records: number } | { ok: false; error: string } {
  const copy = new Map<string, { hash: string; signature: string }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{') || !line.includes('"seb.audit"')) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue; // not JSON at all: some other output that happens to mention seb.audit
    }
    const r = record as { type?: unknown; instanceId?: unknown; seq?: unknown; hash?: unknown; signature?: unknown };
    if (r.type !== 'seb.audit') continue;
    if (typeof r.instanceId !== 'string' || !Number.isSafeInteger(r.seq) || typeof r.hash !== 'string' || typeof r.signature !== 'string') {
      return { ok: false, error: `line ${i + 1} is an audit record without instanceId, seq, hash and signature` };
    }
    copy.set(`${r.instanceId}#${String(r.seq)}`, { hash: r.hash, signature: r.signature });
  }
  return { ok: true, copy, records: copy.size };
}
