// An AWS API request as seb decides on it. The service (SigV4 signing name, checked against the host) fixes the
// protocol; Query (EC2, IAM, STS, Auto Scaling ...) and JSON (X-Amz-Target) requests are named and their
// parameters structured; reads are recognised by name; mutations become contracts whose targets are ARNs, for the
// operations whose resources seb knows. Everything else that is not a known read is refused (fail closed).
import { sebError } from '../../errors/codes.ts';
import type { JsonValue } from '../../certs/sab/types.ts';
import type { Classification, GateRequest } from '../../pipeline/gate.ts';
import { strictJsonBody } from '../body.ts';
import { awsEndpointHost } from './endpoints.ts';
import { queryProtocolParams } from './params.ts';
import { protocolOf } from './protocols.ts';
import { credentialScopeOf } from './sigv4.ts';
import { targetsOf } from './targets.ts';

const READ = /^(Describe|List|Get|Head|Lookup|Search|Query|Scan)[A-Z]/;
/** Named like reads, but they hand out credentials or secrets, or create things: treated as mutations. */
const NOT_READS = new Set([
  'GetSessionToken', 'GetFederationToken', 'GetPasswordData', 'GetSecretValue', 'BatchGetSecretValue', 'GetAuthorizationToken',
  'GetConsoleScreenshot', 'GetClusterCredentials', 'GetClusterCredentialsWithIAM', 'GetId', 'GetOpenIdToken', 'GetParameter',
  'GetParameters', 'GetParametersByPath', 'GetDataKey', 'GetLoginProfile',
]);

export function classifyAws(req: GateRequest, opts: { host: string; accountId?: string | undefined }): Classification {
  const unsupported = (message: string): Classification => ({ kind: 'unsupported', error: sebError('SEB_REQUEST_UNSUPPORTED', message) });
  const scope = credentialScopeOf(single(req.headers['authorization']), req.url.searchParams);
  const hostParts = opts.host.split('.');
  const service = scope?.service ?? hostParts[0] ?? '';
  const region = scope?.region ?? (hostParts.length >= 4 ? hostParts[1]! : 'us-east-1');
  if (scope && !hostServes(opts.host, service, region)) return unsupported(`the request is signed for ${service} in ${region} but addressed to ${opts.host}`);
  const protocol = protocolOf(service);
  const target = single(req.headers['x-amz-target']);
  const hasAction = req.url.searchParams.has('Action');
  const mediaType = (single(req.headers['content-type']) ?? '').split(';')[0]!.trim().toLowerCase();

  let action: string;
  let params: JsonValue;
  if (protocol === 'json') {
    if (hasAction || !target) {
      if (!target && (req.method === 'GET' || req.method === 'HEAD') && !hasAction) return unsupported(`${service} speaks the JSON protocol; a plain ${req.method} is not one of its operations`);
      return unsupported(`${service} speaks the JSON protocol: a request needs X-Amz-Target and no Action parameter`);
    }
    action = target.slice(target.lastIndexOf('.') + 1);
    const parsed = req.body.length === 0 ? { ok: true as const, value: {} } : strictJsonBody(req.body);
    if (!parsed.ok) return unsupported(`${target}: ${parsed.message}`);
    params = parsed.value;
  } else if (protocol === 'query') {
    if (target) return unsupported(`${service} speaks the Query protocol; an X-Amz-Target header is not allowed`);
    if (req.body.length > 0 && mediaType !== 'application/x-www-form-urlencoded') return unsupported(`${service} Query requests carry form-encoded bodies, not ${mediaType || 'an untyped body'}`);
    const parsed = queryProtocolParams(req.url.searchParams, req.body, mediaType);
    if (!parsed.ok) return unsupported(`malformed ${service} request: ${parsed.reason}`);
    action = parsed.action;
    params = parsed.params;
  } else if (protocol === 'rest') {
    if (target || hasAction) return unsupported(`${service} is a REST service; X-Amz-Target or an Action parameter has no place in its requests`);
    if (req.method === 'GET' || req.method === 'HEAD') return { kind: 'read' };
    return unsupported(`${req.method} ${req.url.pathname} on ${service}: REST-protocol mutations are not parsed by this version of seb, so they are refused`);
  } else {
    return unsupported(`seb does not know the protocol of AWS service "${service}", so it cannot tell reads from changes; every request to it is refused`);
  }
  if (READ.test(action) && !NOT_READS.has(action)) return { kind: 'read' };
  if (!opts.accountId) return unsupported(`${service}:${action} is a mutation, and its target ARNs need the account id: set aws.accountId in the seb config`);
  const targets = targetsOf(service, action, params, { region, accountId: opts.accountId });
  if (!targets.ok) return unsupported(targets.reason);
  return { kind: 'mutation', contract: { platform: 'aws', operation: `${service}:${action}`, targets: targets.arns, params } };
}

/** Does `host` serve `service` in `region`? (S3 also answers on bucket subdomains; STS and S3 on global names.) */
function hostServes(host: string, service: string, region: string): boolean {
  if (host === awsEndpointHost(service, region)) return true;
  if (service === 's3') return host === 's3.amazonaws.com' || host.endsWith(`.s3.${region}.amazonaws.com`) || host.endsWith('.s3.amazonaws.com');
  if (service === 'sts') return host === 'sts.amazonaws.com';
  return false;
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
