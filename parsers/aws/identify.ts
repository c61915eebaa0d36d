// A first reading of an AWS request: service, region and operation, for logs and metrics. The full contract
// parser (every protocol, normalised parameters) builds on this.
import { credentialScopeOf } from './sigv4.ts';

export interface AwsRequestSummary {
  readonly service: string;
  readonly region: string;
  readonly operation: string;
}

export function identifyAws(input: { method: string; host: string; url: URL; headers: Record<string, string | string[] | undefined>; body: Buffer }): AwsRequestSummary {
  const authorization = single(input.headers['authorization']);
  const scope = credentialScopeOf(authorization, input.url.searchParams);
  const hostParts = input.host.split('.');
  const service = scope?.service ?? hostParts[0] ?? 'unknown';
  const region = scope?.region ?? (hostParts.length >= 4 ? hostParts[1]! : 'us-east-1');
  return { service, region, operation: operationOf(input) };
}

function operationOf(input: { method: string; url: URL; headers: Record<string, string | string[] | undefined>; body: Buffer }): string {
  const target = single(input.headers['x-amz-target']);
  if (target) return target.slice(target.lastIndexOf('.') + 1);
  const queryAction = input.url.searchParams.get('Action');
  if (queryAction) return queryAction;
  const contentType = single(input.headers['content-type']) ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded') && input.body.length > 0) {
    const action = new URLSearchParams(input.body.toString('latin1')).get('Action');
    if (action) return action;
  }
  return `${input.method} ${input.url.pathname}`; // REST protocols: named by the contract parser later
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
