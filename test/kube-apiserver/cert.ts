// A throw-away CA and a serving certificate for 127.0.0.1/localhost (ECDSA P-256, @peculiar/x509 on node:crypto
// WebCrypto), generated at every start.
import { webcrypto } from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs it
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type Pair = webcrypto.CryptoKeyPair;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function keyPem(k: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

export interface ServingCert { caPem: string; certPem: string; keyPem: string }

export async function generateServingCert(hosts: string[] = ['127.0.0.1', 'localhost']): Promise<ServingCert> {
  const gen = (): Promise<Pair> => webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<Pair>;
  const [caKeys, leafKeys] = await Promise.all([gen(), gen()]);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 7 * 86400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=kube-apiserver-test-ca', keys: caKeys as never, notBefore, notAfter, signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true)],
  });
  const names = [...hosts, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'].map((h) => ({ type: /^[\d.]+$|:/.test(h) ? 'ip' as const : 'dns' as const, value: h }));
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=kube-apiserver', issuer: ca.subject, notBefore, notAfter, signingAlgorithm: ALG,
    publicKey: leafKeys.publicKey as never, signingKey: caKeys.privateKey as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  return { caPem: ca.toString('pem'), certPem: leaf.toString('pem'), keyPem: await keyPem(leafKeys.privateKey) };
}
