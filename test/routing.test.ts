// Destination routing and authority parsing: the rules every CONNECT and absolute-form request goes through.
import { describe, expect, it } from 'vitest';
import { createRouter, hostPatternMatches, parseAuthority } from '../proxy/routing.ts';
import { awsEndpointHost } from '../parsers/aws/endpoints.ts';
import { credentialScopeOf } from '../parsers/aws/sigv4.ts';

describe('routing', () => {
  it('parses authorities strictly', () => {
    expect(parseAuthority('EC2.us-east-1.amazonaws.com:443')).toEqual({ host: 'ec2.us-east-1.amazonaws.com', port: 443 });
    expect(parseAuthority('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    expect(parseAuthority('kubernetes.default.svc', 443)).toEqual({ host: 'kubernetes.default.svc', port: 443 });
    for (const bad of ['host', 'host:0', 'host:65536', 'a b:443', 'user@host:443', 'host:443/path', '', ':443']) expect(parseAuthority(bad), bad).toBeUndefined();
  });

  it('matches wildcard patterns on subdomains only, and default ports 443/80 unless a port is named', () => {
    const a = (s: string) => parseAuthority(s)!;
    expect(hostPatternMatches('*.amazonaws.com', a('ec2.us-east-1.amazonaws.com:443'))).toBe(true);
    expect(hostPatternMatches('*.amazonaws.com', a('amazonaws.com:443'))).toBe(false);
    expect(hostPatternMatches('*.amazonaws.com', a('evilamazonaws.com:443'))).toBe(false);
    expect(hostPatternMatches('*.amazonaws.com', a('ec2.amazonaws.com.evil.test:443'))).toBe(false);
    expect(hostPatternMatches('*.amazonaws.com', a('ec2.us-east-1.amazonaws.com:8443'))).toBe(false);
    expect(hostPatternMatches('10.0.0.1:6443', a('10.0.0.1:6443'))).toBe(true);
    expect(hostPatternMatches('10.0.0.1:6443', a('10.0.0.1:443'))).toBe(false);
    expect(hostPatternMatches('[fd00::1]:6443', a('[fd00::1]:6443'))).toBe(true);
  });

  it('routes AWS and Kubernetes hosts to interception, allowlisted hosts to a tunnel, the rest to refusal', () => {
    const route = createRouter({ intercept: { aws: ['*.amazonaws.com'], kube: ['kubernetes.default.svc'] }, tunnel: { allow: ['api.anthropic.com'] } });
    expect(route(parseAuthority('sts.amazonaws.com:443')!)).toEqual({ kind: 'intercept', platform: 'aws' });
    expect(route(parseAuthority('kubernetes.default.svc:443')!)).toEqual({ kind: 'intercept', platform: 'kube' });
    expect(route(parseAuthority('api.anthropic.com:443')!)).toEqual({ kind: 'tunnel' });
    const refused = route(parseAuthority('pastebin.example:443')!);
    expect(refused.kind).toBe('refuse');
    expect(refused.kind === 'refuse' && refused.message).toContain('tunnel.allow');
  });

  it('finds the AWS endpoint for a SigV4 credential scope', () => {
    const scope = credentialScopeOf('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc', new URLSearchParams());
    expect(scope).toEqual({ accessKeyId: 'AKIDEXAMPLE', date: '20261122', region: 'eu-west-1', service: 'ec2' });
    expect(awsEndpointHost('ec2', 'eu-west-1')).toBe('ec2.eu-west-1.amazonaws.com');
    expect(awsEndpointHost('iam', 'us-east-1')).toBe('iam.amazonaws.com');
    expect(awsEndpointHost('ses', 'us-west-2')).toBe('email.us-west-2.amazonaws.com');
    expect(awsEndpointHost('ec2', 'cn-north-1')).toBe('ec2.cn-north-1.amazonaws.com.cn');
    expect(credentialScopeOf('AWS4-HMAC-SHA256 Credential=bad', new URLSearchParams())).toBeUndefined();
    expect(credentialScopeOf(undefined, new URLSearchParams('X-Amz-Credential=AKID%2F20261122%2Fus-east-1%2Fs3%2Faws4_request'))?.service).toBe('s3');
  });

  it('runs on the project\'s own Node 24, not the machine\'s Node 20', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});
