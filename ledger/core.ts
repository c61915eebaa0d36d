// The ledger's operations as SQL over a Backend, identical for PostgreSQL and PGlite. Each operation is one
// statement where it can be (one round trip, atomic on its own) and is raced against a deadline of timeoutMs:
// when the deadline wins, the caller gets SEB_LEDGER_UNAVAILABLE at once and the backend drops the stuck connection.
import type { Backend, Session } from './backend.ts';
import { badArgument, closedError, ledgerFailure, timedOut } from './failure.ts';
import { migrate, MIGRATIONS, type Migration } from './migrate.ts';
import type { AuditEntry, AuditRecord, EpochName, Epochs, Execution, Ledger, LedgerResult } from './types.ts';
import { sebError, type SebError } from '../errors/codes.ts';
import { AuditSeqTaken, insertAuditRow } from './audit-sql.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_AUDIT_PAGE = 10_000;
/** Year 3000: a far-future exp must not overflow timestamptz and turn a valid reservation into an outage. */
const LATEST_EXPIRY = 32_503_680_000;

/** Runs fn in a session bounded by timeoutMs; never throws, never outlives the deadline. */
export async function bounded<T>(backend: Backend, doing: string, timeoutMs: number, transaction: boolean, fn: (s: Session) => Promise<T>): Promise<LedgerResult<T>> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => { timer = setTimeout(resolve, timeoutMs, 'deadline'); });
  // Catching here also covers a failure that arrives after the deadline won (it is then simply dropped).
  const work = backend.session({ transaction, signal: abort.signal, timeoutMs }, fn).then(
    (value): LedgerResult<T> => ({ ok: true, value }),
    (cause: unknown): LedgerResult<T> => ({ ok: false, error: ledgerFailure(backend.where, doing, timeoutMs, cause) }),
  );
  const first = await Promise.race([work, deadline]);
  clearTimeout(timer);
  if (first !== 'deadline') return first;
  abort.abort();
  return { ok: false, error: timedOut(backend.where, doing, timeoutMs) };
}

/** Applies pending migrations with a longer budget than one operation: another process may hold the lock. */
export async function prepareSchema(backend: Backend, timeoutMs: number, migrations: readonly Migration[] = MIGRATIONS): Promise<LedgerResult<Ledger['schema']>> {
  const budget = Math.max(10 * timeoutMs, 10_000);
  const applied = await bounded(backend, 'applying the ledger schema migrations', budget, true, (s) => migrate(s, migrations, budget));
  if (!applied.ok) return applied;
  return { ok: true, value: { version: migrations.length, applied: applied.value } };
}

const num = (v: unknown): number => Number(v); // int8 arrives as a string from pg and a number from PGlite

function missingEpochs(): never {
  throw new Error('the seb_epochs rows are missing; restore them or recreate the ledger');
}

function epochsOf(row: { policy: unknown; revocation: unknown } | undefined): Epochs {
  if (row?.policy == null || row.revocation == null) missingEpochs();
  return { policy: num(row.policy), revocation: num(row.revocation) };
}

type RevocationRow = { reason: string | null; revoked_at: Date | null };
const statusOf = (row: RevocationRow | undefined) =>
  row?.reason != null && row.revoked_at != null ? { revoked: true as const, reason: row.reason, revokedAt: row.revoked_at } : { revoked: false as const };

type ExecutionRow = { cid: string; nonce: string; instance_id: string; principal: string; credential_id: string | null; expires_at: Date; outcome: string | null };
const executionOf = (r: ExecutionRow): Execution => ({
  cid: r.cid, nonce: r.nonce, instanceId: r.instance_id, principal: r.principal, ...(r.credential_id ? { credentialId: r.credential_id } : {}), expiresAt: r.expires_at.getTime() / 1000, finished: r.outcome !== null,
});
const EXECUTION_COLUMNS = 'cid, nonce, instance_id, principal, credential_id, expires_at, outcome';
/** Revocation reasons travel in a NOTIFY payload (8000 bytes at most) and into messages: keep them short. */
const MAX_REASON = 1_000;

/** fn raced against the deadline, for work outside a Backend session (the notification connection). */
async function raceDeadline<T>(where: string, doing: string, timeoutMs: number, fn: () => Promise<T>): Promise<LedgerResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => { timer = setTimeout(resolve, timeoutMs, 'deadline'); });
  const work = fn().then((value): LedgerResult<T> => ({ ok: true, value }), (cause: unknown): LedgerResult<T> => ({ ok: false, error: ledgerFailure(where, doing, timeoutMs, cause) }));
  const first = await Promise.race([work, deadline]);
  clearTimeout(timer);
  return first === 'deadline' ? { ok: false, error: timedOut(where, doing, timeoutMs) } : first;
}

