// `seb audit verify | tail | export`: the auditor's view of the signed, hash-chained audit trail in the ledger
// the configuration names (PostgreSQL via ledger.databaseUrl / SEB_DATABASE_URL, else the embedded one under the
// state directory). verify exits 1 naming the first bad record of each instance; a ledger failure exits 1 with
// the ledger's message; a malformed argument exits 2.
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { auditLine } from '../audit/chain.ts';
import { parseTrailCopy, verifyTrail, type TrailCopy, type VerifyReport } from '../audit/verify.ts';
import type { ConfigFlags } from '../config/load.ts';
import type { SebConfig } from '../config/schema.ts';
import { openLedger } from '../ledger/open.ts';
import type { AuditQuery, AuditRecord, Ledger, LedgerResult } from '../ledger/types.ts';
import { CliError } from './sab.ts';

const PAGE = 5_000;

export interface AuditIo {
  /** May return a promise: export waits on it, so a slow reader holds the export back instead of filling memory. */
  readonly out: (text: string) => void | Promise<void>;
  /** For --follow: resolves when the command should stop; default: on SIGINT or SIGTERM. */
  readonly stopped?: Promise<void>;
}

function valueOf<T>(result: LedgerResult<T>): T {
  if (!result.ok) throw new CliError(result.error.message);
  return result.value;
}

/** Every record in chain order (instance id, then seq), page by page. */
async function* chainPages(ledger: Ledger): AsyncGenerator<readonly AuditRecord[]> {
  let after: AuditQuery['afterChain'];
  for (;;) {
    const page = valueOf(await ledger.listAudit({ order: 'chain', limit: PAGE, ...(after ? { afterChain: after } : {}) }));
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
    const last = page.at(-1)!;
    after = { instanceId: last.instanceId, seq: last.seq };
  }
}

/** Records in the order written, from `since` (or the start) on. */
async function* idPages(ledger: Ledger, since: Date | undefined, afterId?: string): AsyncGenerator<readonly AuditRecord[]> {
  let cursor = afterId;
  for (;;) {
    const page = valueOf(await ledger.listAudit({ limit: PAGE, ...(since ? { since } : {}), ...(cursor ? { afterId: cursor } : {}) }));
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
    cursor = page.at(-1)!.id;
  }
}

export async function verifyAudit(ledger: Ledger, copy?: TrailCopy): Promise<{ report: VerifyReport; seconds: number }> {
  const started = performance.now();
  const keys = valueOf(await ledger.auditKeys());
  const report = await verifyTrail(chainPages(ledger), keys, copy);
  return { report, seconds: (performance.now() - started) / 1000 };
}

export function formatVerify(report: VerifyReport, where: string): string {
  const lines = [`audit trail in the ${where}: ${report.records} records from ${report.chains.length} instance(s)`];
  for (const c of report.chains) {
    if (c.bad) lines.push(`BAD  ${c.instanceId} record ${c.bad.seq}${c.bad.id === '-' ? '' : ` (id ${c.bad.id})`}: ${c.bad.fault}: ${c.bad.why}`);
    else if (c.records === 0) lines.push(`ok   ${c.instanceId}: key registered, no records`);
    else lines.push(`ok   ${c.instanceId}: records 1-${c.lastSeq}, signatures and chain intact`);
  }
  return `${lines.join('\n')}\n`;
}

/** One readable line: time, instance#seq, kind, the gist of the body. */
export function formatRecord(r: AuditRecord): string {
  const b = r.body as Record<string, unknown>;
  const parts = [r.at.toISOString(), `${r.instanceId}#${r.seq}`, r.kind];
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  if (r.kind === 'decision') {
    parts.push(String(b.decision ?? '?'));
    if (b.code !== undefined) parts.push(text(b.code));
    for (const k of ['subject', 'platform', 'operation'] as const) if (b[k] !== undefined) parts.push(`${k}=${text(b[k])}`);
    if (Array.isArray(b.targets) && b.targets.length > 0) parts.push(`targets=${b.targets.map(text).join(',')}`);
    if (r.cid !== undefined) parts.push(`cid=${r.cid}`);
    if (Array.isArray(b.stages)) {
      parts.push(`stages=${(b.stages as Array<{ stage?: unknown; ok?: unknown; ms?: unknown }>).map((s) => `${text(s.stage)}:${s.ok ? 'ok' : 'FAIL'}:${typeof s.ms === 'number' ? s.ms.toFixed(1) : '?'}ms`).join(',')}`);
    }
    if (b.message !== undefined) parts.push(`— ${text(b.message)}`);
  } else {
    parts.push(String(b.result ?? '?'));
    for (const k of ['status', 'requestId', 'identity', 'durationMs', 'error'] as const) if (b[k] !== undefined) parts.push(`${k}=${text(b[k])}`);
    if (r.cid !== undefined) parts.push(`cid=${r.cid}`);
  }
  return parts.join(' ').replaceAll(/[\r\n]+/g, ' ');
}

/** The newest `count` records (after `since` when given), oldest first. */
async function latest(ledger: Ledger, count: number, since: Date | undefined): Promise<readonly AuditRecord[]> {
  return valueOf(await ledger.listAudit({ order: 'latest', limit: count, ...(since ? { since } : {}) }));
}

function parseSince(value: string | undefined, cmd: Command): Date | undefined {
  if (value === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) cmd.error(`error: --since "${value}" is not an ISO 8601 time; expected e.g. 2026-11-22T10:00:00Z`, { exitCode: 2, code: 'seb.invalidSince' });
  return at;
}

