// Real ledgers for pipeline tests: embedded PGlite in a temporary directory, or a fresh PostgreSQL database.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLedger } from '../../ledger/open.ts';
import type { Epochs, Ledger } from '../../ledger/types.ts';

export interface LedgerUnderTest {
  readonly ledger: Ledger;
  readonly pipeline: Ledger;
  epochs(): Promise<Epochs>;
  bumpEpoch(name: 'policy' | 'revocation'): Promise<number>;
  revoke(cid: string, reason: string): Promise<void>;
  close(): Promise<void>;
}

function wrap(ledger: Ledger, cleanup: () => Promise<void>): LedgerUnderTest {
  const must = async <T>(p: Promise<{ ok: true; value: T } | { ok: false; error: { message: string } }>): Promise<T> => {
    const r = await p;
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  return {
    ledger,
    pipeline: ledger,
    epochs: () => must(ledger.epochs()),
    bumpEpoch: (name) => must(ledger.bumpEpoch(name)),
    revoke: async (cid, reason) => void (await must(ledger.revoke(cid, reason))),
    close: async () => {
      await ledger.close();
      await cleanup();
    },
  };
}

export async function openPgliteForTest(): Promise<LedgerUnderTest> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seb-pglite-'));
  const opened = await openLedger({ dir, timeoutMs: 5_000, poolSize: 1 });
  if (!opened.ok) throw new Error(opened.error.message);
  return wrap(opened.value, () => rm(dir, { recursive: true, force: true }));
}

export async function openPostgresForTest(databaseUrl: string): Promise<LedgerUnderTest> {
  const opened = await openLedger({ databaseUrl, dir: '', timeoutMs: 5_000, poolSize: 20 });
  if (!opened.ok) throw new Error(opened.error.message);
  return wrap(opened.value, async () => undefined);
}