type CommitRow = { r_status: string; r_policy: unknown; r_revocation: unknown; r_reason: string | null; r_revoked_at: Date | null };

/** The nine audit arguments of seb_commit_execution and seb_finish_execution, from parameter $start on. */
const AUDIT_ARGS = (start: number) => ['text', 'bigint', 'text', 'text', 'timestamptz', 'jsonb', 'text', 'text', 'text'].map((type, i) => `$${start + i}::${type}`).join(', ');
const auditParams = (row: AuditEntry | undefined): unknown[] => (row
  ? [row.instanceId, row.seq, row.kind, row.cid ?? null, row.at, JSON.stringify(row.body), row.prevHash, row.hash, row.signature]
  : Array.from({ length: 9 }, () => null));
/** SQLSTATE raised by seb_insert_audit (migration 005) when (instance_id, seq) is taken; DETAIL is the stored hash. */
const AUDIT_SEQ_TAKEN = 'SEB01';

/** Runs a statement that writes row; a taken seq surfaces as AuditSeqTaken, as insertAuditRow reports it. */
async function withAuditRow<T>(row: AuditEntry | undefined, statement: () => Promise<T>): Promise<T> {
  try {
    return await statement();
  } catch (err) {
    const e = err as { code?: unknown; detail?: unknown };
    if (row && e?.code === AUDIT_SEQ_TAKEN) throw new AuditSeqTaken(row.instanceId, row.seq, typeof e.detail === 'string' && e.detail !== '' ? e.detail : undefined);
    throw err;
  }
}

type AuditRow = { id: unknown; instance_id: string; seq: unknown; kind: 'decision' | 'outcome'; cid: string | null; at: Date; body: object;
  prev_hash: string | null; hash: string | null; signature: string | null };
const HEX64 = /^[0-9a-f]{64}$/;
/** Rows written before migration 003 carry no chain fields: '' (verify reports them as unsigned). */
const auditRecordOf = (r: AuditRow): AuditRecord => ({
  id: String(r.id), seq: num(r.seq), instanceId: r.instance_id, kind: r.kind, at: r.at, body: r.body, ...(r.cid === null ? {} : { cid: r.cid }),
  prevHash: r.prev_hash ?? '', hash: r.hash ?? '', signature: r.signature ?? '',
});

