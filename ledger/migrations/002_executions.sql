-- seb ledger schema, version 2: executions. One row per certified mutation seb executes, written before the call
-- goes upstream, so the admission webhook can tie an executor credential (a Kubernetes token's credential id /
-- JTI, an STS session) to the certificate it was minted for.
CREATE TABLE seb_executions (
  cid           uuid        NOT NULL,
  nonce         text        NOT NULL,
  instance_id   text        NOT NULL,
  principal     text        NOT NULL,
  -- The minted credential's own id (Kubernetes: authentication.kubernetes.io/credential-id, "JTI=<jti>").
  credential_id text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  PRIMARY KEY (cid, nonce),
  FOREIGN KEY (cid, nonce) REFERENCES seb_nonces (cid, nonce)
);
CREATE UNIQUE INDEX seb_executions_credential ON seb_executions (credential_id) WHERE credential_id IS NOT NULL;
