// Small pieces of local state the composition root loads: the SAB trust store and the local API token.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTrustStore, loadTrustStoreFile, type TrustStore } from '../certs/sab/trust-store.ts';
import type { SebConfig } from '../config/schema.ts';

export async function loadTrust(config: SebConfig): Promise<{ trust: TrustStore; source: string }> {
  if (!config.trust.file) {
    const empty = createTrustStore([]);
    if (!empty.ok) throw new Error(empty.error);
    return { trust: empty.value, source: 'none (trust.file unset: every mutation is denied)' };
  }
  const loaded = await loadTrustStoreFile(config.trust.file);
  if (!loaded.ok) throw new Error(`${loaded.error} (trust.file)`);
  return { trust: loaded.value, source: config.trust.file };
}

export function adminTokenPath(config: SebConfig): string {
  return config.admin.tokenFile ?? path.join(path.resolve(config.stateDir), 'admin.token');
}

/** Reads the local API token, creating a random one (mode 0600) on first start. */
export async function ensureAdminToken(config: SebConfig): Promise<string> {
  const file = adminTokenPath(config);
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 16) return token;
  } catch {
    /* created below */
  }
  const token = randomBytes(32).toString('base64url');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, token + '\n', { mode: 0o600 });
  return token;
}

/** This state directory's node id: instance ids start with it, so a seb restarted on the same state directory
 * recognises the executions its predecessor left unfinished. Created on first start. */
export async function ensureNodeId(stateDir: string, host: string): Promise<string> {
  const file = path.join(stateDir, 'node-id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (/^[A-Za-z0-9._-]{1,80}$/.test(id)) return id;
  } catch {
    /* created below */
  }
  const id = `${host.replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 60)}-${randomBytes(4).toString('hex')}`;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(file, id + '\n', { mode: 0o600 });
  return id;
}
