// Behaviour under faults, each with a defined result, checked in the ledger afterwards: every reserved nonce has
// its (allow) decision record, every execution an outcome record, and no certificate executes twice. A seb killed
// mid-call is recovered by its next start on the same state directory, or by any other seb once it has been silent
// for ledger.instanceDeadAfterMs.
// PostgreSQL here is shared with the rest of the suite, so a "restart" is what its clients see of one: a relay
// between seb and the server closes every connection and refuses new ones for a while, then accepts again.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/pg.ts';
import { startRelay, type Relay } from './helpers/relay.ts';
import { spawnSeb, startTestSeb, tempDir, type SebProcess } from './helpers/seb.ts';
import { patchContract, proxyTo, startKubeWorld, viaSeb, type KubeWorld } from './helpers/kube-world.ts';

const pgSkip = await postgresSkipReason();
if (pgSkip) console.warn(`SKIP: fault tests need PostgreSQL: ${pgSkip}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LedgerFacts {
  nonces: number;
  executions: Array<{ cid: string; outcome: string | null }>;
  noncesWithoutAllow: string[];
  executionsWithoutOutcomeRecord: string[];
  outcomeRecords: Array<{ cid: string; result: string }>;
}

async function ledgerFacts(db: TestDatabase): Promise<LedgerFacts> {
  const nonces = await db.query<{ n: string }>('SELECT count(*) AS n FROM seb_nonces');
  const executions = await db.query<{ cid: string; outcome: string | null }>('SELECT cid::text AS cid, outcome FROM seb_executions');
  const noncesWithoutAllow = await db.query<{ cid: string }>(
    `SELECT n.cid::text AS cid FROM seb_nonces n WHERE (SELECT count(*) FROM seb_audit a WHERE a.kind = 'decision' AND a.cid = n.cid::text AND a.body->>'decision' = 'allow') <> 1`);
  const executionsWithoutOutcomeRecord = await db.query<{ cid: string }>(
    `SELECT e.cid::text AS cid FROM seb_executions e WHERE (SELECT count(*) FROM seb_audit a WHERE a.kind = 'outcome' AND a.cid = e.cid::text) <> 1`);
  const outcomeRecords = await db.query<{ cid: string; result: string }>(`SELECT cid, body->>'result' AS result FROM seb_audit WHERE kind = 'outcome'`);
  return { nonces: Number(nonces[0]!.n), executions, noncesWithoutAllow: noncesWithoutAllow.map((r) => r.cid), executionsWithoutOutcomeRecord: executionsWithoutOutcomeRecord.map((r) => r.cid), outcomeRecords };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

describe.skipIf(pgSkip !== undefined)('faults', () => {
  let world: KubeWorld;
  beforeAll(async () => {
    world = await startKubeWorld();
  });
  afterAll(async () => world?.close());

  it('PostgreSQL restarted under load: no certificate executes twice, no record is lost, seb recovers without a restart', { timeout: 90_000 }, async () => {
    const db = await createTestDatabase();
    const relay: Relay = await startRelay();
    const seb = await startTestSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url(relay.port), timeoutMs: 500 } });
    const dispatcher = proxyTo(seb.proxyPort, seb.caPem, 16);
    const executedBefore = world.executedPatches();
    const ok = new Map<string, number>(); // certificate → 200 answers
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const cert = world.sab.issue(patchContract(`w${w}-${i}`));
        for (let attempt = 0; attempt < 2; attempt++) { // each certificate is sent twice: the second must never execute
          const r = await viaSeb(dispatcher, world, 'PATCH', cert, `w${w}-${i}`).catch(() => ({ status: 0, body: {} }));
          if (r.status === 200) ok.set(cert, (ok.get(cert) ?? 0) + 1);
        }
      }
    };
    try {
      const workers = Array.from({ length: 6 }, (_, w) => worker(w));
      await sleep(1_500);
      const beforeCut = ok.size;
      await relay.refuse(); // every ledger connection closed, new ones refused: the server is "restarting"
      await sleep(1_500);
      await relay.restore();
      await sleep(3_000);
      stop = true;
      await Promise.all(workers);
      expect(beforeCut).toBeGreaterThan(0);
      // Recovery: after the restart, mutations execute again (well within the run's last 3 s).
      expect(ok.size).toBeGreaterThan(beforeCut);
      expect([...ok.values()].every((n) => n === 1)).toBe(true);
      // Outcome records written while the ledger was down are retried; wait for them to land. A commit whose answer
      // was lost in the cut may have committed all the same: seb denied that request without sending it and leaves
      // the execution to crash recovery (pipeline/run.ts), so only those may stay open here.
      const lostCommits = () => new Set(seb.logs.filter((l) => l.code === 'SEB_LEDGER_UNAVAILABLE' && (l.stages as Array<{ stage: string }> | undefined)?.at(-1)?.stage === 'commit').map((l) => String(l.cid)));
      const facts = await until('every execution has its outcome, but those whose commit answer was lost', async () => {
        const f = await ledgerFacts(db);
        const lost = lostCommits();
        return f.executions.every((e) => e.outcome !== null || lost.has(e.cid)) ? f : undefined;
      }, 40_000).catch(async (err: Error) => { console.log(JSON.stringify(seb.logs.filter((l) => l.event === 'outcome_not_recorded' || Number(l.level) >= 50).slice(0, 5))); throw err; });
      const open = facts.executions.filter((e) => e.outcome === null).map((e) => e.cid).sort();
      expect(facts.executions.filter((e) => e.outcome === 'completed')).toHaveLength(ok.size);
      expect(facts.executions.length).toBe(ok.size + open.length);
      expect(world.executedPatches() - executedBefore).toBe(ok.size); // the lost commits were not sent
      expect(facts.nonces).toBe(facts.executions.length); // a nonce is reserved only with its execution
      expect(facts.noncesWithoutAllow).toEqual([]);
      expect([...facts.executionsWithoutOutcomeRecord].sort()).toEqual(open);
      // Crash recovery reports them: this seb stops, and another (another state directory) records them as
      // uncertain once the first has been silent for ledger.instanceDeadAfterMs.
      await seb.stop();
      const next = await startTestSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url(), instanceDeadAfterMs: 1_000 } });
      try {
        const after = await until('crash recovery records the open ones', async () => {
          const f = await ledgerFacts(db);
          return f.executions.every((e) => e.outcome !== null) ? f : undefined;
        });
        expect(after.executions.filter((e) => open.includes(e.cid)).map((e) => e.outcome)).toEqual(open.map(() => 'uncertain'));
        expect(after.executionsWithoutOutcomeRecord).toEqual([]);
      } finally {
        await next.stop();
      }
    } finally {
      stop = true;
      await dispatcher.close();
      await seb.stop();
      await relay.close();
      await db.drop();
    }
  });

  it('the upstream times out, or resets the connection: the outcome is recorded as uncertain and the certificate stays consumed', async () => {
    const db = await createTestDatabase();
    const upstream = new URL(world.kube.url);
    const relay = await startRelay({ host: '127.0.0.1', port: Number(upstream.port) });
    const seb = await startTestSeb({ ...world.sebConfig, upstreams: { kube: `https://127.0.0.1:${relay.port}` }, ledger: { databaseUrl: db.url() }, limits: { upstreamHeadersTimeoutMs: 800 } });
    const dispatcher = proxyTo(seb.proxyPort, seb.caPem, 4);
    try {
      // A read first, so seb holds an open connection to the upstream: the mutation then goes out on it at once.
      expect((await viaSeb(dispatcher, world, 'GET')).status).toBe(200);
      // Timeout: the request reaches the relay, nothing comes back.
      relay.blackhole();
      const timedOutCert = world.sab.issue(patchContract('timeout'));
      const timedOut = await viaSeb(dispatcher, world, 'PATCH', timedOutCert, 'timeout');
      expect(timedOut.status).toBe(502);
      expect(JSON.stringify(timedOut.body)).toContain('SEB_UPSTREAM_UNAVAILABLE');
      // Reset: the connection is torn down after the request went out.
      const resetCert = world.sab.issue(patchContract('reset'));
      const pending = viaSeb(dispatcher, world, 'PATCH', resetCert, 'reset');
      await until('the reset execution is committed', async () => ((await db.query('SELECT 1 FROM seb_executions')).length === 2 ? true : undefined));
      await sleep(100);
      await relay.refuse();
      expect((await pending).status).toBe(502);
      await relay.restore();
      for (const cert of [timedOutCert, resetCert]) {
        const again = await viaSeb(dispatcher, world, 'PATCH', cert, cert === timedOutCert ? 'timeout' : 'reset');
        expect(String(again.body.message)).toContain('SEB_REPLAY');
      }
      const facts = await until('both outcomes are recorded', async () => {
        const f = await ledgerFacts(db);
        return f.outcomeRecords.length === 2 ? f : undefined;
      });
      expect(facts.executions.map((e) => e.outcome)).toEqual(['uncertain', 'uncertain']);
      expect(facts.outcomeRecords.map((r) => r.result)).toEqual(['uncertain', 'uncertain']);
      expect(facts.noncesWithoutAllow).toEqual([]);
      expect(facts.executionsWithoutOutcomeRecord).toEqual([]);
    } finally {
      await dispatcher.close();
      await seb.stop();
      await relay.close();
      await db.drop();
    }
  });

  it('TokenRequest fails: SEB_MINT_FAILED, nothing forwarded, no nonce reserved, the denial recorded', async () => {
    const db = await createTestDatabase();
    const identity = path.join(world.dir, 'revoked-identity.token');
    await writeFile(identity, 'not-a-valid-token'); // seb's own identity is refused by the API server
    const seb = await startTestSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url() }, kube: { identityTokenFile: identity, executorServiceAccount: 'executor', executorNamespace: 'har-demo' } });
    const dispatcher = proxyTo(seb.proxyPort, seb.caPem, 2);
    const before = world.executedPatches();
    try {
      const cert = world.sab.issue(patchContract('mint-fails'));
      const r = await viaSeb(dispatcher, world, 'PATCH', cert, 'mint-fails', world.kube.tokens.agent);
      expect(String(r.body.message)).toContain('SEB_MINT_FAILED');
      expect(world.executedPatches()).toBe(before);
      const facts = await ledgerFacts(db);
      expect(facts.nonces).toBe(0);
      expect(facts.executions).toEqual([]);
      const denials = await db.query<{ code: string }>(`SELECT body->>'code' AS code FROM seb_audit WHERE kind = 'decision' AND body->>'decision' = 'deny'`);
      expect(denials.map((d) => d.code)).toEqual(['SEB_MINT_FAILED']);
    } finally {
      await dispatcher.close();
      await seb.stop();
      await db.drop();
    }
  });

  it('seb killed mid-execution: on restart, the reserved-but-unfinished execution is reported as uncertain', { timeout: 60_000 }, async () => {
    const db = await createTestDatabase();
    const upstream = new URL(world.kube.url);
    const relay = await startRelay({ host: '127.0.0.1', port: Number(upstream.port) });
    const stateDir = await tempDir('seb-killed-');
    const config = { ...world.sebConfig, upstreams: { kube: `https://127.0.0.1:${relay.port}` }, ledger: { databaseUrl: db.url() }, limits: { upstreamHeadersTimeoutMs: 60_000 } };
    const first = await spawnSeb(config, { stateDir });
    const dispatcher = proxyTo(first.proxyPort, first.caPem, 2);
    try {
      relay.blackhole();
      const cert = world.sab.issue(patchContract('killed'));
      const pending = viaSeb(dispatcher, world, 'PATCH', cert, 'killed').catch(() => undefined);
      const cid = await until('the execution is committed', async () => (await db.query<{ cid: string }>('SELECT cid::text AS cid FROM seb_executions'))[0]?.cid);
      await first.stop('SIGKILL');
      await pending;
      expect((await ledgerFacts(db)).executions).toEqual([{ cid, outcome: null }]);
      const second = await spawnSeb(config, { stateDir });
      try {
        const facts = await until('the restarted seb reports it', async () => {
          const f = await ledgerFacts(db);
          return f.executions[0]?.outcome ? f : undefined;
        });
        expect(facts.executions).toEqual([{ cid, outcome: 'uncertain' }]);
        expect(facts.outcomeRecords).toEqual([{ cid, result: 'uncertain' }]);
        const [record] = await db.query<{ instance_id: string; error: string }>(`SELECT instance_id, body->>'error' AS error FROM seb_audit WHERE kind = 'outcome'`);
        expect(record!.instance_id).toBe(second.instanceId);
        expect(record!.error).toContain(first.instanceId);
        expect(second.output()).toContain('"event":"execution_uncertain"');
        const again = await viaSeb(proxyTo(second.proxyPort, second.caPem, 1), world, 'PATCH', cert, 'killed');
        expect(String(again.body.message)).toContain('SEB_REPLAY');
      } finally {
        await second.stop();
      }
    } finally {
      await dispatcher.close();
      await relay.close();
      await db.drop();
    }
  });

  it('seb killed mid-execution and replaced elsewhere (a new state directory): once it has been silent for ledger.instanceDeadAfterMs, exactly one other seb records the execution as uncertain; a live seb\'s long call is left alone', { timeout: 90_000 }, async () => {
    const db = await createTestDatabase();
    const upstream = new URL(world.kube.url);
    const relay = await startRelay({ host: '127.0.0.1', port: Number(upstream.port) });
    // A short bound for the test (default 60 s): heartbeats every 250 ms, scans every 750 ms.
    const config = { ...world.sebConfig, upstreams: { kube: `https://127.0.0.1:${relay.port}` }, ledger: { databaseUrl: db.url(), instanceDeadAfterMs: 1_500 }, limits: { upstreamHeadersTimeoutMs: 60_000 } };
    const first = await spawnSeb(config);
    const dispatcher = proxyTo(first.proxyPort, first.caPem, 2);
    const replacements: SebProcess[] = [];
    try {
      relay.blackhole();
      const cert = world.sab.issue(patchContract('replaced'));
      const pending = viaSeb(dispatcher, world, 'PATCH', cert, 'replaced').catch(() => undefined);
      const cid = await until('the execution is committed', async () => (await db.query<{ cid: string }>('SELECT cid::text AS cid FROM seb_executions'))[0]?.cid);
      expect((await db.query<{ instance_id: string }>('SELECT instance_id FROM seb_instances')).map((r) => r.instance_id)).toEqual([first.instanceId]);
      await first.stop('SIGKILL');
      await pending;
      // Two replacements on state directories of their own (other node ids), both looking for abandoned executions.
      replacements.push(...await Promise.all([spawnSeb(config), spawnSeb(config)]));
      const ids = replacements.map((r) => r.instanceId);
      expect(ids.some((id) => id.split('.')[0] === first.instanceId.split('.')[0])).toBe(false);
      const facts = await until('a replacement records it', async () => {
        const f = await ledgerFacts(db);
        return f.executions[0]?.outcome ? f : undefined;
      });
      expect(facts.executions).toEqual([{ cid, outcome: 'uncertain' }]);
      const [record] = await db.query<{ instance_id: string; error: string }>(`SELECT instance_id, body->>'error' AS error FROM seb_audit WHERE kind = 'outcome'`);
      expect(ids).toContain(record!.instance_id);
      expect(record!.error).toContain(first.instanceId);
      expect(record!.error).toContain('ledger.instanceDeadAfterMs');
      const recorder = replacements.find((r) => r.instanceId === record!.instance_id)!;
      await until('the recorder logs it', async () => (recorder.output().includes('"event":"execution_uncertain"') ? true : undefined), 5_000);
      const replay = proxyTo(replacements[1]!.proxyPort, replacements[1]!.caPem, 1);
      expect(String((await viaSeb(replay, world, 'PATCH', cert, 'replaced')).body.message)).toContain('SEB_REPLAY');
      await replay.close();

      // A call of a live seb held upstream for several bounds: its heartbeats keep the other seb from taking it.
      const live = replacements[0]!;
      const liveDispatcher = proxyTo(live.proxyPort, live.caPem, 1);
      const livePending = viaSeb(liveDispatcher, world, 'PATCH', world.sab.issue(patchContract('live')), 'live');
      await until('the live execution is committed', async () => ((await db.query('SELECT 1 FROM seb_executions')).length === 2 ? true : undefined));
      await sleep(4_500); // three bounds, six scans of the other seb
      expect((await db.query<{ outcome: string | null }>('SELECT outcome FROM seb_executions WHERE cid <> $1', [cid])).map((r) => r.outcome)).toEqual([null]);
      await relay.restore(); // the held call reaches the API server and is answered
      expect((await livePending).status).toBe(200);
      await liveDispatcher.close();

      const end = await until('the live outcome is recorded', async () => {
        const f = await ledgerFacts(db);
        return f.outcomeRecords.length === 2 ? f : undefined;
      });
      expect(end.executions.map((e) => e.outcome).sort()).toEqual(['completed', 'uncertain']);
      expect(end.outcomeRecords.filter((r) => r.cid === cid)).toEqual([{ cid, result: 'uncertain' }]); // once, across the fleet
      expect(end.noncesWithoutAllow).toEqual([]);
      expect(end.executionsWithoutOutcomeRecord).toEqual([]);
      const instances = await db.query<{ instance_id: string }>('SELECT instance_id FROM seb_instances');
      expect(instances.map((r) => r.instance_id).sort()).toEqual([first.instanceId, ...ids].sort());
    } finally {
      await dispatcher.close();
      await first.stop('SIGKILL'); // already gone unless the test failed before killing it
      await Promise.all(replacements.map((r) => r.stop()));
      await relay.close();
      await db.drop();
    }
  });
});
