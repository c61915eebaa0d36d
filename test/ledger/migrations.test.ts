// The migration files themselves: found beside the ledger code, numbered without gaps, and free of their own
// transaction control (the runner wraps all pending migrations in one transaction under the advisory lock).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations, MIGRATIONS } from '../../ledger/migrate.ts';

describe('ledger migrations', () => {
  it('are loaded from ledger/migrations in version order, starting with 001_init', () => {
    expect(MIGRATIONS[0]).toMatchObject({ version: 1, name: 'init' });
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    // Function bodies ($$ ... $$, plpgsql's own BEGIN ... END blocks) are not transaction control.
    for (const m of MIGRATIONS) expect(m.sql.replace(/\$\$[^]*?\$\$/g, '$$$$'), `migration ${m.version}`).not.toMatch(/^\s*(BEGIN|COMMIT|ROLLBACK)\b/im);
    expect(MIGRATIONS.find((m) => m.version === 5)?.sql).toMatch(/\$\$[^]*\bBEGIN\b/); // the stripping above is exercised
  });

  it('refuse a folder with a gap in the numbering (a file missing from the image)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'seb-migrations-'));
    try {
      await writeFile(path.join(dir, '001_init.sql'), 'SELECT 1;');
      await writeFile(path.join(dir, '003_later.sql'), 'SELECT 3;');
      await writeFile(path.join(dir, 'README.md'), 'not a migration');
      expect(() => loadMigrations(dir)).toThrow(/not numbered 001, 002, \.\.\. without gaps \(found 3 at position 2\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
