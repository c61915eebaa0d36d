// Per-host leaf certificates minted from the local CA, each with its own key, cached in a bounded LRU and
// re-minted before they expire. Concurrent handshakes for one host share one minting promise.
import { createPrivateKey, X509Certificate as NodeX509 } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { generateKeyPair, isIpAddress, privateKeyToPem, randomSerial, x509 } from './x509.ts';
import type { LocalCa } from './ca.ts';

export interface Leaf {
  readonly certPem: string; // leaf followed by the CA, so clients that only trust the CA build the chain
  readonly keyPem: string;
}

const LEAF_VALIDITY_MS = 24 * 3_600_000;
const BACKDATE_MS = 3_600_000; // clock skew between agent and sidecar
const REFRESH_BEFORE_MS = 3_600_000;

/** A leaf for one or more names (DNS names or IP addresses); the first is the subject's common name. */
export async function mintLeaf(ca: LocalCa, names: string | readonly string[], now = Date.now()): Promise<Leaf> {
  const all = typeof names === 'string' ? [names] : names;
  const hostname = all[0] ?? 'localhost';
  const keys = await generateKeyPair();
  const sans = all.map((n) => (isIpAddress(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${isIpAddress(hostname) ? 'seb-ip' : hostname.slice(0, 64)}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + LEAF_VALIDITY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { certPem: cert.toString('pem') + '\n' + ca.certPem, keyPem: await privateKeyToPem(keys.privateKey) };
}

export interface LeafCache {
  get(hostname: string): Promise<Leaf>;
  readonly size: number;
}

export function createLeafCache(ca: LocalCa, max = 1000): LeafCache {
  // ttl re-mints a host's leaf an hour before it would expire; max bounds memory whatever hosts agents try.
  const cache = new LRUCache<string, Promise<Leaf>>({ max, ttl: LEAF_VALIDITY_MS - REFRESH_BEFORE_MS });
  return {
    get(hostname) {
      const key = hostname.toLowerCase();
      const hit = cache.get(key);
      if (hit) return hit;
      const minted = mintLeaf(ca, key);
      minted.catch(() => cache.delete(key)); // a failed mint is retried on the next handshake
      cache.set(key, minted);
      return minted;
    },
    get size() {
      return cache.size;
    },
  };
}

/** Sanity check used by `seb ca init` / startup: the key really belongs to the certificate. */
export function keyMatchesCert(certPem: string, keyPem: string): boolean {
  return new NodeX509(certPem).checkPrivateKey(createPrivateKey(keyPem));
}
