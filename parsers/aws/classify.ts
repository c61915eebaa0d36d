// An AWS API request as seb decides on it. First the signing form and the payload (payload.ts: presigned URLs,
// SigV4a and chunk-signed streaming refused with their own codes; aws-chunked bodies decoded). The service (SigV4
// signing name, checked against the host) then fixes the protocol: Query (EC2, IAM, STS, Auto Scaling ...) and
// JSON (X-Amz-Target) requests are named and their parameters structured; REST requests (S3, Lambda) are named by
// method, path and query (s3.ts, lambda.ts). Reads are recognised from explicit lists of read-only operations
// (reads.ts, and S3's and Lambda's own); everything else is a mutation, which becomes a contract whose targets are
// ARNs when seb knows its resources, and is refused otherwise (fail closed).
import { sebError } from '../../errors/codes.ts';
import type { JsonValue } from '../../certs/sab/types.ts';
import type { Classification, GateRequest } from '../../pipeline/gate.ts';
import { strictJsonBody } from '../body.ts';
import { awsEndpointHost } from './endpoints.ts';
import { classifyLambda } from './lambda.ts';
import { queryProtocolParams } from './params.ts';
import { payloadOf, signingFormRefusal, type Payload } from './payload.ts';
import { protocolOf } from './protocols.ts';
import { isReadOperation, knowsReadsOf, RELEASES_SECRETS } from './reads.ts';
import { refuse, type Parsed } from './rest.ts';
import { classifyS3 } from './s3.ts';
import { credentialScopeOf } from './sigv4.ts';
import { targetsOf } from './targets.ts';

/** X-Amz-Target prefixes of the JSON services whose operations seb certifies. */
const TARGET_PREFIX: Readonly<Record<string, string>> = { dynamodb: 'DynamoDB_20120810', kms: 'TrentService', ssm: 'AmazonSSM', logs: 'Logs_20140328' };
const JSON_MEDIA_TYPES = new Set(['application/x-amz-json-1.0', 'application/x-amz-json-1.1']);

/** Headers that ask a front end to execute another method than the one sent (and judged). AWS ignores them; a
 * proxy or gateway on the way might not. */
const METHOD_OVERRIDES = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);
/** Only to word refusals: reads are never recognised by name (reads.ts). */
const LOOKS_LIKE_READ = /^(Describe|Get|List|Search|Lookup|Filter|Query|Scan|BatchGet)[A-Z]/;

