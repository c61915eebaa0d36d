// Lambda (REST-JSON) requests: the operation from method + path template (API version prefix included), the
// function from the path (a name, or a full function ARN in this account and region). Reads are GETs on the
// templates below; mutations are the listed operations, named by their IAM action and targeting
// arn:aws:lambda:<region>:<account>:function:<name>. JSON bodies are bound as canonical JSON; an Invoke payload
// (bytes the function reads as they are) by digest.
import type { JsonValue } from '../../certs/sab/types.ts';
import { bodyDigest, boundHeaders, decodeSegment, jsonBody, refuse, singleQuery, type Parsed, type RestInput } from './rest.ts';

const FN = '(?<fn>[^/]+)';
/** GET path templates of Lambda's read operations. */
const READS: readonly RegExp[] = [
  /^\/2015-03-31\/functions\/?$/, // ListFunctions
  // GetFunction returns the plaintext environment variables and a presigned URL of the code: read as configuration,
  // like EC2 user data (reads.ts); secrets belong in SSM SecureString parameters or Secrets Manager (README)
  new RegExp(`^/2015-03-31/functions/${FN}$`), // GetFunction
  new RegExp(`^/2015-03-31/functions/${FN}/(configuration|policy|versions|aliases)$`),
  new RegExp(`^/2015-03-31/functions/${FN}/aliases/[^/]+$`), // GetAlias
  new RegExp(`^/(2017-10-31|2019-09-30)/functions/${FN}/concurrency$`), // GetFunctionConcurrency
  new RegExp(`^/2019-09-25/functions/${FN}/event-invoke-config(/list)?$`),
  new RegExp(`^/2021-10-31/functions/${FN}/url$`), // GetFunctionUrlConfig
  /^\/2016-08-19\/account-settings\/?$/,
  /^\/2015-03-31\/event-source-mappings\/?([0-9a-f-]{36})?$/,
  /^\/2018-10-31\/layers(\/[^/]+\/versions(\/\d+)?)?\/?$/,
  /^\/2017-03-31\/tags\/[^/]+$/, // ListTags
];

interface Mutation {
  readonly method: string;
  readonly path: RegExp;
  /** The IAM action (what the contract and the session policy name). */
  readonly action: string;
  readonly body: 'json' | 'bytes' | 'none';
  /** Query parameters the operation takes (bound as parameters). */
  readonly query?: readonly string[];
}

const MUTATIONS: readonly Mutation[] = [
  { method: 'PUT', path: new RegExp(`^/2015-03-31/functions/${FN}/configuration$`), action: 'UpdateFunctionConfiguration', body: 'json' },
  { method: 'PUT', path: new RegExp(`^/2015-03-31/functions/${FN}/code$`), action: 'UpdateFunctionCode', body: 'json' },
  { method: 'DELETE', path: new RegExp(`^/2015-03-31/functions/${FN}$`), action: 'DeleteFunction', body: 'none' },
  { method: 'POST', path: /^\/2015-03-31\/functions\/?$/, action: 'CreateFunction', body: 'json' },
  { method: 'POST', path: new RegExp(`^/2015-03-31/functions/${FN}/invocations$`), action: 'InvokeFunction', body: 'bytes' },
  { method: 'POST', path: new RegExp(`^/2015-03-31/functions/${FN}/versions$`), action: 'PublishVersion', body: 'json' },
  { method: 'PUT', path: new RegExp(`^/2017-10-31/functions/${FN}/concurrency$`), action: 'PutFunctionConcurrency', body: 'json' },
  { method: 'DELETE', path: new RegExp(`^/2017-10-31/functions/${FN}/concurrency$`), action: 'DeleteFunctionConcurrency', body: 'none' },
];

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ARN = /^arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})$/;

export function classifyLambda(input: RestInput): Parsed {
  const path = input.url.pathname;
  const query = singleQuery(input.url.searchParams);
  if (!query.ok) return refuse(`Lambda: ${query.reason}`);
  if (input.method === 'GET' || input.method === 'HEAD') {
    if (READS.some((r) => r.test(path))) return { kind: 'read' };
    return refuse(`GET ${path.slice(0, 120)} is not a Lambda read seb knows, so it is refused`);
  }
  const op = MUTATIONS.find((o) => o.method === input.method && o.path.test(path));
  if (!op) return refuse(`${input.method} ${path.slice(0, 120)} is not a Lambda operation seb can certify yet`);
  if (query.params.size > 0) return refuse(`Lambda ${op.action} with query parameters (${[...query.params.keys()].slice(0, 3).join(', ')}) is not certifiable yet: seb names the unqualified function only`);
  if (!input.accountId) return refuse(`lambda:${op.action} is a mutation, and its target ARN needs the account id: set aws.accountId in the seb config`);

  const content = input.payload.content;
  const params: Record<string, JsonValue> = {};
  let body: JsonValue | undefined;
  if (op.body === 'json' && content.length > 0) {
    const type = String(input.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return refuse(`Lambda ${op.action} bodies are JSON (Content-Type: application/json), not ${type || 'untyped'}`);
    const parsed = jsonBody(content, `Lambda ${op.action} body`);
    if (!parsed.ok) return refuse(parsed.reason);
    body = parsed.value;
  } else if (content.length > 0) {
    body = bodyDigest(content);
  }

  let fnText = op.path.exec(path)?.groups?.fn;
  if (fnText === undefined) {
    // CreateFunction names the function in its body
    const named = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, JsonValue>).FunctionName : undefined;
    if (typeof named !== 'string') return refuse('Lambda CreateFunction without a FunctionName string in its body');
    fnText = encodeURIComponent(named);
  }
  const fn = functionName(fnText, input);
  if (!fn.ok) return refuse(fn.reason);
  params.FunctionName = fn.name;
  const headers = boundHeaders(input.headers, input.payload, op.body === 'json' ? ['content-type'] : []);
  if (!headers.ok) return refuse(`Lambda: ${headers.reason}`);
  if (Object.keys(headers.headers).length > 0) params.Headers = headers.headers;
  if (body !== undefined) params.Body = body;
  return { kind: 'mutation', operation: `lambda:${op.action}`, targets: [`arn:aws:lambda:${input.region}:${input.accountId}:function:${fn.name}`], params };
}

/** The function a path segment names: a plain name, or a full unqualified ARN of this account and region. */
function functionName(segment: string, input: RestInput): { ok: true; name: string } | { ok: false; reason: string } {
  const text = decodeSegment(segment);
  if (text === undefined) return { ok: false, reason: 'the function name in the path is not valid percent-encoding' };
  if (NAME.test(text)) return { ok: true, name: text };
  const arn = ARN.exec(text);
  if (!arn) return { ok: false, reason: `"${text.slice(0, 100)}" is neither a Lambda function name nor an unqualified function ARN (qualified names, versions and aliases are not certifiable yet)` };
  if (arn[1] !== input.region) return { ok: false, reason: `the function ARN is in ${arn[1]}, the request is signed for ${input.region}` };
  if (arn[2] !== input.accountId) return { ok: false, reason: `the function ARN names account ${arn[2]}, seb's aws.accountId is ${input.accountId}` };
  return { ok: true, name: arn[3]! };
}
