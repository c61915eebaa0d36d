// The pipeline and the shared ledger end to end, through seb's proxy to the Kubernetes API test server:
// one certificate, 100 concurrent attempts, exactly one execution (PGlite and PostgreSQL); two seb processes
// sharing PostgreSQL enforce one nonce space; a ledger outage denies mutations quickly while reads pass, and
// seb recovers without a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSeb, startTestSeb, type TestSeb } from './helpers/seb.ts';
import { startKubeWorld, viaSeb, proxyTo, type KubeWorld } from './helpers/kube-world.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/pg.ts';
import { startRelay, type Relay } from './helpers/relay.ts';

const pgSkip = await postgresSkipReason();

describe('ledger end to end through the proxy', () => {
  let world: KubeWorld;
  beforeAll(async () => {
    world = await startKubeWorld();
  });
  afterAll(async () => world?.close());

  async function hundredAttempts(seb: TestSeb): Promise<void> {
    const before = world.executedPatches();
    const cert = await world.patchCertificate(`v-${seb.stateDir.slice(-6)}`);
    const dispatcher = proxyTo(seb.proxyPort, seb.caPem, 100);
    const results = await Promise.all(Array.from({ length: 100 }, () => viaSeb(dispatcher, world, 'PATCH', cert, `v-${seb.stateDir.slice(-6)}`)));
    await dispatcher.close();
    const executed = results.filter((r) => r.status === 200);
    const replays = results.filter((r) => r.status === 403 && String(r.body.message).includes('SEB_REPLAY'));
    expect(executed).toHaveLength(1);
    expect(replays).toHaveLength(99);
    expect(replays[0]!.body).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(world.executedPatches() - before).toBe(1);
  }

  it('100 concurrent attempts with one certificate: exactly 1 executes, 99 get SEB_REPLAY (embedded PGlite)', async () => {
    const seb = await startTestSeb(world.sebConfig);
    try {
      await hundredAttempts(seb);
    } finally {
      await seb.stop();
    }
  });

  describe.skipIf(pgSkip !== undefined)('on PostgreSQL', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => db?.drop());

    it('100 concurrent attempts with one certificate: exactly 1 executes, 99 get SEB_REPLAY', async () => {
      const seb = await startTestSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url() } });
      try {
        await hundredAttempts(seb);
      } finally {
        await seb.stop();
      }
    });

    it('two seb processes sharing one PostgreSQL: a certificate used through one is refused by the other', async () => {
      const [a, b] = await Promise.all([spawnSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url() } }), spawnSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url() } })]);
      try {
        expect(a.instanceId).not.toBe(b.instanceId);
        const cert = await world.patchCertificate('shared');
        const viaA = proxyTo(a.proxyPort, a.caPem);
        const viaB = proxyTo(b.proxyPort, b.caPem);
        expect((await viaSeb(viaA, world, 'PATCH', cert, 'shared')).status).toBe(200);
        const second = await viaSeb(viaB, world, 'PATCH', cert, 'shared');
        expect(second.status).toBe(403);
        expect(String(second.body.message)).toContain('SEB_REPLAY');
        const rows = await db.query<{ instance_id: string }>('SELECT instance_id FROM seb_nonces');
        expect(rows.map((r) => r.instance_id)).toContain(a.instanceId);
        await viaA.close();
        await viaB.close();
      } finally {
        expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
      }
    });

    it('PostgreSQL unreachable: mutations denied (SEB_LEDGER_UNAVAILABLE, or SEB_REVOCATION_UNKNOWN once the epoch view is lost) within the bound, reads pass, recovery without restart', async () => {
      const relay: Relay = await startRelay();
      const seb = await startTestSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url(relay.port), timeoutMs: 500 } });
      const dispatcher = proxyTo(seb.proxyPort, seb.caPem);
      try {
        expect((await viaSeb(dispatcher, world, 'PATCH', await world.patchCertificate('before'), 'before')).status).toBe(200);
        for (const cut of ['refuse', 'blackhole'] as const) {
          if (cut === 'refuse') await relay.refuse();
          else relay.blackhole();
          const t0 = performance.now();
          const denied = await viaSeb(dispatcher, world, 'PATCH', await world.patchCertificate(`during-${cut}`), `during-${cut}`);
          const elapsed = performance.now() - t0;
          // Refused connections are noticed at once by the epoch watch (the view is lost: revocation unknown); a
          // black hole shows as the ledger not answering within ledger.timeoutMs. Both deny; neither hangs.
          const code = String(denied.body.message).match(/SEB_[A-Z_]+/)?.[0];
          expect(['SEB_LEDGER_UNAVAILABLE', 'SEB_REVOCATION_UNKNOWN']).toContain(code);
          expect(denied.status).toBe(code === 'SEB_LEDGER_UNAVAILABLE' ? 503 : 403);
          expect(elapsed).toBeLessThan(3 * 500 + 1000); // bounded by ledger.timeoutMs, not hung
          const read = await viaSeb(dispatcher, world, 'GET');
          expect(read.status).toBe(200);
          await relay.restore();
        }
        // Recovery without a restart: the pool reconnects on demand, the epoch watch after its backoff (<= 5 s).
        let after = await viaSeb(dispatcher, world, 'PATCH', await world.patchCertificate('after'), 'after');
        for (let i = 0; i < 40 && after.status !== 200; i++) {
          await new Promise((r) => setTimeout(r, 250));
          after = await viaSeb(dispatcher, world, 'PATCH', await world.patchCertificate('after'), 'after');
        }
        expect(after.status, JSON.stringify(after.body)).toBe(200);
      } finally {
        await dispatcher.close();
        await seb.stop();
        await relay.close();
      }
    });
  });
});
