// The executor identity for one certified Kubernetes mutation: a token of the executor ServiceAccount from
// TokenRequest, bound to a Secret created for this execution alone. seb deletes the Secret right after the call,
// and the API server then refuses the token (after its short cache of successful authentications): the token
// outlives its purpose by seconds, not by the 600 s minimum lifetime the API imposes.
import { randomBytes } from 'node:crypto';
import { sebError } from '../../errors/codes.ts';
import type { VerifiedCertificate } from '../../certs/sab/verify.ts';
import type { ExecutorIdentity, Result } from '../../pipeline/types.ts';
import { statusMessage, type KubeApi } from './api.ts';

export interface MintConfig {
  readonly serviceAccount: string;
  readonly executorNamespace: string;
  readonly tokenSeconds: number;
  readonly onReleaseError: (message: string) => void;
}

export async function mintExecutorToken(api: KubeApi, config: MintConfig, cert: VerifiedCertificate): Promise<Result<ExecutorIdentity>> {
  const { contract, cid, exp } = cert.payload;
  if (contract.platform !== 'kube') return fail('not a Kubernetes certificate');
  const namespace = contract.targets[0]?.namespace ?? config.executorNamespace;
  const secretName = `seb-exec-${cid.slice(0, 8)}-${randomBytes(4).toString('hex')}`;
  const secrets = `/api/v1/namespaces/${namespace}/secrets`;
  const created = await api.call('POST', secrets, {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: secretName, labels: { 'app.kubernetes.io/managed-by': 'seb' }, annotations: { 'seb.openkedge.io/cid': cid } },
  });
  if (!created.ok) return fail(created.message);
  if (created.status !== 201) return fail(`creating the per-execution Secret ${namespace}/${secretName} answered ${statusMessage(created.body, created.status)}`);
  const uid = (created.body as { metadata?: { uid?: string } }).metadata?.uid;
  const release = async () => {
    const gone = await api.call('DELETE', `${secrets}/${secretName}`);
    if (!gone.ok || (gone.status !== 200 && gone.status !== 202 && gone.status !== 404)) {
      config.onReleaseError(`could not delete the per-execution Secret ${namespace}/${secretName}: ${gone.ok ? statusMessage(gone.body, gone.status) : gone.message}`);
    }
  };
  const requested = await api.call('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${config.serviceAccount}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
    spec: { expirationSeconds: config.tokenSeconds, boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: secretName, ...(uid ? { uid } : {}) } },
  });
  const token = requested.ok && requested.status === 201 ? (requested.body as { status?: { token?: string } }).status?.token : undefined;
  if (!token) {
    await release();
    return fail(`TokenRequest for ${namespace}/${config.serviceAccount} ${requested.ok ? `answered ${statusMessage(requested.body, requested.status)}` : `failed: ${requested.message}`}`);
  }
  const jti = jtiOf(token);
  return {
    ok: true,
    value: {
      platform: 'kube',
      principal: `system:serviceaccount:${namespace}:${config.serviceAccount}`,
      expiresAt: Math.min(exp, Math.floor(Date.now() / 1000) + config.tokenSeconds),
      ...(jti ? { credentialId: `JTI=${jti}` } : {}),
      credentials: { token },
      release,
    },
  };
}

/** The token's JWT ID, which the API server reports as the credential id (the signature is the server's business). */
function jtiOf(token: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown };
    return typeof claims.jti === 'string' ? claims.jti : undefined;
  } catch {
    return undefined;
  }
}

function fail(message: string): Result<ExecutorIdentity> {
  return { ok: false, error: sebError('SEB_MINT_FAILED', message) };
}
