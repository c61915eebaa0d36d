// Kubernetes API paths: /api/v1/... (core group) and /apis/GROUP/VERSION/..., then
// [namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]. Anything irregular (dot segments, encoded slashes, empty
// segments, a trailing slash) is refused rather than normalised: the apiserver and seb must not disagree.
export interface ResourcePath {
  readonly group: string; // '' for the core group
  readonly version: string;
  readonly namespace?: string;
  readonly resource: string;
  readonly name?: string;
  readonly subresource?: string;
}

export type PathParse =
  | { readonly kind: 'resource'; readonly path: ResourcePath }
  | { readonly kind: 'other' } // not under /api/VERSION/ or /apis/GROUP/VERSION/: discovery, /version, /openapi ...
  | { readonly kind: 'invalid'; readonly reason: string };

const SEGMENT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/; // DNS-1123 subdomain-ish: names, namespaces, resources
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function parseKubePath(rawPath: string): PathParse {
  // Kubernetes names never need escaping, and the apiserver decodes what seb would not: "/%61pi/..." is "/api/...".
  if (rawPath.includes('%')) return { kind: 'invalid', reason: 'percent-encoding in the path' };
  if (rawPath.includes('//')) return { kind: 'invalid', reason: 'empty path segment ("//")' };
  if (rawPath.length > 1 && rawPath.endsWith('/')) return { kind: 'invalid', reason: 'trailing "/"' };
  const segments = rawPath.split('/').slice(1);
  if (segments.some((s) => s === '.' || s === '..')) return { kind: 'invalid', reason: 'dot segment in the path' };
  let rest: string[];
  let group: string;
  let version: string;
  if (segments[0] === 'api') {
    if (segments.length < 3) return { kind: 'other' };
    group = '';
    version = segments[1]!;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis') {
    if (segments.length < 4) return { kind: 'other' };
    group = segments[1]!;
    version = segments[2]!;
    rest = segments.slice(3);
  } else {
    return { kind: 'other' };
  }
  if (!rest.every((s) => SEGMENT.test(s)) || !/^v\d+((alpha|beta)\d+)?$/.test(version)) {
    return { kind: 'invalid', reason: 'a path segment is not a valid Kubernetes name' };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2]!))) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return { kind: 'invalid', reason: `unexpected path shape ${rawPath.slice(0, 200)}` };
  const [resource, name, subresource] = rest as [string, string | undefined, string | undefined];
  return {
    kind: 'resource',
    path: { group, version, resource, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) },
  };
}

/** Non-resource paths that only describe the server; a GET on any other non-resource path is not a known read. */
export function isDiscoveryPath(rawPath: string): boolean {
  return /^\/(api|apis)$/.test(rawPath) || /^\/api\/v[0-9a-z]+$/.test(rawPath) || /^\/apis\/[a-z0-9.-]+(\/v[0-9a-z]+)?$/.test(rawPath)
    || /^\/(version|healthz|livez|readyz)(\/[a-z-]+)?$/.test(rawPath) || /^\/openapi\/(v2|v3)(\/[a-z0-9./-]*)?$/.test(rawPath)
    || rawPath === '/.well-known/openid-configuration' || rawPath === '/openid/v1/jwks';
}
