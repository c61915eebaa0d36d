// The local certificate authority seb uses to mint per-host leaf certificates for TLS interception.
// Files: ca.crt (PEM certificate, shareable, what agents trust) and ca.key (PEM PKCS#8, mode 0600).
import { mkdir, readFile, writeFile, stat, chmod } from 'node:fs/promises';
import path from 'node:path';
import { generateKeyPair, privateKeyFromPem, privateKeyToPem, randomSerial, x509, type CryptoKey } from './x509.ts';

export interface LocalCa {
  readonly certPem: string;
  readonly cert: x509.X509Certificate;
  readonly signingKey: CryptoKey;
}

export interface CaPaths {
  readonly certFile: string;
  readonly keyFile: string;
}

export function caPaths(stateDir: string): CaPaths {
  return { certFile: path.join(stateDir, 'ca', 'ca.crt'), keyFile: path.join(stateDir, 'ca', 'ca.key') };
}

const CA_VALIDITY_DAYS = 3650;
const DAY_MS = 86_400_000;

export async function createCa(commonName = 'seb local interception CA'): Promise<{ ca: LocalCa; keyPem: string }> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}, O=seb`,
    // Backdated a day so agents with a slightly slow clock still accept it.
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const ca = { certPem: cert.toString('pem') + '\n', cert, signingKey: keys.privateKey };
  return { ca, keyPem: await privateKeyToPem(keys.privateKey) };
}

export type InitResult = { created: true; paths: CaPaths } | { created: false; paths: CaPaths };

/** Creates the CA files unless both exist already (then leaves them untouched unless `force`). */
export async function initCa(paths: CaPaths, opts: { force?: boolean } = {}): Promise<InitResult> {
  if (!opts.force && (await exists(paths.certFile)) && (await exists(paths.keyFile))) {
    return { created: false, paths };
  }
  const { ca, keyPem } = await createCa();
  await mkdir(path.dirname(paths.keyFile), { recursive: true, mode: 0o700 });
  await writeFile(paths.keyFile, keyPem, { mode: 0o600 });
  await chmod(paths.keyFile, 0o600); // writeFile's mode applies only when it creates the file
  await writeFile(paths.certFile, ca.certPem, { mode: 0o644 });
  return { created: true, paths };
}

export async function loadCa(paths: CaPaths): Promise<LocalCa> {
  const [certPem, keyPem] = await Promise.all([readFile(paths.certFile, 'utf8'), readFile(paths.keyFile, 'utf8')]);
  const cert = new x509.X509Certificate(certPem);
  const signingKey = await privateKeyFromPem(keyPem);
  return { certPem, cert, signingKey };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
