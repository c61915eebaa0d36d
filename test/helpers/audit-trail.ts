// Issue 8's promise, asserted by the end-to-end suites: every mutation attempt seb logged leaves exactly one
// signed decision record, and every call it forwarded exactly one outcome record, with matching cids and codes.
// Records are compared with what seb streamed (test/helpers/seb.ts captures the stream; a record is streamed only
// once it is in the ledger).
import type { TestSeb } from './seb.ts';

type Line = Record<string, unknown>;
const FORWARDED = new Set(['executed', 'upgraded', 'client_gone']);

export function auditProblems(seb: Pick<TestSeb, 'logs' | 'audit'>): string[] {
  const attempts = seb.logs.filter((l) => (l.msg === 'request' || l.msg === 'upgrade') && l.mutation === true);
  const decisions = seb.audit.filter((r) => r.kind === 'decision');
  const outcomes = seb.audit.filter((r) => r.kind === 'outcome');
  const body = (r: Line) => r.body as Line;
  const problems: string[] = [];
  if (decisions.length !== attempts.length) problems.push(`${attempts.length} mutation attempts logged, ${decisions.length} decision records`);
  for (const a of attempts) {
    const cid = typeof a.cid === 'string' ? a.cid : undefined;
    const forwarded = FORWARDED.has(String(a.outcome)) || (a.outcome === 'refused' && cid !== undefined) || (a.outcome === 'forwarded' && cid !== undefined);
    if (forwarded && cid) {
      const allows = decisions.filter((d) => d.cid === cid && body(d).decision === 'allow').length;
      const outs = outcomes.filter((o) => o.cid === cid).length;
      if (allows !== 1) problems.push(`executed ${cid}: ${allows} allow records`);
      if (outs !== 1) problems.push(`executed ${cid}: ${outs} outcome records`);
    }
  }
  const deniedCodes = attempts.filter((a) => a.outcome === 'denied').map((a) => String(a.code)).sort();
  const denyRecordCodes = decisions.filter((d) => body(d).decision === 'deny').map((d) => String(body(d).code)).sort();
  if (JSON.stringify(deniedCodes) !== JSON.stringify(denyRecordCodes)) problems.push(`denials logged ${JSON.stringify(deniedCodes)} vs deny records ${JSON.stringify(denyRecordCodes)}`);
  if (outcomes.length !== attempts.filter((a) => a.outcome !== 'denied').length) problems.push(`${outcomes.length} outcome records for ${attempts.filter((a) => a.outcome !== 'denied').length} forwarded mutations`);
  return problems;
}

/** Waits (outcome records follow the response) until the trail is complete; throws naming what is missing. */
export async function expectCompleteAuditTrail(seb: Pick<TestSeb, 'logs' | 'audit'>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problems = auditProblems(seb);
    if (problems.length === 0) return;
    if (Date.now() > deadline) throw new Error(`audit trail incomplete:\n${problems.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The logs and audit lines of a seb process's stdout (spawnSeb's output()). */
export function trailOfOutput(output: string): { logs: Line[]; audit: Line[] } {
  const logs: Line[] = [];
  const audit: Line[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = JSON.parse(line) as Line;
    (parsed.type === 'seb.audit' ? audit : logs).push(parsed);
  }
  return { logs, audit };
}
