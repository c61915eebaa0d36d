-- seb ledger schema, version 4: execution outcomes. An execution is committed (nonce reserved, decision recorded)
-- before its call goes upstream; the outcome columns are set when the call has finished — 'completed' when the
-- platform answered, 'uncertain' when it timed out or reset, or when the seb that made it died before it could
-- tell (found at the next start and reported); 'not_forwarded' when the call never left seb (the agent went away
-- first, or authorising the request failed). An execution with no outcome is one in flight, or a crash to report.
ALTER TABLE seb_executions ADD COLUMN outcome text CHECK (outcome IN ('completed', 'uncertain', 'not_forwarded'));
ALTER TABLE seb_executions ADD COLUMN outcome_at timestamptz;
CREATE INDEX seb_executions_unfinished ON seb_executions (instance_id) WHERE outcome IS NULL;
