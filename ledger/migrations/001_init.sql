-- seb ledger schema, version 1. Applied by ledger/migrate.ts inside one transaction holding the migration
-- advisory lock; do not add BEGIN/COMMIT here. Released migrations never change: add 002_*.sql instead, and keep
-- changes additive so older seb processes keep working during a rolling upgrade.

-- Single-use nonces. The primary key is the replay check: INSERT ... ON CONFLICT DO NOTHING reserves atomically.
CREATE TABLE seb_nonces (
  cid         uuid        NOT NULL,
  nonce       text        NOT NULL,
  subject     text        NOT NULL,
  instance_id text        NOT NULL,
  reserved_at timestamptz NOT NULL DEFAULT now(),
  -- The certificate's expiry: a row past it can never be replayed (the validity stage rejects first) and may be purged.
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (cid, nonce)
);
CREATE INDEX seb_nonces_expires_at ON seb_nonces (expires_at);

-- The global epochs, one row each; bumped with UPDATE ... SET value = value + 1 (the row lock serialises bumps).
CREATE TABLE seb_epochs (
  name       text        PRIMARY KEY CHECK (name IN ('policy', 'revocation')),
  value      bigint      NOT NULL DEFAULT 0 CHECK (value >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO seb_epochs (name, value) VALUES ('policy', 0), ('revocation', 0);

-- Per-certificate revocations. uuid, not text, so an upper-case cid cannot slip past a lower-case revocation.
CREATE TABLE seb_revocations (
  cid        uuid        PRIMARY KEY,
  reason     text        NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT now()
);

-- Audit records (decisions and outcomes). seq numbers each instance's records 1, 2, 3, ... without gaps, handed
-- out by seb_audit_heads under its row lock; a later migration adds signatures and the hash chain (prev hash on
-- the head, hash and signature columns here).
CREATE TABLE seb_audit_heads (
  instance_id text   PRIMARY KEY,
  seq         bigint NOT NULL
);
CREATE TABLE seb_audit (
  id          bigserial   PRIMARY KEY,
  instance_id text        NOT NULL,
  seq         bigint      NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('decision', 'outcome')),
  -- The cid the attempt claimed: untrusted for denials, so text, not uuid (a malformed cid must not lose the record).
  cid         text,
  at          timestamptz NOT NULL,
  body        jsonb       NOT NULL,
  UNIQUE (instance_id, seq)
);
CREATE INDEX seb_audit_at ON seb_audit (at);
CREATE INDEX seb_audit_cid ON seb_audit (cid) WHERE cid IS NOT NULL;
