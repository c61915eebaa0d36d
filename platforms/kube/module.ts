// Kubernetes as a platform of the gate: classification (parsers/kube), drift observation (GET the certified object
// from the API server with the agent's read access), the executor identity, and denials as Kubernetes `Status`
// objects, which kubectl prints as "Error from server (Forbidden): ...".
import type { Dispatcher } from 'undici';
import { sebError, statusOf, type SebError } from '../../errors/codes.ts';
import type { JsonValue, KubeTarget } from '../../certs/sab/types.ts';
import { classifyKube } from '../../parsers/kube/classify.ts';
import type { DenialResponse, GateRequest, PlatformModule } from '../../pipeline/gate.ts';
import { agentIdentity, withoutCertificate } from '../agent-identity.ts';
import { kubeApi, statusMessage } from './api.ts';
import { mintExecutorToken, type MintConfig } from './mint.ts';
import { annotatedBody } from './annotate.ts';

const REASONS: Readonly<Record<number, string>> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 422: 'Invalid', 500: 'InternalError', 502: 'ServiceUnavailable', 503: 'ServiceUnavailable' };

export function kubeStatus(error: SebError): DenialResponse {
  const code = statusOf(error.code);
  const body = {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: `seb denied this request (${error.code}): ${error.message}`,
    reason: REASONS[code] ?? 'Forbidden',
    details: { causes: [{ reason: error.code, message: error.message }] },
    code,
  };
  return { status: code, headers: { 'content-type': 'application/json', 'seb-denial-code': error.code }, body: JSON.stringify(body) };
}

export function objectPath(t: KubeTarget): string {
  const base = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  const ns = t.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(t.namespace)}`;
  return `${base}${ns}/${t.resource}/${encodeURIComponent(t.name)}`;
}

export interface KubePlatformDeps {
  readonly dispatcher: Dispatcher;
  readonly upstream: string | undefined;
  readonly timeoutMs: number;
  /** seb's own identity; unset: drift reads use the agent's token and mutations execute with it. */
  readonly identityTokenFile?: string | undefined;
  readonly mint?: Omit<MintConfig, 'onReleaseError'>;
  /** The placeholder token agents may hold; reads carrying it go out with seb's identity. */
  readonly placeholderToken?: string;
  readonly onReleaseError?: (message: string) => void;
}

export function kubePlatform(deps: KubePlatformDeps): PlatformModule {
  const api = kubeApi({ dispatcher: deps.dispatcher, upstream: deps.upstream, timeoutMs: deps.timeoutMs, identityTokenFile: deps.identityTokenFile });
  const minting = deps.identityTokenFile !== undefined && deps.mint !== undefined;
  return {
    platform: 'kube',
    classify: classifyKube,
    adapter: {
      platform: 'kube',
      async observe(contract, context) {
        if (contract.platform !== 'kube') return { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', 'not a Kubernetes contract') };
        if (!deps.upstream) return { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', 'no Kubernetes API server to read from: set upstreams.kube') };
        const target = contract.targets[0]!;
        // seb reads with its own identity when it has one, else with the agent's (reads are the agent's right).
        const agentAuth = (context as GateRequest | undefined)?.headers['authorization'];
        const agentToken = typeof agentAuth === 'string' ? agentAuth.replace(/^Bearer /i, '') : undefined;
        const res = await api.call('GET', objectPath(target), undefined, deps.identityTokenFile ? undefined : agentToken);
        if (!res.ok) return { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', `reading ${objectPath(target)} failed: ${res.message}`) };
        if (res.status === 404) return { ok: true, value: null }; // gone: every certified path is now absent
        if (res.status !== 200 || typeof res.body !== 'object') return { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', `reading ${objectPath(target)} answered ${statusMessage(res.body, res.status)}`) };
        return { ok: true, value: res.body as JsonValue };
      },
      mint: (cert) => (minting ? mintExecutorToken(api, { ...deps.mint!, onReleaseError: deps.onReleaseError ?? (() => undefined) }, cert) : Promise.resolve(agentIdentity('kube', cert))),
    },
    authorize: (req, identity, cert) => {
      const headers = withoutCertificate(req.headers);
      const token = (identity.credentials as { token?: string } | null)?.token;
      if (token) headers['authorization'] = `Bearer ${token}`; // the agent's own token never reaches the upstream
      const contract = cert.payload.contract;
      const body = contract.platform === 'kube' ? annotatedBody(contract, { cid: cert.payload.cid, nonce: cert.payload.nonce }) : undefined;
      // A rewritten create/update body is JSON whatever came in (protobuf, YAML); a patch keeps its patch type.
      if (body && contract.operation !== 'patch') headers['content-type'] = 'application/json';
      return body ? { headers, body } : { headers };
    },
    renderDenial: (_req, error) => kubeStatus(error),
    async authorizeRead(req) {
      const headers = withoutCertificate(req.headers);
      if (deps.placeholderToken && deps.identityTokenFile && headers['authorization'] === `Bearer ${deps.placeholderToken}`) {
        const token = await api.identityToken().catch(() => undefined);
        if (token) headers['authorization'] = `Bearer ${token}`;
      }
      return headers;
    },
  };
}
