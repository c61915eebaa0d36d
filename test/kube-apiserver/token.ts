// ServiceAccount tokens as kube-apiserver issues them (RS256 JWT, header {alg, kid}; claims aud, exp, iat, iss,
// jti, kubernetes.io {namespace, pod|secret, serviceaccount}, nbf, sub) and their verification.
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

export interface SigningKeys { signingKey: KeyObject; verifyKey: KeyObject; keyId: string }

export function generateSigningKeys(): SigningKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { signingKey: privateKey, verifyKey: createPublicKey(privateKey), keyId: createHash('sha256').update(der).digest('base64url') };
}

export interface BoundRef { kind: 'Secret' | 'Pod'; name: string; uid: string }
export interface TokenClaims {
  aud: string[]; exp: number; iat: number; iss: string; jti: string;
  'kubernetes.io': { namespace: string; pod?: { name: string; uid: string }; secret?: { name: string; uid: string }; serviceaccount: { name: string; uid: string } };
  nbf: number; sub: string;
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export function mintServiceAccountToken(keys: SigningKeys, issuer: string, p: {
  namespace: string; name: string; uid: string; audiences: string[]; expirationSeconds: number; bound?: BoundRef; now?: number;
}): { token: string; claims: TokenClaims } {
  const iat = Math.floor((p.now ?? Date.now()) / 1000);
  const k8s: TokenClaims['kubernetes.io'] = { namespace: p.namespace, serviceaccount: { name: p.name, uid: p.uid } };
  const withBound: TokenClaims['kubernetes.io'] = p.bound
    ? { namespace: p.namespace, ...(p.bound.kind === 'Pod' ? { pod: { name: p.bound.name, uid: p.bound.uid } } : { secret: { name: p.bound.name, uid: p.bound.uid } }), serviceaccount: k8s.serviceaccount }
    : k8s;
  const claims: TokenClaims = {
    aud: p.audiences, exp: iat + p.expirationSeconds, iat, iss: issuer, jti: randomUUID(),
    'kubernetes.io': withBound, nbf: iat, sub: `system:serviceaccount:${p.namespace}:${p.name}`,
  };
  const input = `${b64({ alg: 'RS256', kid: keys.keyId })}.${b64(claims)}`;
  return { token: `${input}.${sign('sha256', Buffer.from(input), keys.signingKey).toString('base64url')}`, claims };
}

/** The claims of a token signed by `keys` that is within its validity window, else undefined. */
export function verifyServiceAccountToken(keys: SigningKeys, issuer: string, token: string, nowMs = Date.now()): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
    if (header.alg !== 'RS256') return undefined;
    if (!verify('sha256', Buffer.from(`${h}.${p}`), keys.verifyKey, Buffer.from(s, 'base64url'))) return undefined;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as TokenClaims;
    const now = Math.floor(nowMs / 1000);
    if (claims.iss !== issuer || now >= claims.exp || now < claims.nbf - 60) return undefined;
    return claims;
  } catch {
    return undefined;
  }
}
