// `seb audit tail` and `seb audit export` through the real CLI on a PostgreSQL ledger: readable lines, following
// new records, JSON lines that verify on their own, and clear usage errors.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordHash } from '../../audit/chain.ts';
import { createAuditWriter, type AuditWriter } from '../../audit/writer.ts';
import { openLedger } from '../../ledger/open.ts';
import type { Ledger, LedgerResult } from '../../ledger/types.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/pg.ts';
import { runSeb, SEB_BIN } from '../helpers/run.ts';
import { tempDir } from '../helpers/seb.ts';

const skip = await postgresSkipReason();
const CID = '0b6f3c1e-5d2a-4c8e-9f10-3a7b2c4d5e6f';

function value<T>(result: LedgerResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

describe.skipIf(skip !== undefined)('seb audit tail / export', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  let writer: AuditWriter;
  let clock = Date.parse('2026-11-22T10:00:00.000Z');
  const env = () => ({ ...process.env, SEB_DATABASE_URL: db.url() });

  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = value(await openLedger({ databaseUrl: db.url(), dir: path.join(tmpdir(), 'unused'), timeoutMs: 5_000, poolSize: 2 }));
    writer = value(await createAuditWriter({ ledger, instanceId: 'seb-cli', now: () => new Date((clock += 1000)) }));
    value(await writer.append('decision', { decision: 'deny', subject: 'agent', platform: 'aws', operation: 'ec2:AuthorizeSecurityGroupIngress', stages: [{ stage: 'replay', ok: false, ms: 1.25, code: 'SEB_REPLAY' }], code: 'SEB_REPLAY', message: 'the nonce\nwas used' }, CID));
    value(await writer.append('decision', { decision: 'allow', subject: 'agent', platform: 'kube', operation: 'patch', targets: ['apps/v1/deployments/shop/web'], stages: [{ stage: 'signature', ok: true, ms: 0.5 }] }, CID));
    value(await writer.append('outcome', { cid: CID, result: 'completed', status: 200, requestId: 'f00d-audit-id', durationMs: 12, identity: 'system:serviceaccount:shop:seb-executor' }, CID));
  });
  afterAll(async () => {
    await ledger?.close();
    await db?.drop();
  });

  it('tail prints one readable line per record, newest last', async () => {
    const r = await runSeb(['audit', 'tail', '-n', '2'], { env: env() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      `2026-11-22T10:00:02.000Z seb-cli#2 decision allow subject=agent platform=kube operation=patch targets=apps/v1/deployments/shop/web cid=${CID} stages=signature:ok:0.5ms`,
      `2026-11-22T10:00:03.000Z seb-cli#3 outcome completed status=200 requestId=f00d-audit-id identity=system:serviceaccount:shop:seb-executor durationMs=12 cid=${CID}`,
      '',
    ]);
    const all = await runSeb(['audit', 'tail'], { env: env() });
    expect(all.stdout.split('\n')[0]).toBe(`2026-11-22T10:00:01.000Z seb-cli#1 decision deny SEB_REPLAY subject=agent platform=aws operation=ec2:AuthorizeSecurityGroupIngress cid=${CID} stages=replay:FAIL:1.3ms — the nonce was used`);
  });

  it('tail --follow prints records written after it started, until interrupted', async () => {
    const child = spawn(process.execPath, [SEB_BIN, 'audit', 'tail', '-n', '1', '--follow', '--interval', '100'], { env: env() });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const seen = (pattern: RegExp) => new Promise<void>((resolve, reject) => {
      const check = () => { if (pattern.test(out)) { clearTimeout(timer); child.stdout.off('data', check); resolve(); } };
      const timer = setTimeout(() => reject(new Error(`tail --follow never printed ${pattern}; it printed: ${out}`)), 20_000);
      child.stdout.on('data', check);
      check();
    });
    await seen(/seb-cli#3 outcome/);
    value(await writer.append('outcome', { cid: CID, result: 'uncertain', durationMs: 30_000, identity: 'seb-executor', error: 'upstream reset' }, CID));
    await seen(/seb-cli#4 outcome uncertain identity=seb-executor durationMs=30000 error=upstream reset/);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out.match(/seb-cli#/g)).toHaveLength(2);
  });

  it('export prints JSON lines whose hashes recompute, from --since on', async () => {
    const r = await runSeb(['audit', 'export', '--since', '2026-11-22T10:00:02Z'], { env: env() });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; instanceId: string; seq: number; kind: 'decision'; cid: string | null; at: string; body: object; prevHash: string; hash: string });
    expect(lines.map((l) => l.seq)).toEqual([2, 3, 4]);
    for (const l of lines) {
      expect(l).toMatchObject({ type: 'seb.audit', instanceId: 'seb-cli', id: expect.stringMatching(/^\d+$/) });
      expect(recordHash({ ...l, cid: l.cid ?? undefined, at: new Date(l.at) })).toBe(l.hash);
    }
    expect(lines[1]!.prevHash).toBe(lines[0]!.hash);
  });

  it('rejects a --since that is not a time as a usage error', async () => {
    const r = await runSeb(['audit', 'export', '--since', 'yesterday'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--since "yesterday" is not an ISO 8601 time; expected e\.g\. 2026-11-22T10:00:00Z/);
    const n = await runSeb(['audit', 'tail', '-n', '0'], { env: env() });
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/--lines "0" must be a whole number from 1 to 10000/);
  });

  it('fails with the ledger\'s own message when the ledger cannot be reached', async () => {
    const r = await runSeb(['audit', 'verify'], { env: { ...process.env, SEB_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seb: the PostgreSQL ledger at postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere cannot be reached/);
  });
}, 90_000); // each test runs the CLI (a node start) up to three times; slow on a busy 2-core machine

describe('seb audit verify on the embedded ledger', () => {
  it('verifies a trail written to the PGlite ledger under the state directory', async () => {
    const stateDir = await tempDir();
    const ledger = value(await openLedger({ dir: path.join(stateDir, 'ledger'), timeoutMs: 10_000, poolSize: 1 }));
    const writer = value(await createAuditWriter({ ledger, instanceId: 'seb-embedded' }));
    for (let i = 0; i < 3; i++) value(await writer.append('decision', { decision: 'deny', subject: 'agent', stages: [], code: 'SEB_CERT_MISSING' }, undefined));
    await ledger.close(); // PGlite is one process's at a time
    const env = { ...process.env };
    delete env.SEB_DATABASE_URL;
    delete env.DATABASE_URL;
    const r = await runSeb(['audit', 'verify', '--state-dir', stateDir], { env });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^audit trail in the embedded ledger at .*: 3 records from 1 instance\(s\)\nok   seb-embedded: records 1-3, signatures and chain intact\n$/);
  }, 60_000); // two PGlite opens (WASM) are slow on a busy machine
});
