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
