// Endpoint mode: clients that ignore HTTPS_PROXY (AWS SDK for JavaScript v3, @kubernetes/client-node) address
// seb directly, so the API a request is for comes from the request itself: a SigV4 credential scope names the
// AWS service and region; anything else is for the configured Kubernetes API server.
import type { IncomingMessage } from 'node:http';
import type { SebConfig } from '../config/schema.ts';
import type { SebCode } from '../errors/codes.ts';
import { awsEndpointHost } from '../parsers/aws/endpoints.ts';
import { credentialScopeOf, isAwsSigned } from '../parsers/aws/sigv4.ts';
import type { Destination } from './context.ts';
import { parseAuthority } from './routing.ts';

export type EndpointResolution =
  | { readonly ok: true; readonly dest: Destination }
  | { readonly ok: false; readonly code: SebCode; readonly message: string };

export function endpointDestination(upstreams: SebConfig['upstreams'], req: IncomingMessage, url: URL): EndpointResolution {
  const authorization = req.headers['authorization'];
  if (isAwsSigned(authorization, url.searchParams)) {
    const scope = credentialScopeOf(authorization, url.searchParams);
    if (!scope) {
      return { ok: false, code: 'SEB_BAD_REQUEST', message: 'the SigV4 credential scope is malformed; expected Credential=KEY/YYYYMMDD/REGION/SERVICE/aws4_request' };
    }
    const authority = parseAuthority(awsEndpointHost(scope.service, scope.region), 443)!;
    return { ok: true, dest: { platform: 'aws', authority, scheme: 'https', via: 'endpoint' } };
  }
  if (!upstreams.kube) {
    return {
      ok: false,
      code: 'SEB_NO_UPSTREAM',
      message: 'this request carries no AWS signature, so it is taken for Kubernetes, but no Kubernetes API server is configured: set upstreams.kube (or --upstream kube=URL)',
    };
  }
  const kube = new URL(upstreams.kube);
  const scheme = kube.protocol === 'http:' ? 'http' : 'https';
  const authority = parseAuthority(kube.host, scheme === 'https' ? 443 : 80)!;
  return { ok: true, dest: { platform: 'kube', authority, scheme, via: 'endpoint' } };
}
