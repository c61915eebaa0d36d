-- seb ledger schema, version 5: instance liveness, and the commit and the outcome of an execution as one statement
-- each (one round trip instead of a transaction of five to seven). Additive: older seb processes keep using the
-- tables directly during a rolling upgrade, and the functions take the same locks in the same order they do.

-- Every seb process records itself here at start and refreshes last_seen every few seconds (ledger time, so the
-- clocks of the pods do not matter). An execution without an outcome whose instance has not been seen for longer
-- than ledger.instanceDeadAfterMs was left by a seb that died: any other seb records it as uncertain.
CREATE TABLE seb_instances (
  instance_id text        PRIMARY KEY,
  started_at  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now()
);

-- Whether an execution's instance has been silent for longer than p_silent_ms. The execution's own commit counts
-- as a sign of life (its instance was alive then), so an instance with no row at all (a seb of an older version,
-- one whose first heartbeat did not land, one that shut down and removed its row) is judged by that alone.
CREATE FUNCTION seb_instance_silent(p_instance_id text, p_created_at timestamptz, p_silent_ms bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT p_created_at < now() - p_silent_ms * interval '1 millisecond'
     AND NOT EXISTS (SELECT 1 FROM seb_instances i
                     WHERE i.instance_id = p_instance_id AND i.last_seen >= now() - p_silent_ms * interval '1 millisecond')
$$;

-- The audit INSERT of ledger/audit-sql.ts. A taken (instance_id, seq) raises SQLSTATE SEB01 with the stored hash as
-- its DETAIL (empty for a row without one): the statement, and so everything written with the record, is undone,
-- and the caller turns it into AuditSeqTaken so the audit writer can resync its chain.
CREATE FUNCTION seb_insert_audit(p_instance_id text, p_seq bigint, p_kind text, p_cid text, p_at timestamptz, p_body jsonb,
                                 p_prev_hash text, p_hash text, p_signature text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
  v_hash text;
BEGIN
  INSERT INTO seb_audit (instance_id, seq, kind, cid, at, body, prev_hash, hash, signature)
  VALUES (p_instance_id, p_seq, p_kind, p_cid, p_at, p_body, p_prev_hash, p_hash, p_signature)
  ON CONFLICT (instance_id, seq) DO NOTHING RETURNING id INTO v_id;
  IF v_id IS NOT NULL THEN
    RETURN v_id;
  END IF;
  SELECT a.hash INTO v_hash FROM seb_audit a WHERE a.instance_id = p_instance_id AND a.seq = p_seq;
  RAISE EXCEPTION USING ERRCODE = 'SEB01', DETAIL = coalesce(v_hash, ''),
    MESSAGE = format('the audit chain of instance %s already has a record %s', p_instance_id, p_seq);
END
$$;

-- The caller stops waiting after p_budget_ms (ledger.timeoutMs less what it spent before sending). A statement still
-- running then must not commit behind its back, as a transaction the caller abandoned before COMMIT would not:
-- called last, this undoes the statement (SQLSTATE SEB02) once the budget is spent.
CREATE FUNCTION seb_within_budget(p_budget_ms double precision) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_budget_ms IS NOT NULL AND clock_timestamp() > statement_timestamp() + p_budget_ms * interval '1 millisecond' THEN
    RAISE EXCEPTION USING ERRCODE = 'SEB02', MESSAGE = format('the statement outlasted its caller''s budget of %s ms and was undone', round(p_budget_ms));
  END IF;
END
$$;

-- Ledger.commitExecution in one statement (an implicit transaction). The certificate's advisory lock first (revoke
-- takes it too: a revocation and this commit are ordered one after the other), then the epoch rows FOR SHARE (an
-- epoch bump and this commit are ordered too), then the checks in the order core.ts reports them; each statement of
-- a VOLATILE function takes a fresh snapshot, so the reads after the lock see whatever committed while it waited.
-- Returns the status and what core.ts needs to word the denial; a denial writes nothing.
CREATE FUNCTION seb_commit_execution(
  p_cid text, p_nonce text, p_subject text, p_reserved_by text, p_nonce_expires double precision,
  p_instance_id text, p_principal text, p_credential_id text, p_expires double precision,
  p_policy_epoch bigint, p_revocation_epoch bigint,
  p_audit_instance_id text, p_audit_seq bigint, p_audit_kind text, p_audit_cid text, p_audit_at timestamptz, p_audit_body jsonb,
  p_audit_prev_hash text, p_audit_hash text, p_audit_signature text, p_budget_ms double precision)
RETURNS TABLE (r_status text, r_policy bigint, r_revocation bigint, r_reason text, r_revoked_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_policy bigint;
  v_revocation bigint;
  v_reason text;
  v_revoked_at timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(lower(p_cid), 0));
  SELECT e.policy, e.revocation, r.reason, r.revoked_at INTO v_policy, v_revocation, v_reason, v_revoked_at
  FROM (SELECT max(value) FILTER (WHERE name = 'policy') AS policy, max(value) FILTER (WHERE name = 'revocation') AS revocation
        FROM (SELECT name, value FROM seb_epochs FOR SHARE) locked) e
  LEFT JOIN seb_revocations r ON r.cid = p_cid::uuid;
  r_policy := v_policy;
  r_revocation := v_revocation;
  r_reason := v_reason;
  r_revoked_at := v_revoked_at;
  IF v_policy IS NULL OR v_revocation IS NULL THEN
    r_status := 'epochs_missing';
  ELSIF p_policy_epoch <> v_policy THEN
    r_status := 'policy_epoch';
  ELSIF p_revocation_epoch < v_revocation THEN
    r_status := 'revoked_epoch';
  ELSIF p_revocation_epoch > v_revocation THEN
    r_status := 'revocation_unknown';
  ELSIF v_reason IS NOT NULL AND v_revoked_at IS NOT NULL THEN
    r_status := 'revoked';
  ELSE
    INSERT INTO seb_nonces (cid, nonce, subject, instance_id, expires_at)
    VALUES (p_cid::uuid, p_nonce, p_subject, p_reserved_by, to_timestamp(p_nonce_expires))
    ON CONFLICT (cid, nonce) DO NOTHING;
    IF NOT FOUND THEN
      r_status := 'replay';
    ELSE
      INSERT INTO seb_executions (cid, nonce, instance_id, principal, credential_id, expires_at)
      VALUES (p_cid::uuid, p_nonce, p_instance_id, p_principal, p_credential_id, to_timestamp(p_expires));
      IF p_audit_hash IS NOT NULL THEN
        PERFORM seb_insert_audit(p_audit_instance_id, p_audit_seq, p_audit_kind, p_audit_cid, p_audit_at, p_audit_body,
                                 p_audit_prev_hash, p_audit_hash, p_audit_signature);
      END IF;
      PERFORM seb_within_budget(p_budget_ms);
      r_status := 'committed';
    END IF;
  END IF;
  RETURN NEXT;
END
$$;

-- Ledger.finishExecution in one statement: the outcome is set only while none is (an execution gets one outcome,
-- whoever races to record it), and with p_silent_ms only while the execution's instance is silent for that long
-- (crash recovery by another seb). Returns 'finished', or 'not_open' having written nothing.
CREATE FUNCTION seb_finish_execution(
  p_cid text, p_nonce text, p_result text, p_silent_ms bigint,
  p_audit_instance_id text, p_audit_seq bigint, p_audit_kind text, p_audit_cid text, p_audit_at timestamptz, p_audit_body jsonb,
  p_audit_prev_hash text, p_audit_hash text, p_audit_signature text, p_budget_ms double precision)
RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  UPDATE seb_executions e SET outcome = p_result, outcome_at = now()
  WHERE e.cid = p_cid::uuid AND e.nonce = p_nonce AND e.outcome IS NULL
    AND (p_silent_ms IS NULL OR seb_instance_silent(e.instance_id, e.created_at, p_silent_ms));
  IF NOT FOUND THEN
    RETURN 'not_open';
  END IF;
  IF p_audit_hash IS NOT NULL THEN
    PERFORM seb_insert_audit(p_audit_instance_id, p_audit_seq, p_audit_kind, p_audit_cid, p_audit_at, p_audit_body,
                             p_audit_prev_hash, p_audit_hash, p_audit_signature);
  END IF;
  PERFORM seb_within_budget(p_budget_ms);
  RETURN 'finished';
END
$$;