export function classifyAws(req: GateRequest, opts: { host: string; accountId?: string | undefined }): Classification {
  const unsupported = (message: string): Classification => ({ kind: 'unsupported', error: sebError('SEB_REQUEST_UNSUPPORTED', message) });
  const override = Object.keys(req.headers).find((name) => METHOD_OVERRIDES.has(name.toLowerCase()));
  if (override !== undefined) return unsupported(`the ${override} header is refused: seb judges an AWS request by the method it is sent with, so that must be the method executed; send the request with that method and without the header`);
  const refusal = signingFormRefusal(req.headers, req.url.searchParams);
  if (refusal) return { kind: 'unsupported', error: refusal };
  const scope = credentialScopeOf(single(req.headers['authorization']), req.url.searchParams);
  const hostParts = opts.host.split('.');
  // Unsigned requests: service and region from the host (S3 also on bucket subdomains).
  const s3Host = /(?:^|\.)s3(?:\.([a-z0-9-]+))?\.amazonaws\.com$/.exec(opts.host);
  const service = scope?.service ?? (s3Host ? 's3' : (hostParts[0] ?? ''));
  const region = scope?.region ?? (s3Host ? (s3Host[1] ?? 'us-east-1') : hostParts.length >= 4 ? hostParts[1]! : 'us-east-1');
  if (scope && !hostServes(opts.host, service, region)) return unsupported(`the request is signed for ${service} in ${region} but addressed to ${opts.host}`);
  const payload = payloadOf(req.headers, req.body);
  if (!payload.ok) return { kind: 'unsupported', error: payload.error };
  const protocol = protocolOf(service);
  const target = single(req.headers['x-amz-target']);
  const hasAction = req.url.searchParams.has('Action');

  let parsed: Parsed;
  if (protocol === 'json') parsed = jsonProtocol(req, payload.payload, service, target, hasAction);
  else if (protocol === 'query') parsed = queryProtocol(req, payload.payload, service, target);
  else if (protocol === 'rest') {
    if (target !== undefined || hasAction) return unsupported(`${service} is a REST service; X-Amz-Target or an Action parameter has no place in its requests`);
    const input = { method: req.method, host: opts.host, url: req.url, headers: req.headers, payload: payload.payload, region, accountId: opts.accountId };
    if (service === 's3') parsed = classifyS3(input);
    else if (service === 'lambda') parsed = classifyLambda(input);
    else parsed = refuse(`${req.method} ${req.url.pathname.slice(0, 120)} on ${service}: seb knows the REST-protocol reads and mutations of S3 and Lambda only, so every request to ${service} counts as a change it cannot certify, and is refused`);
  } else {
    return unsupported(`seb does not know the protocol of AWS service "${service}", so it cannot tell reads from changes; every request to it is refused`);
  }
  if (parsed.kind === 'unsupported') return unsupported(parsed.message);
  if (parsed.kind === 'read') return { kind: 'read' };
  return { kind: 'mutation', contract: { platform: 'aws', operation: parsed.operation, targets: parsed.targets, params: parsed.params } };

  function queryProtocol(r: GateRequest, p: Payload, svc: string, tgt: string | undefined): Parsed {
    if (tgt !== undefined) return refuse(`${svc} speaks the Query protocol; an X-Amz-Target header is not allowed`);
    const mediaType = (single(r.headers['content-type']) ?? '').split(';')[0]!.trim().toLowerCase();
    if (p.content.length > 0 && mediaType !== 'application/x-www-form-urlencoded') return refuse(`${svc} Query requests carry form-encoded bodies, not ${mediaType || 'an untyped body'}`);
    const params = queryProtocolParams(r.url.searchParams, p.content, mediaType);
    if (!params.ok) return refuse(`malformed ${svc} request: ${params.reason}`);
    return named(svc, params.action, params.params);
  }

  function jsonProtocol(r: GateRequest, p: Payload, svc: string, tgt: string | undefined, action: boolean): Parsed {
    if (action || tgt === undefined) {
      if (tgt === undefined && (r.method === 'GET' || r.method === 'HEAD') && !action) return refuse(`${svc} speaks the JSON protocol; a plain ${r.method} is not one of its operations`);
      return refuse(`${svc} speaks the JSON protocol: a request needs X-Amz-Target and no Action parameter`);
    }
    if (r.method !== 'POST') return refuse(`${svc} JSON-protocol requests are POSTs, not ${r.method}`);
    if (r.url.search !== '') return refuse(`${svc} speaks the JSON protocol, whose parameters are all in the body; a query string is not allowed`);
    if (!/^[A-Za-z][A-Za-z0-9_.]{0,127}\.[A-Z][A-Za-z0-9]{1,127}$/.test(tgt)) return refuse(`X-Amz-Target "${tgt.slice(0, 80)}" is not "<service prefix>.<Operation>"`);
    const prefix = tgt.slice(0, tgt.lastIndexOf('.'));
    const expected = TARGET_PREFIX[svc];
    if (expected !== undefined && prefix !== expected) return refuse(`X-Amz-Target ${tgt.slice(0, 80)} does not name a ${svc} operation (${expected}.<Operation>)`);
    const mediaType = (single(r.headers['content-type']) ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_MEDIA_TYPES.has(mediaType)) return refuse(`${svc} JSON-protocol bodies are application/x-amz-json-1.0 or -1.1, not ${mediaType || 'untyped'}`);
    const body = p.content.length === 0 ? { ok: true as const, value: {} as JsonValue } : strictJsonBody(p.content);
    if (!body.ok) return refuse(`${tgt}: ${body.message}`);
    if (body.value === null || typeof body.value !== 'object' || Array.isArray(body.value)) return refuse(`${tgt}: the body must be a JSON object`);
    return named(svc, tgt.slice(tgt.lastIndexOf('.') + 1), body.value as JsonValue);
  }

  function named(svc: string, action: string, params: JsonValue): Parsed {
    if (isReadOperation(svc, action, params)) return { kind: 'read' };
    const op = `${svc}:${action}`;
    const secret = RELEASES_SECRETS[op];
    if (!knowsReadsOf(svc)) {
      const why = secret ? `${op} ${secret}, so it is not a read` : `seb knows no read-only operation of ${svc}, so ${op} counts as a change`;
      return refuse(`${why}, and seb cannot name the resources of ${svc} changes: no certificate can authorise it, so it is refused`);
    }
    if (!opts.accountId) return refuse(`${op} is a mutation, and its target ARNs need the account id: set aws.accountId in the seb config`);
    const targets = targetsOf(svc, action, params, { region, accountId: opts.accountId });
    if (!targets.ok) {
      // a name that looks like a read gets the reason it is not one
      if (secret) return refuse(`${op} ${secret}, so it is not a read; ${targets.reason}`);
      if (LOOKS_LIKE_READ.test(action)) return refuse(`${op} is not one of the ${svc} operations seb knows to be read-only, so it counts as a change; ${targets.reason}`);
      return refuse(targets.reason);
    }
    return { kind: 'mutation', operation: op, targets: targets.arns, params: params as Record<string, JsonValue> };
  }
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
