// The record format of the audit trail: what is hashed, what is signed, how both are encoded. Shared by the
// writer (seb serve) and the verifier (seb audit verify), so the two cannot drift apart.
//
//   hash      = sha256("seb-audit-record-v1\n" || RFC 8785 canonical JSON of
//                 {instanceId, seq, kind, cid (null when absent), at (ISO 8601, ms, UTC), body, prevHash}), lower-case hex
//   prevHash  = the hash of the instance's previous record; GENESIS (64 zeros) for seq 1
//   signature = Ed25519 (RFC 8032, pure) by the instance's audit key over the 32 raw hash bytes, base64
//   publicKey = the instance's Ed25519 public key, SPKI DER, base64 (registered in seb_audit_keys)
import canonicalize from 'canonicalize';
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { AuditEntry } from '../ledger/types.ts';

export const GENESIS = '0'.repeat(64);
const DOMAIN = 'seb-audit-record-v1\n';

/** A record before it is hashed and signed: the stored row without its hash and signature. */
export type Unsigned = Omit<AuditEntry, 'hash' | 'signature'>;

export function recordHash(r: Unsigned): string {
  const canonical = canonicalize({ instanceId: r.instanceId, seq: r.seq, kind: r.kind, cid: r.cid ?? null, at: r.at.toISOString(), body: r.body, prevHash: r.prevHash });
  if (canonical === undefined) throw new Error('an audit record has no canonical form');
  return createHash('sha256').update(DOMAIN).update(canonical).digest('hex');
}

export function signHash(hash: string, privateKey: KeyObject): string {
  return sign(null, Buffer.from(hash, 'hex'), privateKey).toString('base64');
}

export function signatureValid(hash: string, signature: string, publicKey: KeyObject): boolean {
  if (!/^[0-9a-f]{64}$/.test(hash)) return false;
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length !== 64 || bytes.toString('base64') !== signature) return false;
  try {
    return verify(null, Buffer.from(hash, 'hex'), publicKey, bytes);
  } catch {
    return false;
  }
}

export function publicKeyBase64(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** The registered key as a KeyObject, or undefined when it is not an Ed25519 SPKI key. */
export function importPublicKey(base64: string): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The body as the ledger will give it back: plain JSON (undefined dropped), no NUL characters and no lone
 * surrogates (PostgreSQL jsonb rejects both, and a record that cannot be stored would deny the mutation). */
export function storableBody(body: object): object {
  return clean(JSON.parse(JSON.stringify(body)) as unknown) as object;
}

/** Text PostgreSQL can store: no NUL, no lone surrogates (each becomes U+FFFD). */
export const cleanText = (s: string): string => s.toWellFormed().replaceAll('\u0000', '\uFFFD');

function clean(value: unknown): unknown {
  if (typeof value === 'string') return cleanText(value);
  if (Array.isArray(value)) return value.map(clean);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [cleanText(k), clean(v)]));
  return value;
}

/** Marks audit lines among the JSON logs on stdout, for log shippers to route them. */
export const AUDIT_LINE_TYPE = 'seb.audit';

/** The row as one JSON line (the streamed and exported form). */
export function auditLine(row: AuditEntry & { readonly id?: string }): string {
  return JSON.stringify({
    type: AUDIT_LINE_TYPE,
    ...(row.id === undefined ? {} : { id: row.id }),
    instanceId: row.instanceId, seq: row.seq, kind: row.kind, cid: row.cid ?? null, at: row.at.toISOString(),
    body: row.body, prevHash: row.prevHash, hash: row.hash, signature: row.signature,
  });
}
