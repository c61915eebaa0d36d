// Where a destination goes: an ordered list of rules, first match wins, anything unmatched is refused with a
// message naming the configuration key that would allow it (like Teleport's forward-proxy handler list).
import type { SebConfig } from '../config/schema.ts';

export type Platform = 'aws' | 'kube';

export interface Authority {
  readonly host: string; // lower case, IPv6 without brackets
  readonly port: number;
}

export type Route =
  | { readonly kind: 'intercept'; readonly platform: Platform }
  | { readonly kind: 'tunnel' }
  | { readonly kind: 'refuse'; readonly message: string };

/** Parses "host:port" / "[v6]:port" / "host" (with defaultPort). Returns undefined for anything else. */
export function parseAuthority(input: string, defaultPort?: number): Authority | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(input);
  if (!m) return undefined;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port === undefined || port < 1 || port > 65535) return undefined;
  const host = (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, '');
  if (host.length === 0 || host.length > 253) return undefined;
  return { host, port };
}

export function formatAuthority(a: Authority, defaultPort?: number): string {
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return a.port === defaultPort ? host : `${host}:${a.port}`;
}

/** "*.example.com" matches any subdomain (not the apex); without ":port" a pattern matches ports 443 and 80. */
export function hostPatternMatches(pattern: string, a: Authority): boolean {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(pattern);
  if (!m) return false;
  const hostPart = (m[1] ?? m[2]!).toLowerCase();
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port === undefined ? a.port !== 443 && a.port !== 80 : port !== a.port) return false;
  if (hostPart.startsWith('*.')) return a.host.length > hostPart.length - 1 && a.host.endsWith(hostPart.slice(1));
  return a.host === hostPart;
}

export type Router = (a: Authority) => Route;

export function createRouter(config: Pick<SebConfig, 'intercept' | 'tunnel'>): Router {
  const rules: ReadonlyArray<{ patterns: readonly string[]; route: Route }> = [
    { patterns: config.intercept.aws, route: { kind: 'intercept', platform: 'aws' } },
    { patterns: config.intercept.kube, route: { kind: 'intercept', platform: 'kube' } },
    { patterns: config.tunnel.allow, route: { kind: 'tunnel' } },
  ];
  return (a) => {
    for (const rule of rules) {
      if (rule.patterns.some((p) => hostPatternMatches(p, a))) return rule.route;
    }
    const name = formatAuthority(a);
    return {
      kind: 'refuse',
      message:
        `seb refuses to connect to ${name}: it is neither intercepted nor tunnelled. ` +
        `To relay it unmodified, add "${name}" to tunnel.allow; if it is a Kubernetes API server, add it to intercept.kube.`,
    };
  };
}
