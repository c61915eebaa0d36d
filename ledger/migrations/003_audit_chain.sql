-- seb ledger schema, version 3: the signed, hash-chained audit trail. Additive: rows written before this version
-- keep NULL chain columns (seb audit verify reports them as unsigned). Each seb instance generates an Ed25519 key
-- at start and registers its public key here before its first record; its audit writer hands out seq itself
-- (instance ids are unique per process), so seb_audit_heads from version 1 is no longer written or read. It stays
-- for processes of an older version during a rolling upgrade.
CREATE TABLE seb_audit_keys (
  instance_id   text        PRIMARY KEY,
  -- Ed25519 public key, SPKI DER, base64.
  public_key    text        NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT now()
);

-- prev_hash and hash: sha256, 64 lower-case hex; signature: Ed25519 over the hash bytes, base64 (audit/chain.ts).
ALTER TABLE seb_audit ADD COLUMN prev_hash text CHECK (prev_hash ~ '^[0-9a-f]{64}$');
ALTER TABLE seb_audit ADD COLUMN hash text CHECK (hash ~ '^[0-9a-f]{64}$');
ALTER TABLE seb_audit ADD COLUMN signature text;
