// PostgreSQL becomes unreachable under a running seb: through a relay of our own we refuse connections (and kill
// the open ones), then black-hole them (the hang case). Every ledger operation must answer SEB_LEDGER_UNAVAILABLE
// within a bound of ledger.timeoutMs, the process must not crash on the dead pool connections, and once the
// network is back the same Ledger instance works again without being reopened.
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../ledger/open.ts';
import type { Ledger, LedgerResult } from '../../ledger/types.ts';
import { value } from './contract.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/pg.ts';
import { startRelay, type Relay } from '../helpers/relay.ts';

const skip = await postgresSkipReason();
const TIMEOUT_MS = 400;
const POOL_SIZE = 3;

describe.skipIf(skip !== undefined)('PostgreSQL ledger when the database is unreachable', () => {
  let db: TestDatabase;
  let relay: Relay;
  let ledger: Ledger;
  const poolErrors: Error[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    relay = await startRelay();
    ledger = value(await openLedger({ databaseUrl: db.url(relay.port), dir: tmpdir(), timeoutMs: TIMEOUT_MS, poolSize: POOL_SIZE, onError: (e) => poolErrors.push(e) }));
  });
  afterAll(async () => {
    await ledger?.close();
    await relay?.close();
    await db?.drop();
  });

  const everyOperation = (): Array<[string, () => Promise<LedgerResult<unknown>>]> => {
    const cid = randomUUID();
    return [
      ['reserveNonce', () => ledger.reserveNonce({ cid, nonce: randomBytes(16).toString('base64url'), subject: 'agent', instanceId: 'seb-a', expiresAt: 2e9 })],
      ['epochs', () => ledger.epochs()],
      ['bumpEpoch', () => ledger.bumpEpoch('policy')],
      ['revoke', () => ledger.revoke(cid, 'outage test')],
      ['revocationStatus', () => ledger.revocationStatus(cid)],
      ['revocationView', () => ledger.revocationView(cid)],
      ['appendAudit', () => ledger.appendAudit({ instanceId: `seb-${cid}`, seq: 1, kind: 'decision', cid, at: new Date(), body: { allowed: false }, prevHash: '0'.repeat(64), hash: 'a'.repeat(64), signature: 'AA==' })],
      ['registerAuditKey', () => ledger.registerAuditKey({ instanceId: `seb-${cid}`, publicKey: 'AA==' })],
      ['auditKeys', () => ledger.auditKeys()],
      ['listAudit', () => ledger.listAudit({ limit: 10 })],
      ['health', () => ledger.health()],
    ];
  };

  /** Runs every operation three times at once (more than the pool holds, so some wait for a connection). */
  async function expectAllUnavailable(message: RegExp): Promise<void> {
    const runs = [...everyOperation(), ...everyOperation(), ...everyOperation()].map(async ([name, op]) => {
      const started = performance.now();
      const result = await op();
      return { name, result, ms: performance.now() - started };
    });
    for (const { name, result, ms } of await Promise.all(runs)) {
      expect(result.ok, name).toBe(false);
      if (result.ok) continue;
      expect(result.error.code, name).toBe('SEB_LEDGER_UNAVAILABLE');
      expect(result.error.message, name).toMatch(message);
      expect(result.error.message, name).toMatch(/mutations are denied/);
      expect(ms, `${name} took ${Math.round(ms)} ms`).toBeLessThan(3 * TIMEOUT_MS);
    }
  }

  /** Recovery is by itself but not instantaneous: statements a healed network delivers late may hold locks or
   * connections for a moment, so each operation gets a few seconds to succeed again. */
  async function expectAllWork(): Promise<void> {
    for (const [name, op] of everyOperation()) {
      let result = await op();
      for (let i = 0; i < 20 && !result.ok; i++) {
        await new Promise((r) => setTimeout(r, 250));
        result = await op();
      }
      expect(result.ok, `${name}: ${result.ok ? '' : result.error.message}`).toBe(true);
    }
  }

  /** Leaves idle connections in the pool, the ones an outage kills behind seb's back. */
  async function warmPool(): Promise<void> {
    await Promise.all(Array.from({ length: POOL_SIZE }, () => ledger.health()));
  }

  it('refused and killed connections: fails fast with SEB_LEDGER_UNAVAILABLE, then recovers by itself', async () => {
    await warmPool();
    await expectAllWork();
    await relay.refuse();
    // The pool's idle connections died; their errors reach the handler instead of crashing the process.
    await expect.poll(() => poolErrors.length).toBeGreaterThan(0);
    await expectAllUnavailable(/PostgreSQL ledger at postgres:\/\/.*(cannot be reached|dropped the connection|did not answer)/);
    await relay.restore();
    await expectAllWork();
  });

  it('black hole: gives up within the timeout instead of hanging, then recovers by itself', async () => {
    await warmPool();
    relay.blackhole();
    await expectAllUnavailable(new RegExp(`did not answer within ${TIMEOUT_MS} ms \\(ledger\\.timeoutMs\\)`));
    // A second round: connections dropped by the first round are not stuck in the pool.
    await expectAllUnavailable(/did not answer within/);
    await relay.restore();
    await expectAllWork();
    const view = value(await ledger.revocationView(randomUUID()));
    expect(view.revoked).toBe(false);
  });
});
