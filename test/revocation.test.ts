// Revocation pushed to a serving seb, and the partition case: when the notification connection is cut, seb
// denies mutations with SEB_REVOCATION_UNKNOWN (reads go on) until it has reconnected and confirmed the epochs.
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, PG_ADMIN_URL, postgresSkipReason, type TestDatabase } from './helpers/pg.ts';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';
import { patchContract, proxyTo, startKubeWorld, viaSeb, type KubeWorld } from './helpers/kube-world.ts';
import { runSeb } from './helpers/run.ts';
import { decodeCertificate } from '../certs/sab/codec.ts';

const pgSkip = await postgresSkipReason();
if (pgSkip) console.warn(`SKIP: revocation tests need PostgreSQL: ${pgSkip}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(pgSkip !== undefined)('revocation push and bounded staleness', () => {
  let world: KubeWorld;
  let db: TestDatabase;
  let seb: TestSeb;
  beforeAll(async () => {
    world = await startKubeWorld();
    db = await createTestDatabase();
    seb = await startTestSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url(), reconnectMinMs: 2_500, reconnectMaxMs: 2_500 }, pipeline: { maxStalenessMs: 500 } });
  });
  afterAll(async () => {
    await seb?.stop();
    await db?.drop();
    await world?.close();
  });

  const code = (r: { body: Record<string, unknown> }) => String(r.body.message).match(/SEB_[A-Z_]+/)?.[0];
  const metric = async (name: string) => {
    const text = await (await request(`${seb.adminUrl}/metrics`)).body.text();
    return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
  };

  it('seb revoke and seb epoch bump from another process reach the serving seb, which denies the certificates', async () => {
    const dispatcher = proxyTo(seb.proxyPort, seb.caPem, 2);
    try {
      const cert = world.sab.issue(patchContract('revoked'));
      const decoded = decodeCertificate(cert);
      if (!decoded.ok) throw new Error(decoded.error.message);
      const cid = decoded.value.payload.cid;
      const revoked = await runSeb(['revoke', cid!, '--reason', 'incident 7'], { env: { ...process.env, SEB_DATABASE_URL: db.url() } });
      expect(revoked.code, revoked.stderr).toBe(0);
      const denied = await viaSeb(dispatcher, world, 'PATCH', cert, 'revoked');
      expect(code(denied)).toBe('SEB_REVOKED');
      const old = world.sab.issue(patchContract('old-epoch'));
      const bumped = await runSeb(['epoch', 'bump', 'revocation'], { env: { ...process.env, SEB_DATABASE_URL: db.url() } });
      expect(bumped.code, bumped.stderr).toBe(0);
      expect(code(await viaSeb(dispatcher, world, 'PATCH', old, 'old-epoch'))).toBe('SEB_REVOKED');
    } finally {
      await dispatcher.close();
    }
  });

  it('the notification connection is cut: mutations are denied SEB_REVOCATION_UNKNOWN, reads pass, and after reconnection mutations pass again', async () => {
    const dispatcher = proxyTo(seb.proxyPort, seb.caPem, 2);
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    const epochs = await seb.seb.ledger.epochs();
    const issue = (v: string) => world.sab.issue(patchContract(v), epochs.ok ? { revocationEpoch: epochs.value.revocation, policyEpoch: epochs.value.policy } : {});
    try {
      expect((await viaSeb(dispatcher, world, 'PATCH', issue('before'), 'before')).status).toBe(200);
      expect(await metric('seb_epoch_view_fresh')).toBe(1);
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'seb-listen' AND datname = $1`, [db.name]);
      expect(killed.rowCount).toBe(1);
      await sleep(100);
      const denied = await viaSeb(dispatcher, world, 'PATCH', issue('during'), 'during');
      expect(denied.status).toBe(403);
      expect(code(denied)).toBe('SEB_REVOCATION_UNKNOWN');
      expect(String(denied.body.message)).toContain('connection was lost');
      expect(await metric('seb_epoch_view_fresh')).toBe(0);
      expect((await viaSeb(dispatcher, world, 'GET')).status).toBe(200);
      // reconnectMinMs is 2.5 s: poll until the watch is back, then the same kind of request passes.
      let after = await viaSeb(dispatcher, world, 'PATCH', issue('after-0'), 'after-0');
      for (let i = 1; i < 40 && after.status !== 200; i++) {
        expect(code(after)).toBe('SEB_REVOCATION_UNKNOWN');
        await sleep(250);
        after = await viaSeb(dispatcher, world, 'PATCH', issue(`after-${i}`), `after-${i}`);
      }
      expect(after.status).toBe(200);
      expect(await metric('seb_epoch_view_fresh')).toBe(1);
      expect(seb.logs.some((l) => l.event === 'epoch_watch_lost')).toBe(true);
    } finally {
      await admin.end();
      await dispatcher.close();
    }
  });
});