export function createLedger(backend: Backend, options: { timeoutMs: number; schema: Ledger['schema'] }): Ledger {
  const { timeoutMs } = options;
  let closed = false;
  // Nearly every operation is a single statement (atomic on its own), so few need an explicit transaction.
  const run = <T>(doing: string, fn: (s: Session) => Promise<T>): Promise<LedgerResult<T>> =>
    closed ? Promise.resolve({ ok: false, error: closedError(backend.where, doing) }) : bounded(backend, doing, timeoutMs, false, fn);
  const transaction = <T>(doing: string, fn: (s: Session) => Promise<T>): Promise<LedgerResult<T>> =>
    closed ? Promise.resolve({ ok: false, error: closedError(backend.where, doing) }) : bounded(backend, doing, timeoutMs, true, fn);
  // For the statements that write: what is left of timeoutMs when they are sent (see seb_within_budget).
  const budgetFrom = (started: number) => () => Math.max(1, timeoutMs - (performance.now() - started));
  const invalid = <T>(doing: string, what: string): Promise<LedgerResult<T>> => Promise.resolve({ ok: false, error: badArgument(doing, what) });

  return {
    backend: backend.kind,
    where: backend.where,
    schema: options.schema,

    reserveNonce({ cid, nonce, subject, instanceId, expiresAt }) {
      const doing = `reserving the nonce of certificate ${cid}`;
      if (!UUID.test(cid)) return invalid(doing, `a cid that is not a UUID (${JSON.stringify(cid)})`);
      if (!Number.isFinite(expiresAt)) return invalid(doing, `an expiry that is not a number of seconds (${String(expiresAt)})`);
      return run(doing, async (s) => {
        const rows = await s.query(
          `INSERT INTO seb_nonces (cid, nonce, subject, instance_id, expires_at) VALUES ($1, $2, $3, $4, to_timestamp($5))
           ON CONFLICT (cid, nonce) DO NOTHING RETURNING 1 AS reserved`, [cid, nonce, subject, instanceId, Math.min(expiresAt, LATEST_EXPIRY)]);
        return rows.length === 1 ? 'reserved' : 'replay';
      });
    },

    epochs() {
      return run('reading the epochs', async (s) => epochsOf((await s.query<{ policy: unknown; revocation: unknown }>(
        `SELECT max(value) FILTER (WHERE name = 'policy') AS policy, max(value) FILTER (WHERE name = 'revocation') AS revocation FROM seb_epochs`))[0]));
    },

    bumpEpoch(name: EpochName) {
      const doing = `bumping the ${name} epoch`;
      if (name !== 'policy' && name !== 'revocation') return invalid(doing, `an unknown epoch name (${JSON.stringify(name)})`);
      // One statement: the row lock serialises concurrent bumps and the NOTIFY commits with the new value.
      return run(doing, async (s) => {
        const rows = await s.query<{ value: unknown }>(
          `WITH bumped AS (UPDATE seb_epochs SET value = value + 1, updated_at = now() WHERE name = $1 RETURNING name, value)
           SELECT value, pg_notify('seb_epochs', json_build_object('name', name, 'value', value)::text) FROM bumped`, [name]);
        if (rows[0] === undefined) throw new Error(`the seb_epochs row "${name}" is missing; restore it or recreate the ledger`);
        return num(rows[0].value);
      });
    },

    revoke(cid, reason) {
      const doing = `revoking certificate ${cid}`;
      if (!UUID.test(cid)) return invalid(doing, `a cid that is not a UUID (${JSON.stringify(cid)})`);
      if (typeof reason !== 'string' || reason.length === 0 || reason.length > MAX_REASON) return invalid(doing, `a reason that is empty or longer than ${MAX_REASON} characters`);
      // Under the certificate's lock (see commitExecution), one statement revokes and notifies atomically.
      // Revocations are never deleted, so when it conflicts the follow-up read (a fresh snapshot, after the winner
      // committed) finds the row that won.
      return transaction(doing, async (s) => {
        await s.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [cid.toLowerCase()]);
        const inserted = await s.query<RevocationRow>(
          `WITH ins AS (INSERT INTO seb_revocations (cid, reason) VALUES ($1, $2) ON CONFLICT (cid) DO NOTHING RETURNING cid, reason, revoked_at)
           SELECT reason, revoked_at, pg_notify('seb_revocations', json_build_object('cid', cid, 'reason', reason, 'revokedAt', revoked_at)::text) FROM ins`, [cid, reason]);
        if (inserted[0]) return { reason: inserted[0].reason!, revokedAt: inserted[0].revoked_at!, newly: true };
        const existing = await s.query<RevocationRow>('SELECT reason, revoked_at FROM seb_revocations WHERE cid = $1', [cid]);
        if (!existing[0]) throw new Error(`the revocation of ${cid} vanished while it was being recorded`);
        return { reason: existing[0].reason!, revokedAt: existing[0].revoked_at!, newly: false };
      });
    },

    revocationStatus(cid) {
      const doing = `reading the revocation of certificate ${cid}`;
      if (!UUID.test(cid)) return invalid(doing, `a cid that is not a UUID (${JSON.stringify(cid)})`);
      return run(doing, async (s) => statusOf((await s.query<RevocationRow>('SELECT reason, revoked_at FROM seb_revocations WHERE cid = $1', [cid]))[0]));
    },

    revocationView(cid) {
      const doing = `reading the epochs and the revocation of certificate ${cid}`;
      if (!UUID.test(cid)) return invalid(doing, `a cid that is not a UUID (${JSON.stringify(cid)})`);
      return run(doing, async (s) => {
        const row = (await s.query<RevocationRow & { policy: unknown; revocation: unknown }>(
          `SELECT e.policy, e.revocation, r.reason, r.revoked_at
           FROM (SELECT max(value) FILTER (WHERE name = 'policy') AS policy, max(value) FILTER (WHERE name = 'revocation') AS revocation FROM seb_epochs) e
           LEFT JOIN seb_revocations r ON r.cid = $1`, [cid]))[0];
        return { epochs: epochsOf(row), ...statusOf(row) };
      });
    },

    appendAudit(row) {
      const doing = `appending audit record ${row.instanceId}#${row.seq}`;
      if (row.kind !== 'decision' && row.kind !== 'outcome') return invalid(doing, `an unknown audit kind (${JSON.stringify(row.kind)})`);
      if (!(row.at instanceof Date) || Number.isNaN(row.at.getTime())) return invalid(doing, 'an invalid audit time');
      if (!Number.isSafeInteger(row.seq) || row.seq < 1) return invalid(doing, `an audit seq that is not a positive integer (${row.seq})`);
      if (!HEX64.test(row.hash) || !HEX64.test(row.prevHash)) return invalid(doing, 'an audit hash that is not 64 lower-case hex digits');
      return run(doing, async (s) => ({ id: await insertAuditRow(s, row) }));
    },

    registerAuditKey({ instanceId, publicKey }) {
      const doing = `registering the audit key of instance ${instanceId}`;
      // DO NOTHING then read: a second registration with another key must fail, not replace the first.
      return run(doing, async (s) => {
        await s.query('INSERT INTO seb_audit_keys (instance_id, public_key) VALUES ($1, $2) ON CONFLICT (instance_id) DO NOTHING', [instanceId, publicKey]);
        const rows = await s.query<{ public_key: string }>('SELECT public_key FROM seb_audit_keys WHERE instance_id = $1', [instanceId]);
        if (rows[0]?.public_key !== publicKey) throw new Error(`instance ${instanceId} already has another audit key; instance ids must be unique per seb process`);
      });
    },

    auditKeys() {
      return run('reading the audit keys', async (s) => (await s.query<{ instance_id: string; public_key: string; registered_at: Date }>(
        'SELECT instance_id, public_key, registered_at FROM seb_audit_keys ORDER BY instance_id')).map((r) => ({ instanceId: r.instance_id, publicKey: r.public_key, registeredAt: r.registered_at })));
    },

    recordExecution({ cid, nonce, instanceId, principal, credentialId, expiresAt }) {
      const doing = `recording the execution of certificate ${cid}`;
      if (!UUID.test(cid)) return invalid(doing, `a cid that is not a UUID (${JSON.stringify(cid)})`);
      return run(doing, async (s) => {
        await s.query(
          `INSERT INTO seb_executions (cid, nonce, instance_id, principal, credential_id, expires_at) VALUES ($1, $2, $3, $4, $5, to_timestamp($6))`,
          [cid, nonce, instanceId, principal, credentialId ?? null, expiresAt]);
      });
    },

    executionByCredential(credentialId) {
      return run(`looking up the execution of credential ${credentialId}`, async (s) => {
        const rows = await s.query<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM seb_executions WHERE credential_id = $1`, [credentialId]);
        return rows[0] ? executionOf(rows[0]) : undefined;
      });
    },

    precheck(cid, nonce) {
      const doing = `checking the nonce and revocation of certificate ${cid}`;
      if (!UUID.test(cid)) return invalid(doing, `a cid that is not a UUID (${JSON.stringify(cid)})`);
      return run(doing, async (s) => {
        const row = (await s.query<RevocationRow & { used: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM seb_nonces WHERE cid = $1 AND nonce = $2) AS used, r.reason, r.revoked_at
           FROM (SELECT 1) one LEFT JOIN seb_revocations r ON r.cid = $1`, [cid, nonce]))[0];
        return { nonceUsed: row?.used === true, ...statusOf(row) };
      });
    },

    commitExecution({ reservation, execution, policyEpoch, revocationEpoch, decision }) {
      const budgetLeft = budgetFrom(performance.now());
      const { cid, nonce } = reservation;
      const doing = `committing the execution of certificate ${cid}`;
      if (!UUID.test(cid)) return invalid(doing, `a cid that is not a UUID (${JSON.stringify(cid)})`);
      // One statement (migration 005, seb_commit_execution): the certificate's advisory lock, which revoke also
      // takes (a revocation and this commit are ordered one after the other, so revoke never returns while a commit
      // that missed it can still succeed); the epoch rows FOR SHARE (a bump waits for executions committing under
      // the old epoch and they wait for it, so every execution is ordered before or after each bump, never across
      // it); the checks; the nonce, the execution and the decision record. A denial writes nothing.
      return run(doing, async (s): Promise<SebError | undefined> => {
        const row = (await withAuditRow(decision, () => s.query<CommitRow>(
          `SELECT r_status, r_policy, r_revocation, r_reason, r_revoked_at FROM seb_commit_execution($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, ${AUDIT_ARGS(12)}, $21)`,
          [cid, nonce, reservation.subject, reservation.instanceId, Math.min(reservation.expiresAt, LATEST_EXPIRY),
            execution.instanceId, execution.principal, execution.credentialId ?? null, Math.min(execution.expiresAt, LATEST_EXPIRY),
            policyEpoch, revocationEpoch, ...auditParams(decision), budgetLeft()])))[0];
        if (row === undefined || row.r_status === 'epochs_missing') missingEpochs();
        const epochs = epochsOf({ policy: row.r_policy, revocation: row.r_revocation });
        switch (row.r_status) {
          case 'committed': return undefined;
          case 'replay': return sebError('SEB_REPLAY', `certificate ${cid} has already been used (nonce ${nonce}); each certificate authorises one execution`);
          case 'revoked': return sebError('SEB_REVOKED', `certificate ${cid} was revoked at ${row.r_revoked_at!.toISOString()}: ${row.r_reason}`);
          case 'policy_epoch': return sebError('SEB_POLICY_EPOCH', `certificate ${cid} was issued under policy epoch ${policyEpoch}, the current policy epoch is ${epochs.policy} (changed while the request was being checked); ask the SAB to re-certify under the current policy`);
          case 'revoked_epoch': return sebError('SEB_REVOKED', `certificate ${cid} predates revocation epoch ${epochs.revocation} (it carries ${revocationEpoch}): every certificate issued before it is revoked`);
          case 'revocation_unknown': return sebError('SEB_REVOCATION_UNKNOWN', `certificate ${cid} was issued under revocation epoch ${revocationEpoch}, but the ledger is at ${epochs.revocation}; check that the SAB and seb use the same ledger`);
        }
        throw new Error(`seb_commit_execution answered an unknown status ${JSON.stringify(row.r_status)}; the ledger schema is newer or older than this seb`);
      }).then((r): LedgerResult<void> => (!r.ok ? r : r.value ? { ok: false, error: r.value } : { ok: true, value: undefined }));
    },

    finishExecution({ cid, nonce, result, outcome, ifInstanceSilentMs }) {
      const budgetLeft = budgetFrom(performance.now());
      const doing = `recording the outcome of certificate ${cid}`;
      if (!UUID.test(cid)) return invalid(doing, `a cid that is not a UUID (${JSON.stringify(cid)})`);
      if (ifInstanceSilentMs !== undefined && !(Number.isSafeInteger(ifInstanceSilentMs) && ifInstanceSilentMs > 0)) return invalid(doing, `a silence bound that is not a positive integer (${ifInstanceSilentMs})`);
      // An execution gets one outcome: a retry after a write that did commit (its answer was lost), or a second seb
      // recovering the same execution, finds it recorded and writes nothing, so the trail never holds two outcomes
      // for one call. One statement (seb_finish_execution, migration 005).
      return run(doing, async (s): Promise<SebError | undefined> => {
        const row = (await withAuditRow(outcome, () => s.query<{ status: string }>(
          `SELECT seb_finish_execution($1, $2, $3, $4, ${AUDIT_ARGS(5)}, $14) AS status`,
          [cid, nonce, result, ifInstanceSilentMs ?? null, ...auditParams(outcome), budgetLeft()])))[0];
        if (row?.status === 'finished') return undefined;
        if (row?.status === 'not_open') return sebError('SEB_INTERNAL', `the execution of certificate ${cid} has no open outcome to record (unknown, or already recorded)`);
        throw new Error(`seb_finish_execution answered an unknown status ${JSON.stringify(row?.status)}; the ledger schema is newer or older than this seb`);
      }).then((r): LedgerResult<void> => (!r.ok ? r : r.value ? { ok: false, error: r.value } : { ok: true, value: undefined }));
    },

    heartbeat(instanceId) {
      const doing = `recording that instance ${instanceId} is alive`;
      if (typeof instanceId !== 'string' || instanceId.length === 0) return invalid(doing, 'an empty instance id');
      return run(doing, async (s) => {
        await s.query('INSERT INTO seb_instances (instance_id) VALUES ($1) ON CONFLICT (instance_id) DO UPDATE SET last_seen = now()', [instanceId]);
      });
    },

    abandonedExecutions(silentMs, instanceId) {
      const doing = `looking for executions of instances silent for over ${silentMs} ms`;
      if (!Number.isSafeInteger(silentMs) || silentMs <= 0) return invalid(doing, `a silence bound that is not a positive integer (${silentMs})`);
      return run(doing, async (s) => {
        // Rows of instances long gone; an instance without a row is judged by its executions alone, the same answer.
        await s.query(`DELETE FROM seb_instances WHERE last_seen < now() - interval '1 day'`);
        return (await s.query<ExecutionRow>(
          `SELECT ${EXECUTION_COLUMNS} FROM seb_executions
           WHERE outcome IS NULL AND instance_id <> $2 AND seb_instance_silent(instance_id, created_at, $1) ORDER BY created_at LIMIT 1000`,
          [silentMs, instanceId])).map(executionOf);
      });
    },

    unfinishedExecutions(prefix, instanceId) {
      return run(`listing unfinished executions of ${prefix}*`, async (s) => (await s.query<ExecutionRow>(
        `SELECT ${EXECUTION_COLUMNS} FROM seb_executions
         WHERE outcome IS NULL AND starts_with(instance_id, $1) AND instance_id <> $2 ORDER BY created_at`, [prefix, instanceId])).map(executionOf));
    },

    async subscribe(handlers) {
      if (closed) return { ok: false, error: closedError(backend.where, 'subscribing to epoch notifications') };
      try {
        const listener = await backend.listen(['seb_epochs', 'seb_revocations'], (channel, payload) => {
          try {
            const msg = JSON.parse(payload) as { name?: unknown; value?: unknown; cid?: unknown; reason?: unknown; revokedAt?: unknown };
            if (channel === 'seb_epochs' && (msg.name === 'policy' || msg.name === 'revocation')) handlers.onEpoch(msg.name, num(msg.value));
            else if (channel === 'seb_revocations' && typeof msg.cid === 'string') {
              const at = typeof msg.revokedAt === 'string' ? new Date(msg.revokedAt) : new Date();
              handlers.onRevoked(msg.cid, typeof msg.reason === 'string' ? msg.reason : 'revoked', Number.isNaN(at.getTime()) ? new Date() : at);
            }
          } catch { /* not ours: ignore */ }
        }, handlers.onLost);
        return {
          ok: true,
          value: {
            epochs: () => raceDeadline(backend.where, 'reading the epochs on the notification connection', timeoutMs, async () => epochsOf((await listener.query<{ policy: unknown; revocation: unknown }>(
              `SELECT max(value) FILTER (WHERE name = 'policy') AS policy, max(value) FILTER (WHERE name = 'revocation') AS revocation FROM seb_epochs`))[0])),
            close: () => listener.close(),
          },
        };
      } catch (err) {
        return { ok: false, error: ledgerFailure(backend.where, 'subscribing to epoch notifications', timeoutMs, err) };
      }
    },

    listAudit({ since, afterId, limit, order = 'id', afterChain }) {
      const doing = 'listing audit records';
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) return invalid(doing, `a limit outside 1-${MAX_AUDIT_PAGE} (${limit})`);
      if (afterId !== undefined && !/^\d{1,19}$/.test(afterId)) return invalid(doing, `an afterId that is not an audit id (${JSON.stringify(afterId)})`);
      if (order !== 'id' && order !== 'chain' && order !== 'latest') return invalid(doing, `an unknown audit order (${JSON.stringify(order)})`);
      const columns = 'id, instance_id, seq, kind, cid, at, body, prev_hash, hash, signature';
      if (order === 'latest') {
        return run(doing, async (s) => (await s.query<AuditRow>(
          `SELECT * FROM (SELECT ${columns} FROM seb_audit WHERE ($1::timestamptz IS NULL OR at >= $1) ORDER BY id DESC LIMIT $2) newest ORDER BY id`,
          [since ?? null, limit])).map(auditRecordOf));
      }
      if (order === 'chain') {
        // Row comparison walks the (instance_id, seq) unique index.
        return run(doing, async (s) => (await s.query<AuditRow>(
          `SELECT ${columns} FROM seb_audit
           WHERE ($1::text IS NULL OR (instance_id, seq) > ($1::text, $2::bigint)) AND ($3::timestamptz IS NULL OR at >= $3)
           ORDER BY instance_id, seq LIMIT $4`,
          [afterChain?.instanceId ?? null, afterChain?.seq ?? 0, since ?? null, limit])).map(auditRecordOf));
      }
      return run(doing, async (s) => (await s.query<AuditRow>(
        `SELECT ${columns} FROM seb_audit
         WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3`,
        [since ?? null, afterId ?? null, limit])).map(auditRecordOf));
    },

    async health() {
      const started = performance.now();
      const result = await run('checking its health', (s) => s.query('SELECT 1'));
      return result.ok ? { ok: true, value: { backend: backend.kind, latencyMs: performance.now() - started } } : result;
    },

    async close() {
      if (closed) return;
      closed = true;
      await backend.close(timeoutMs);
    },
  };
}
