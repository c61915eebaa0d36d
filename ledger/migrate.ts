// Versioned schema migrations, the same SQL for PostgreSQL and PGlite. The .sql files sit beside this module in
// ledger/migrations/ and are read relative to import.meta.url, so they travel with the ledger folder wherever it
// is copied (the Docker image copies top-level folders). All pending migrations apply in one transaction that
// first takes a transaction-scoped advisory lock: seb processes starting together queue behind each other and
// the later ones find nothing to do.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Session } from './backend.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Arbitrary but fixed: "seb ledger migrations". Other applications' advisory locks on the database do not collide. */
const MIGRATION_LOCK = 0x5eb_1ed9e7;
const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
const DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export function loadMigrations(dir: string = DIR): Migration[] {
  const migrations = readdirSync(dir).flatMap((file) => {
    const m = FILE.exec(file);
    return m ? [{ version: Number(m[1]), name: m[2]!, sql: readFileSync(`${dir}/${file}`, 'utf8') }] : [];
  }).sort((a, b) => a.version - b.version);
  // Versions 1..n without gaps or duplicates: a gap means a file went missing from the image.
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`ledger migrations in ${dir} are not numbered 001, 002, ... without gaps (found ${m.version} at position ${i + 1})`);
  });
  if (migrations.length === 0) throw new Error(`no ledger migrations found in ${dir}`);
  return migrations;
}

export const MIGRATIONS: readonly Migration[] = loadMigrations();

/** Inside a transaction: applies what is missing; returns the versions it applied. */
export async function migrate(s: Session, migrations: readonly Migration[], budgetMs: number): Promise<number[]> {
  // Waiting for another process's migration may take longer than one ordinary ledger operation.
  await s.exec(`SET LOCAL statement_timeout = ${Math.trunc(budgetMs)}`);
  await s.exec(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
  await s.exec(`CREATE TABLE IF NOT EXISTS seb_schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())`);
  const done = new Map((await s.query<{ version: number; name: string }>('SELECT version, name FROM seb_schema_migrations'))
    .map((r) => [Number(r.version), r.name]));
  const applied: number[] = [];
  for (const m of migrations) {
    const recorded = done.get(m.version);
    if (recorded !== undefined) {
      if (recorded !== m.name) throw new Error(`ledger migration ${m.version} is recorded as "${recorded}" but this seb has "${m.name}"; the database was migrated by an incompatible seb build`);
      continue;
    }
    await s.exec(m.sql);
    await s.query('INSERT INTO seb_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    applied.push(m.version);
  }
  // Versions above ours come from a newer seb during a rolling upgrade; migrations are additive, so we carry on.
  return applied;
}
