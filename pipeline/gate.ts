// The gate every intercepted request passes before it is forwarded: the platform classifies it; reads go on;
// a mutation needs a certificate (the Seb-Certificate header, or the one staged certificate matching it), the
// pipeline decides, and the platform renders a denial in its clients' error shape or authorises the outgoing
// request with the minted identity. Platform-neutral: platforms plug in through `PlatformModule`.
import { sebError, type SebError } from '../errors/codes.ts';
import type { Pipeline } from './run.ts';
import type { StagingStore } from './staging.ts';
import type { VerifiedCertificate } from '../certs/sab/verify.ts';
import type { Decision, ExecutionOutcome, ExecutorIdentity, PlatformAdapter, PlatformName, RequestContract, StageRecord } from './types.ts';
import type { LedgerResult } from '../ledger/types.ts';
import type { AuditWriter } from '../audit/writer.ts';
import { decisionBody } from './decision-record.ts';

/** An intercepted request as the gate sees it: already bounded and read. */
export interface GateRequest {
  /** The API host the request is for (the CONNECT target, or the endpoint resolved in endpoint mode). */
  readonly host: string;
  /** The Host header the client sent (and, for AWS, signed); in endpoint mode it names seb itself. */
  readonly hostHeader?: string;
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type Classification =
  | { readonly kind: 'read' }
  /** `body`: what to forward instead of the original bytes, when the platform re-serialised what it checked (so
   * the upstream cannot read the body differently from seb). */
  | { readonly kind: 'mutation'; readonly contract: RequestContract; readonly body?: Buffer; readonly contentType?: string }
  /** A mutation seb cannot express as a contract: refused, since no certificate could authorise it. */
  | { readonly kind: 'unsupported'; readonly error: SebError };

export interface DenialResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface PlatformModule {
  readonly platform: PlatformName;
  /** Refuses a request not from the agent this sidecar serves (e.g. AWS placeholder-key signatures); runs first,
   * before any certificate is chosen, so a forged request cannot use up a staged certificate. */
  authenticate?(req: GateRequest): SebError | undefined;
  classify(req: GateRequest): Classification;
  readonly adapter: PlatformAdapter;
  /** The outgoing request under the executor identity: headers with the agent's credentials removed or replaced,
   * and a body when the platform stamps the certified write (attestation). */
  authorize(req: GateRequest, identity: ExecutorIdentity, cert: VerifiedCertificate): { headers: Record<string, string | string[]>; body?: Buffer };
  renderDenial(req: GateRequest, error: SebError): DenialResponse;
  /** Headers for a read, when the platform replaces the agent's credential (default: forwarded as sent). */
  authorizeRead?(req: GateRequest): Promise<Record<string, string | string[]>>;
}

export type GateResult =
  /** `headers`: set when the platform substitutes credentials for reads (e.g. for a placeholder token). */
  | { readonly kind: 'read'; readonly headers?: Record<string, string | string[]> }
  /** `complete`: call once when the forwarded call has finished; writes the outcome record. */
  | { readonly kind: 'execute'; readonly contract: RequestContract; readonly cid: string; readonly headers: Record<string, string | string[]>; readonly body?: Buffer; readonly identity: ExecutorIdentity; readonly stages: readonly StageRecord[]; readonly staged: boolean; readonly complete: (outcome: ExecutionOutcome) => Promise<LedgerResult<void>> }
  | { readonly kind: 'deny'; readonly error: SebError; readonly response: DenialResponse; readonly cid?: string; readonly contract?: RequestContract; readonly stages: readonly StageRecord[] };

export interface Gate {
  check(platform: PlatformName, req: GateRequest): Promise<GateResult>;
}

export const CERT_HEADER = 'seb-certificate';

/** Denials after which the same certificate may succeed on a retry (its nonce was not consumed for good). */
const TRANSIENT = new Set<SebError['code']>(['SEB_LEDGER_UNAVAILABLE', 'SEB_DRIFT_UNOBSERVABLE', 'SEB_MINT_FAILED', 'SEB_INTERNAL', 'SEB_NOT_YET_VALID']);

export interface GateDeps {
  readonly platforms: Readonly<Partial<Record<PlatformName, PlatformModule>>>;
  readonly pipeline: Pipeline;
  readonly staging: StagingStore;
  /** Every denial of a (possible) mutation leaves a signed decision record; the pipeline writes the allows. */
  readonly audit?: { readonly writer: AuditWriter; readonly subject: string; readonly onError: (error: SebError) => void };
}

export function createGate(deps: GateDeps): Gate {
  return {
    async check(platform, req) {
      const module = deps.platforms[platform];
      if (!module) throw new Error(`no platform module for ${platform}`); // composition error, caught as SEB_INTERNAL
      const deny = async (error: SebError, extra: { cid?: string; contract?: RequestContract; stages?: readonly StageRecord[]; staged?: boolean } = {}): Promise<GateResult> => {
        if (deps.audit) {
          const body = decisionBody({ subject: deps.audit.subject, stages: extra.stages ?? [], error, ...(extra.contract ? { contract: extra.contract } : {}), ...(extra.cid ? { cid: extra.cid } : {}), ...(extra.staged !== undefined ? { staged: extra.staged } : {}) });
          const written = await deps.audit.writer.append('decision', body, extra.cid);
          if (!written.ok) deps.audit.onError(written.error);
        }
        return { kind: 'deny', error, response: module.renderDenial(req, error), stages: extra.stages ?? [], ...(extra.cid ? { cid: extra.cid } : {}), ...(extra.contract ? { contract: extra.contract } : {}) };
      };
      const encoding = single(req.headers['content-encoding'])?.trim().toLowerCase();
      // aws-chunked is the framing of an S3 streamed upload, not a compression: the AWS parser decodes it strictly.
      if (req.body.length > 0 && encoding && encoding !== 'identity' && !(platform === 'aws' && encoding === 'aws-chunked')) {
        // seb cannot read what it cannot decode; neither a read nor a mutation can be judged from opaque bytes.
        return deny(sebError('SEB_REQUEST_UNSUPPORTED', `request bodies with Content-Encoding ${encoding} are refused: seb must read the body it lets through`));
      }
      const unauthenticated = module.authenticate?.(req);
      if (unauthenticated) return deny(unauthenticated);
      const classification = module.classify(req);
      if (classification.kind === 'read') return module.authorizeRead ? { kind: 'read', headers: await module.authorizeRead(req) } : { kind: 'read' };
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
      const decision: Decision = await deps.pipeline({ certificate, request: contract, context: req, staged: stagedCid !== undefined });
      // A staged certificate is single-use: withdrawn once used or refused for good; kept after transient failures.
      if (stagedCid && !(decision.kind === 'deny' && TRANSIENT.has(decision.error.code))) deps.staging.withdraw(stagedCid);
      if (decision.kind === 'deny') return deny(decision.error, { contract, stages: decision.stages, staged: stagedCid !== undefined, ...(decision.cid ? { cid: decision.cid } : {}) });
      let outgoing: ReturnType<PlatformModule['authorize']>;
      try {
        outgoing = module.authorize(req, decision.identity, decision.cert);
      } catch (err) {
        // Committed but not sendable: the execution is closed as not forwarded, the identity given back.
        const message = `seb could not authorise the outgoing request and did not send it: ${err instanceof Error ? err.message : String(err)}`;
        await Promise.all([decision.complete({ result: 'not_forwarded', error: message }), decision.identity.release?.().catch(() => undefined)]);
        // The attempt's decision record is the allow already written; its outcome record says what happened.
        const error = sebError('SEB_INTERNAL', message);
        return { kind: 'deny', error, response: module.renderDenial(req, error), stages: decision.stages, cid: decision.cert.payload.cid, contract };
      }
      const body = outgoing.body ?? classification.body;
      // A body the platform re-serialised (protobuf or YAML decoded to JSON) goes out with its new type.
      if (classification.contentType && !outgoing.headers['content-type']?.includes('json')) outgoing.headers['content-type'] = classification.contentType;
      return {
        kind: 'execute',
        contract,
        cid: decision.cert.payload.cid,
        headers: outgoing.headers,
        ...(body ? { body } : {}),
        identity: decision.identity,
        stages: decision.stages,
        staged: stagedCid !== undefined,
        complete: decision.complete,
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
