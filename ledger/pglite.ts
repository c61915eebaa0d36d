// The embedded backend: PGlite (PostgreSQL compiled to WASM) on a local directory, running the same SQL as the
// server backend, so one machine and the first run need no database server. PGlite is a single connection and
// queues every query and transaction behind one mutex, so transactions are serialised by PGlite itself.
//
// PGlite does not notice a second process opening the same directory, and two writers would corrupt it; a lock
// file (seb.lock, holding the owner's pid) makes the second open fail with a message instead.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Backend, Session } from './backend.ts';

const LOCK_FILE = 'seb.lock';
/** Lock tokens held by this process: a pid equal to ours in the file is only ours if we wrote it (containers reuse pid 1). */
const held = new Set<string>();

function sessionOf(q: PGlite | Transaction): Session {
  return {
    query: async <R>(sql: string, params: readonly unknown[] = []) => (await q.query<R>(sql, [...params])).rows,
    exec: async (sql: string) => { await q.exec(sql); },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's lock; returns how to release it, or why it is taken. */
async function lock(dir: string): Promise<{ ok: true; release: () => Promise<void> } | { ok: false; reason: string }> {
  const file = path.join(dir, LOCK_FILE);
  const token = `${process.pid} ${randomUUID()}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, token, { flag: 'wx' });
      held.add(token);
      return { ok: true, release: async () => { held.delete(token); await rm(file, { force: true }); } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = (await readFile(file, 'utf8').catch(() => '')).trim();
    const pid = Number(owner.split(' ')[0]);
    const inUse = pid === process.pid ? held.has(owner) : Number.isInteger(pid) && pid > 0 && alive(pid);
    if (inUse) {
      return { ok: false, reason: `it is in use by ${pid === process.pid ? 'this process' : `process ${pid}`} (${file}); stop that seb first, or share a PostgreSQL ledger (ledger.databaseUrl) between seb processes; delete ${file} only if no seb uses the directory` };
    }
    await rm(file, { force: true }); // left behind by a process that died
  }
  return { ok: false, reason: `another process keeps taking ${file}` };
}

/** Opens (creating on first use) the PGlite database in dir. Throws with the reason when it cannot. */
export async function pgliteBackend(options: { dir: string }): Promise<Backend> {
  const dir = path.resolve(options.dir);
  const where = `embedded ledger at ${dir}`;
  await mkdir(dir, { recursive: true });
  const locked = await lock(dir);
  if (!locked.ok) throw new Error(`cannot open the ${where}: ${locked.reason}`);
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (err) {
    await locked.release();
    throw new Error(`cannot open the ${where}: ${err instanceof Error ? err.message : String(err)} (is the directory writable and holding a PGlite database?)`, { cause: err });
  }
  let closing: Promise<void> | undefined;

  return {
    kind: 'pglite',
    where,
    // The signal cannot interrupt WASM that is running; the operation finishes in the background and the core
    // has already answered the caller. PGlite enforces no statement_timeout either.
    session: ({ transaction }, fn) => (transaction ? db.transaction((tx) => fn(sessionOf(tx))) : fn(sessionOf(db))),
    // In-process: notifications from this PGlite (the only process that can open it) arrive on the same instance.
    async listen(channels, onNotification) {
      const stops = await Promise.all(channels.map((channel) => db.listen(channel, (payload) => onNotification(channel, payload))));
      return {
        query: async <R>(sql: string) => (await db.query<R>(sql)).rows,
        close: async () => { await Promise.all(stops.map((stop) => stop().catch(() => {}))); },
      };
    },
    close(budget) {
      // Local disk does not hang like a network, but a checkpoint can take a moment: wait longer than one
      // operation, and keep the lock if PGlite never finishes (another process must not open a half-closed database).
      closing ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const finished = await Promise.race([
          db.close().then(() => true, () => true),
          new Promise<false>((r) => { timer = setTimeout(r, Math.max(budget, 10_000), false); }),
        ]);
        clearTimeout(timer);
        if (finished) await locked.release();
      })();
      return closing;
    },
  };
}
