// An AWS API request as seb decides on it. Query protocol (EC2, IAM, STS, Auto Scaling) and JSON protocol
// (X-Amz-Target) requests are named and their parameters structured; reads are recognised by name; mutations
// become contracts whose targets are ARNs, for the operations whose resources seb knows. Everything else that
// is not a plain read is refused (fail closed). The full per-service parser extends the target table.
import { sebError } from '../../errors/codes.ts';
import type { JsonValue } from '../../certs/sab/types.ts';
import type { Classification, GateRequest } from '../../pipeline/gate.ts';
import { queryProtocolParams } from './params.ts';
import { credentialScopeOf } from './sigv4.ts';
import { targetsOf } from './targets.ts';
import { strictJsonBody } from '../body.ts';

const READ = /^(Describe|List|Get|Head|Lookup|Search|BatchGet|Query|Scan)[A-Z]/;
/** Named like reads, but they hand out credentials or secrets: treated as mutations. */
const NOT_READS = new Set(['GetSessionToken', 'GetFederationToken', 'GetPasswordData', 'GetSecretValue', 'GetAuthorizationToken', 'GetConsoleScreenshot']);

export function classifyAws(req: GateRequest, opts: { host: string; accountId?: string | undefined }): Classification {
  const unsupported = (message: string): Classification => ({ kind: 'unsupported', error: sebError('SEB_REQUEST_UNSUPPORTED', message) });
  const scope = credentialScopeOf(single(req.headers['authorization']), req.url.searchParams);
  const hostParts = opts.host.split('.');
  const service = scope?.service ?? hostParts[0] ?? '';
  const region = scope?.region ?? (hostParts.length >= 4 ? hostParts[1]! : 'us-east-1');
  const contentType = single(req.headers['content-type']) ?? '';
  const target = single(req.headers['x-amz-target']);

  let action: string;
  let params: JsonValue;
  if (target) {
    action = target.slice(target.lastIndexOf('.') + 1);
    if (req.body.length === 0) params = {};
    else {
      const parsed = strictJsonBody(req.body);
      if (!parsed.ok) return unsupported(`${target}: ${parsed.message}`);
      params = parsed.value;
    }
  } else if (req.url.searchParams.has('Action') || contentType.startsWith('application/x-www-form-urlencoded')) {
    const parsed = queryProtocolParams(req.url.searchParams, req.body, contentType);
    if (!parsed.ok) return unsupported(`malformed ${service} request: ${parsed.reason}`);
    action = parsed.action;
    params = parsed.params;
  } else {
    // REST protocols (S3, Lambda ...): plain GET/HEAD are reads; mutations need the REST parser.
    if (req.method === 'GET' || req.method === 'HEAD') return { kind: 'read' };
    return unsupported(`${req.method} ${req.url.pathname} on ${service}: REST-protocol mutations are not parsed by this version of seb, so they are refused`);
  }
  if (READ.test(action) && !NOT_READS.has(action)) return { kind: 'read' };
  if (!opts.accountId) return unsupported(`${service}:${action} is a mutation, and its target ARNs need the account id: set aws.accountId in the seb config`);
  const targets = targetsOf(service, action, params, { region, accountId: opts.accountId });
  if (!targets.ok) return unsupported(targets.reason);
  return { kind: 'mutation', contract: { platform: 'aws', operation: `${service}:${action}`, targets: targets.arns, params } };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
