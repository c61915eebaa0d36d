// A fresh PGlite cluster costs 2-3 s of WASM initdb; tests that need several run it once per file and copy the
// shut-down cluster (a plain PostgreSQL data directory, ~40 MB, copied in well under a second). The copy has no
// seb tables, so opening it still runs the first-open migrations.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

let template: Promise<string> | undefined;

/** Copies a pristine cluster to <root>/ledger and returns that directory. */
export async function pristinePgliteDir(root: string): Promise<string> {
  template ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'seb-pglite-template-'));
    const db = await PGlite.create(dir);
    await db.close();
    return dir;
  })();
  const dir = path.join(root, 'ledger');
  await cp(await template, dir, { recursive: true });
  return dir;
}

export async function disposePgliteTemplate(): Promise<void> {
  if (template) await rm(await template, { recursive: true, force: true });
  template = undefined;
}
