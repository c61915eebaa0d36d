// A Kubernetes API request as seb decides on it: a read, or a mutation contract (verb, the one object it
// touches, the body as parameters), or a mutation seb refuses because it cannot express it. Reads are GET/HEAD
// on resources and non-resource paths; GETs that open streams into pods (exec, attach, portforward, proxy) are
// mutations; so is everything else.
import { parse as parseYaml } from 'yaml';
import { sebError } from '../../errors/codes.ts';
import type { JsonValue, KubeVerb } from '../../certs/sab/types.ts';
import type { Classification, GateRequest } from '../../pipeline/gate.ts';
import { isDeepStrictEqual } from 'node:util';
import { isDiscoveryPath, parseKubePath, type ResourcePath } from './path.ts';
import { strictJsonBody, utf8Text } from '../body.ts';
import { decodeProtobufBody, PROTOBUF_MEDIA_TYPE } from './protobuf.ts';

const STREAMING_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);
const VERB_BY_METHOD: Readonly<Record<string, KubeVerb>> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** A Classification; a mutation whose body seb re-serialised in another media type (a protobuf body forwarded as
 * the JSON seb checked) also says the Content-Type to forward it with, replacing the client's. */
export type KubeClassification = Classification | (Extract<Classification, { kind: 'mutation' }> & { readonly contentType?: string });

export function classifyKube(req: GateRequest): KubeClassification {
  const unsupported = (message: string): Classification => ({ kind: 'unsupported', error: sebError('SEB_REQUEST_UNSUPPORTED', message) });
  for (const h of Object.keys(req.headers)) {
    if (h.startsWith('impersonate-')) return unsupported(`the ${h} header is refused: impersonation would execute under another identity than the certified one`);
    if (h === 'x-http-method-override') return unsupported('X-HTTP-Method-Override is refused: the method seb checks must be the method executed');
  }
  const parsed = parseKubePath(req.url.pathname);
  if (parsed.kind === 'invalid') return unsupported(`malformed Kubernetes API path: ${parsed.reason}`);
  const isGet = req.method === 'GET' || req.method === 'HEAD';
  if (parsed.kind === 'other') {
    if (isGet && isDiscoveryPath(req.url.pathname)) return { kind: 'read' };
    return unsupported(`${req.method} ${req.url.pathname} is not a Kubernetes resource request nor API discovery; seb cannot certify it`);
  }
  const p = parsed.path;
  if (isGet && !(p.subresource && STREAMING_SUBRESOURCES.has(p.subresource))) return { kind: 'read' };

  const verb: KubeVerb | undefined = isGet ? 'create' : VERB_BY_METHOD[req.method]; // a streaming GET opens a session: a create
  if (!verb) return unsupported(`method ${req.method} is not a Kubernetes API verb`);
  const body = parseBody(req, p);
  if (!body.ok) return unsupported(body.message);
  let name = p.name;
  if (verb === 'create' && name === undefined) {
    const meta = (body.value as { metadata?: { name?: unknown } } | undefined)?.metadata;
    if (typeof meta?.name !== 'string' || meta.name === '') return unsupported('creating an object without metadata.name (generateName) cannot be certified: the SAB certifies named objects');
    name = meta.name;
  }
  if (name === undefined) return unsupported(`${verb} on a whole collection (deletecollection) cannot be certified in certificate format v1`);
  const patchType = verb === 'patch' ? PATCH_TYPES[mediaTypeOf(req)] : undefined;
  if (verb === 'patch' && !patchType) return unsupported(`PATCH with Content-Type ${mediaTypeOf(req) || '(none)'} is not a Kubernetes patch type`);
  // The parameters bind everything that shapes the change: the body, every query option (command=, dryRun=,
  // fieldManager=, force=, propagationPolicy= ...) and, for a patch, how the body is applied.
  const query = queryOf(req.url.searchParams);
  const params: Record<string, JsonValue> = {};
  if (body.value !== undefined) params.body = body.value;
  if (query) params.query = query;
  if (patchType) params.patchType = patchType;
  return {
    kind: 'mutation',
    contract: {
      platform: 'kube',
      operation: verb,
      targets: [{ group: p.group, version: p.version, resource: p.resource, ...(p.namespace !== undefined ? { namespace: p.namespace } : {}), name, ...(p.subresource !== undefined ? { subresource: p.subresource } : {}) }],
      params,
    },
    ...(body.reserialised ? { body: body.reserialised } : {}),
    ...(body.contentType ? { contentType: body.contentType } : {}),
  };
}

const PATCH_TYPES: Readonly<Record<string, string>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply-cbor',
};

function mediaTypeOf(req: GateRequest): string {
  const raw = req.headers['content-type'];
  return String(Array.isArray(raw) ? raw[0] : (raw ?? '')).split(';')[0]!.trim().toLowerCase();
}

function queryOf(params: URLSearchParams): Record<string, string[]> | undefined {
  const keys = [...new Set(params.keys())].sort();
  if (keys.length === 0) return undefined;
  return Object.fromEntries(keys.map((k) => [k, params.getAll(k)]));
}

type ParsedBody = { ok: true; value: JsonValue | undefined; reserialised?: Buffer; contentType?: string } | { ok: false; message: string };

function parseBody(req: GateRequest, target: ResourcePath): ParsedBody {
  if (req.body.length === 0) return { ok: true, value: undefined };
  const type = mediaTypeOf(req);
  if (type === '' || type === 'application/json' || type.endsWith('-patch+json')) return strictJsonBody(req.body);
  if (type === 'application/apply-patch+yaml' || type === 'application/yaml') {
    const text = utf8Text(req.body);
    if (!text.ok) return text;
    let value: unknown;
    try {
      // YAML 1.1, as the apiserver's Go decoder reads it ("on"/"yes" are booleans there); aliases refused.
      value = parseYaml(text.text, { uniqueKeys: true, maxAliasCount: 0, version: '1.1' });
    } catch (err) {
      return { ok: false, message: `the request body is not valid YAML: ${(err as Error).message.slice(0, 200)}` };
    }
    // Forward the JSON of what was checked (JSON is YAML to the apiserver), so no YAML reading of the original
    // bytes can differ from seb's; values that have no JSON form (timestamps, binary) are refused.
    const json = JSON.stringify(value ?? null);
    if (!isDeepStrictEqual(JSON.parse(json), value ?? null)) return { ok: false, message: 'the YAML body holds values with no JSON form (timestamps, binary ...); send them as strings' };
    return { ok: true, value: value as JsonValue, reserialised: Buffer.from(json) };
  }
  if (type === PROTOBUF_MEDIA_TYPE) {
    // Decoded into the object the apiserver would build, and forwarded as that JSON (Content-Type
    // application/json), so what executes is what was checked. Only create and update carry objects.
    if (req.method !== 'POST' && req.method !== 'PUT') return { ok: false, message: `a Kubernetes protobuf body on ${req.method} is not decoded by seb; only create (POST) and update (PUT) bodies are` };
    const decoded = decodeProtobufBody(req.body, target);
    if (!decoded.ok) return { ok: false, message: `the Kubernetes protobuf request body was not decoded: ${decoded.message}; seb cannot check it and refuses the mutation` };
    return { ok: true, value: decoded.value, reserialised: Buffer.from(JSON.stringify(decoded.value)), contentType: 'application/json' };
  }
  return { ok: false, message: `request bodies of type ${type || 'unknown'} are not decoded by this version of seb, so the mutation cannot be checked and is refused` };
}