function positiveInt(name: string, value: string | undefined, fallback: number, cmd: Command): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) cmd.error(`error: ${name} "${value}" must be a whole number from 1 to 10000`, { exitCode: 2, code: 'seb.invalidNumber' });
  return n;
}

function withLedgerFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'configuration file, YAML or JSON (env SEB_CONFIG)')
    .option('--state-dir <dir>', 'state directory holding the embedded ledger (env SEB_STATE_DIR; default .seb)');
}

export function registerAuditCommands(program: Command, configFrom: (flags: ConfigFlags) => SebConfig, io?: AuditIo): void {
  const ioOf = (): AuditIo => io ?? { out: (t) => (process.stdout.write(t) ? undefined : once(process.stdout, 'drain').then(() => undefined)) };
  const withLedger = async (flags: ConfigFlags, fn: (ledger: Ledger, io: AuditIo) => Promise<void>): Promise<void> => {
    const config = configFrom({ ...(flags.config ? { config: flags.config } : {}), ...(flags.stateDir ? { stateDir: flags.stateDir } : {}) });
    const opened = await openLedger({ databaseUrl: config.ledger.databaseUrl, dir: path.join(path.resolve(config.stateDir), 'ledger'), timeoutMs: config.ledger.timeoutMs, poolSize: 1 });
    if (!opened.ok) throw new CliError(opened.error.message);
    try {
      await fn(opened.value, ioOf());
    } finally {
      await opened.value.close();
    }
  };

  const audit = program.command('audit').description('the signed, hash-chained audit trail: decision and outcome records of every mutation attempt');

  withLedgerFlags(audit.command('verify').description('check every record\'s signature and hash and each instance\'s chain; exit 1 naming the first bad record of each instance'))
    .option('--against <file>', 'also compare with a copy kept elsewhere (streamed JSON lines or an export): catches deleted tail records and re-signed chains')
    .option('--json', 'print the report as JSON')
    .option('--stats', 'also print how many records per second were verified')
    .action((flags: ConfigFlags & { against?: string; json?: boolean; stats?: boolean }, cmd: Command) => {
      let copy: TrailCopy | undefined;
      if (flags.against !== undefined) {
        let text = '';
        try {
          text = readFileSync(flags.against, 'utf8');
        } catch (err) {
          cmd.error(`error: cannot read --against ${flags.against}: ${(err as Error).message}`, { exitCode: 2, code: 'seb.againstUnreadable' });
        }
        const parsed = parseTrailCopy(text);
        if (!parsed.ok) cmd.error(`error: --against ${flags.against}: ${parsed.error}`, { exitCode: 2, code: 'seb.againstMalformed' });
        else copy = parsed.copy;
      }
      return withLedger(flags, async (ledger, out) => {
        const { report, seconds } = await verifyAudit(ledger, copy);
        const perSecond = seconds > 0 ? Math.round(report.records / seconds) : report.records;
        if (flags.json) out.out(`${JSON.stringify({ ...report, ...(flags.stats ? { seconds, recordsPerSecond: perSecond } : {}) })}\n`);
        else {
          out.out(formatVerify(report, ledger.where));
          if (flags.stats) out.out(`verified ${report.records} records in ${seconds.toFixed(3)} s: ${perSecond} records/s\n`);
        }
        if (!report.ok) {
          const bad = report.chains.filter((c) => c.bad).length;
          throw new CliError(`audit trail verification FAILED: ${bad} instance chain(s) have a bad record (see above)`);
        }
      });
    });

  withLedgerFlags(audit.command('tail').description('print the newest records, one readable line each'))
    .option('-n, --lines <n>', 'how many of the newest records (default 20)')
    .option('--since <time>', 'only records at or after this ISO 8601 time')
    .option('-f, --follow', 'keep printing new records as they are written (until interrupted)')
    .option('--interval <ms>', 'with --follow: how often to look for new records, ms (default 1000)')
    .action((flags: ConfigFlags & { lines?: string; since?: string; follow?: boolean; interval?: string }, cmd: Command) => {
      const since = parseSince(flags.since, cmd);
      const count = positiveInt('--lines', flags.lines, 20, cmd);
      const interval = positiveInt('--interval', flags.interval, 1000, cmd);
      return withLedger(flags, async (ledger, out) => {
        const first = await latest(ledger, count, since);
        for (const r of first) out.out(`${formatRecord(r)}\n`);
        if (!flags.follow) return;
        // Cursor by id: records are listed in the order written, so nothing is shown twice or skipped.
        let cursor = first.at(-1)?.id ?? (await latest(ledger, 1, undefined)).at(-1)?.id;
        const stopped = out.stopped ?? new Promise<void>((resolve) => { process.once('SIGINT', () => resolve()); process.once('SIGTERM', () => resolve()); });
        let stop = false;
        void stopped.then(() => { stop = true; });
        while (!stop) {
          for await (const page of idPages(ledger, since, cursor)) {
            for (const r of page) out.out(`${formatRecord(r)}\n`);
            cursor = page.at(-1)?.id ?? cursor;
          }
          await Promise.race([sleep(interval), stopped]);
        }
      });
    });

  withLedgerFlags(audit.command('export').description('print records as JSON lines (the streamed form, plus the ledger id), in the order written'))
    .option('--since <time>', 'only records at or after this ISO 8601 time')
    .action((flags: ConfigFlags & { since?: string }, cmd: Command) => {
      const since = parseSince(flags.since, cmd);
      return withLedger(flags, async (ledger, out) => {
        for await (const page of idPages(ledger, since)) await out.out(page.map((r) => `${auditLine(r)}\n`).join(''));
      });
    });
}
