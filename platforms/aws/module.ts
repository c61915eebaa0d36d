// AWS as a platform of the gate: classification (parsers/aws), the executor identity, and denials in the error
// shape of the request's protocol, which the AWS CLI and SDKs print as "An error occurred (SEB_...) ...".
//
// With aws.agentAccessKeyId set, the agent holds placeholder credentials only: seb verifies every request's SigV4
// signature against them, re-signs reads with its own (read) credentials, and executes a certified mutation with
// an STS session of aws.executorRoleArn scoped to exactly that change (mint.ts), re-signing the request with it.
// Drift is observed with seb's own identity by the probes in observe.ts.
import { randomUUID } from 'node:crypto';
import { sebError, statusOf, type SebError } from '../../errors/codes.ts';
import { classifyAws } from '../../parsers/aws/classify.ts';
import { credentialScopeOf } from '../../parsers/aws/sigv4.ts';
import type { DenialResponse, GateRequest, PlatformModule } from '../../pipeline/gate.ts';
import type { Result, ExecutorIdentity } from '../../pipeline/types.ts';
import { agentIdentity, withoutCertificate } from '../agent-identity.ts';
import { assumeExecutorRole, createSts, type Sts } from './mint.ts';
import { createAwsObserver } from './observe.ts';
import { signRequest, verifyAgentSignature, type AgentKey, type AwsCredentials } from './sigv4.ts';

const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function awsError(req: GateRequest, error: SebError): DenialResponse {
  const status = statusOf(error.code);
  const requestId = randomUUID();
  const base = { 'seb-denial-code': error.code, 'x-amzn-requestid': requestId };
  if (req.headers['x-amz-target']) {
    return { status, headers: { ...base, 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code }, body: JSON.stringify({ __type: error.code, message: error.message }) };
  }
  const message = `<Code>${error.code}</Code><Message>${xml(error.message)}</Message>`;
  if (req.host.startsWith('ec2.')) {
    return { status, headers: { ...base, 'content-type': 'text/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${message}</Error></Errors><RequestID>${requestId}</RequestID></Response>` };
  }
  if (req.url.searchParams.has('Action') || String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return { status, headers: { ...base, 'content-type': 'text/xml' }, body: `<ErrorResponse><Error><Type>Sender</Type>${message}</Error><RequestId>${requestId}</RequestId></ErrorResponse>` };
  }
  return { status, headers: { ...base, 'content-type': 'application/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${message}<RequestId>${requestId}</RequestId></Error>` };
}

export interface AwsPlatformDeps {
  readonly accountId: string | undefined;
  /** Placeholder credentials seb issued to the agent; set: every AWS request must be signed with them. */
  readonly agent?: AgentKey | undefined;
  /** The executor role assumed for certified mutations; unset: the agent's own credentials carry them. */
  readonly executorRoleArn?: string | undefined;
  /** seb's own credentials (STS and reads); unset: the SDK's default credential chain. */
  readonly sebCredentials?: AwsCredentials | undefined;
  /** upstreams.aws: STS is called there too. */
  readonly upstream?: string | undefined;
  /** Reads go upstream with the agent's own signature (its credentials are real read-only ones). */
  readonly readWithAgentCredentials?: boolean;
  /** Seconds since the epoch (tests). */
  readonly now?: () => number;
}

/** What a request was signed for: the agent's credential scope, or the service and region its host names. */
function scopeOf(req: GateRequest): { service: string; region: string } {
  const scope = credentialScopeOf(one(req.headers['authorization']), req.url.searchParams);
  if (scope) return { service: scope.service, region: scope.region };
  const parts = req.host.split('.');
  return { service: parts[0] ?? '', region: parts.length >= 4 ? parts[1]! : 'us-east-1' };
}

/** The Host the agent sent and signed: GateRequest.hostHeader once the proxy passes it; meanwhile the API host
 * itself (what a client sends through HTTPS_PROXY on port 443). */
function agentHostHeader(req: GateRequest): string {
  return req.hostHeader ?? req.host;
}

export function awsPlatform(deps: AwsPlatformDeps): PlatformModule {
  const now = deps.now ?? (() => Date.now() / 1000);
  const sts: Sts = createSts({ credentials: deps.sebCredentials, endpoint: deps.upstream });
  const agent = deps.agent;
  const observer = createAwsObserver({ credentials: deps.sebCredentials, endpoint: deps.upstream, accountId: deps.accountId });

  /** Refuses a request not signed with the agent's placeholder credentials (undefined: authenticated). */
  const authenticate = (req: GateRequest): SebError | undefined =>
    agent ? verifyAgentSignature(req, { key: agent, hostHeader: agentHostHeader(req), now: now() }) : undefined;

  const mint = async (cert: Parameters<PlatformModule['adapter']['mint']>[0], context: unknown): Promise<Result<ExecutorIdentity>> => {
    if (!deps.executorRoleArn) {
      if (agent) return { ok: false, error: sebError('SEB_MINT_FAILED', 'the agent holds placeholder credentials (aws.agentAccessKeyId) but no aws.executorRoleArn is configured, so no identity can execute AWS mutations') };
      return agentIdentity('aws', cert);
    }
    const region = context && typeof context === 'object' && 'url' in context ? scopeOf(context as GateRequest).region : 'us-east-1';
    return assumeExecutorRole(sts, deps.executorRoleArn, cert, region);
  };

  const module: PlatformModule = {
    platform: 'aws',
    authenticate,
    classify: (req) => classifyAws(req, { host: req.host, accountId: deps.accountId }),
    adapter: {
      platform: 'aws',
      observe: (contract) => observer.observe(contract),
      mint,
    },
    authorize: (req, identity) => {
      const credentials = identity.credentials as AwsCredentials | null;
      if (!credentials) return { headers: withoutCertificate(req.headers) }; // agent credentials (no minting configured)
      const { service, region } = scopeOf(req);
      return { headers: { ...signRequest(req, { credentials, host: req.host, service, region }), host: req.host } };
    },
    renderDenial: (req, error) => awsError(req, error),
  };
  if (agent && !deps.readWithAgentCredentials) {
    // Reads go out under seb's own identity: the agent's placeholder signature is worthless upstream.
    return {
      ...module,
      authorizeRead: async (req) => {
        const { service, region } = scopeOf(req);
        return { ...signRequest(req, { credentials: await sts.credentials(region), host: req.host, service, region }), host: req.host };
      },
    };
  }
  return module;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
