// Kubernetes as a platform of the gate: classification (parsers/kube), drift observation (GET the certified object
// from the API server with the agent's read access), the executor identity, and denials as Kubernetes `Status`
// objects, which kubectl prints as "Error from server (Forbidden): ...".
import type { Dispatcher } from 'undici';
import { sebError, statusOf, type SebError } from '../../errors/codes.ts';
import type { JsonValue, KubeTarget } from '../../certs/sab/types.ts';
import { classifyKube } from '../../parsers/kube/classify.ts';
import type { DenialResponse, GateRequest, PlatformModule } from '../../pipeline/gate.ts';
import { agentIdentity, withoutCertificate } from '../agent-identity.ts';

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

export function kubePlatform(deps: { dispatcher: Dispatcher; upstream: string | undefined; timeoutMs: number }): PlatformModule {
  return {
    platform: 'kube',
    classify: classifyKube,
    adapter: {
      platform: 'kube',
      async observe(contract, context) {
        if (contract.platform !== 'kube') return { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', 'not a Kubernetes contract') };
        if (!deps.upstream) return { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', 'no Kubernetes API server to read from: set upstreams.kube') };
        const target = contract.targets[0]!;
        const authorization = (context as GateRequest | undefined)?.headers['authorization'];
        try {
          const res = await deps.dispatcher.request({
            origin: deps.upstream, path: objectPath(target), method: 'GET',
            headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) },
            headersTimeout: deps.timeoutMs, bodyTimeout: deps.timeoutMs,
          });
          const text = await res.body.text();
          if (res.statusCode === 404) return { ok: true, value: null }; // gone: every certified path is now absent
          if (res.statusCode !== 200) return { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', `reading ${objectPath(target)} answered ${res.statusCode}`) };
          return { ok: true, value: JSON.parse(text) as JsonValue };
        } catch (err) {
          return { ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', `reading ${objectPath(target)} failed: ${(err as Error).message}`) };
        }
      },
      mint: async (cert) => agentIdentity('kube', cert),
    },
    authorize: (req) => withoutCertificate(req.headers),
    renderDenial: (_req, error) => kubeStatus(error),
  };
}
