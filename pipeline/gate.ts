// The gate every intercepted request passes before it is forwarded: the platform classifies it; reads go on;
// a mutation needs a certificate (the Seb-Certificate header, or the one staged certificate matching it), the
// pipeline decides, and the platform renders a denial in its clients' error shape or authorises the outgoing
// request with the minted identity. Platform-neutral: platforms plug in through `PlatformModule`.
import type { SebError } from '../errors/codes.ts';
import type { Pipeline } from './run.ts';
import type { StagingStore } from './staging.ts';
import type { Decision, ExecutorIdentity, PlatformAdapter, PlatformName, RequestContract, StageRecord } from './types.ts';

/** An intercepted request as the gate sees it: already bounded and read. */
export interface GateRequest {
  /** The API host the request is for (the CONNECT target, or the endpoint resolved in endpoint mode). */
  readonly host: string;
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type Classification =
  | { readonly kind: 'read' }
  | { readonly kind: 'mutation'; readonly contract: RequestContract }
  /** A mutation seb cannot express as a contract: refused, since no certificate could authorise it. */
  | { readonly kind: 'unsupported'; readonly error: SebError };

export interface DenialResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface PlatformModule {
  readonly platform: PlatformName;
  classify(req: GateRequest): Classification;
  readonly adapter: PlatformAdapter;
  /** Headers for the outgoing request under the executor identity: the agent's credentials removed or replaced. */
  authorize(req: GateRequest, identity: ExecutorIdentity): Record<string, string | string[]>;
  renderDenial(req: GateRequest, error: SebError): DenialResponse;
}

export type GateResult =
  | { readonly kind: 'read' }
  | { readonly kind: 'execute'; readonly contract: RequestContract; readonly cid: string; readonly headers: Record<string, string | string[]>; readonly identity: ExecutorIdentity; readonly stages: readonly StageRecord[]; readonly staged: boolean }
  | { readonly kind: 'deny'; readonly error: SebError; readonly response: DenialResponse; readonly cid?: string; readonly contract?: RequestContract; readonly stages: readonly StageRecord[] };

export interface Gate {
  check(platform: PlatformName, req: GateRequest): Promise<GateResult>;
}

export const CERT_HEADER = 'seb-certificate';

export function createGate(deps: { platforms: Readonly<Partial<Record<PlatformName, PlatformModule>>>; pipeline: Pipeline; staging: StagingStore }): Gate {
  return {
    async check(platform, req) {
      const module = deps.platforms[platform];
      if (!module) throw new Error(`no platform module for ${platform}`); // composition error, caught as SEB_INTERNAL
      const classification = module.classify(req);
      if (classification.kind === 'read') return { kind: 'read' };
      const deny = (error: SebError, extra: { cid?: string; contract?: RequestContract; stages?: readonly StageRecord[] } = {}): GateResult =>
        ({ kind: 'deny', error, response: module.renderDenial(req, error), stages: extra.stages ?? [], ...(extra.cid ? { cid: extra.cid } : {}), ...(extra.contract ? { contract: extra.contract } : {}) });
      if (classification.kind === 'unsupported') return deny(classification.error);

      const contract = classification.contract;
      const header = single(req.headers[CERT_HEADER]);
      let certificate = header;
      let stagedCid: string | undefined;
      if (certificate === undefined) {
        const selection = deps.staging.select(contract);
        if (selection.kind !== 'found') return deny(selection.error, { contract });
        certificate = selection.staged.header;
        stagedCid = selection.staged.cid;
      }
      const decision: Decision = await deps.pipeline({ certificate, request: contract, context: req });
      if (stagedCid) deps.staging.withdraw(stagedCid); // used, or failed at a stage it will fail again: not offered again
      if (decision.kind === 'deny') return deny(decision.error, { contract, stages: decision.stages, ...(decision.cid ? { cid: decision.cid } : {}) });
      return {
        kind: 'execute',
        contract,
        cid: decision.cert.payload.cid,
        headers: module.authorize(req, decision.identity),
        identity: decision.identity,
        stages: decision.stages,
        staged: stagedCid !== undefined,
      };
    },
  };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? (v.length === 1 ? v[0] : v.join(',')) : v;
}

/** The request's headers for forwarding, without seb's own certificate header. */
export function withoutCertificate(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && k !== CERT_HEADER) out[k] = v;
  return out;
}
