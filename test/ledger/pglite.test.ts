// The embedded ledger (PGlite on a directory): the shared contract, backend selection, and the directory lock
// that keeps a second process from opening (and corrupting) a database another one is using.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../ledger/open.ts';
import { ledgerContract, value, type TestStore } from './contract.ts';
import { disposePgliteTemplate, pristinePgliteDir } from './pglite-template.ts';

afterAll(disposePgliteTemplate);

async function pgliteStore(): Promise<TestStore & { dir: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'seb-ledger-'));
  const dir = await pristinePgliteDir(root);
  return {
    dir,
    open: () => openLedger({ dir, timeoutMs: 5_000, poolSize: 1 }),
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}

ledgerContract('PGlite', pgliteStore);

describe('embedded ledger directory', () => {
  it('is chosen without a databaseUrl; a second open of the directory is refused until the first closes; a dead owner\'s lock is taken over', async () => {
    const store = await pgliteStore();
    const { dir } = store;
    try {
      const first = value(await store.open());
      expect(first.backend).toBe('pglite');
      expect(first.where).toMatch(/^embedded ledger at .*ledger$/);
      const second = await store.open();
      expect(second).toMatchObject({ ok: false, error: { code: 'SEB_LEDGER_UNAVAILABLE' } });
      if (!second.ok) expect(second.error.message).toMatch(/in use by this process .*ledger\.databaseUrl/);
      value(await first.reserveNonce({ cid: '6f1c1b2e-9a0d-4c3b-8e7f-1a2b3c4d5e6f', nonce: 'n'.repeat(22), subject: 's', instanceId: 'i', expiresAt: 2e9 }));
      await first.close();
      const third = value(await store.open());
      expect(value(await third.reserveNonce({ cid: '6f1c1b2e-9a0d-4c3b-8e7f-1a2b3c4d5e6f', nonce: 'n'.repeat(22), subject: 's', instanceId: 'i', expiresAt: 2e9 }))).toBe('replay');
      await third.close();

      // A lock file left by a process that died (crash, OOM kill) does not keep the ledger closed forever.
      const child = spawn(process.execPath, ['-e', '0']);
      const deadPid = await new Promise<number>((resolve) => child.once('exit', () => resolve(child.pid!)));
      await writeFile(path.join(dir, 'seb.lock'), `${deadPid} stale-token`);
      const fourth = value(await store.open());
      expect(value(await fourth.health()).backend).toBe('pglite');
      await fourth.close();
    } finally {
      await store.dispose();
    }
  });
});
