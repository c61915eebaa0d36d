// Where an intercepted request is sent, and with which Host header.
//
//   agent ──CONNECT ec2.us-east-1.amazonaws.com:443──▶ seb ──▶ https://ec2.us-east-1.amazonaws.com (real API)
//                                                          └─▶ upstreams.aws, if set (moto_server, LocalStack)
//
// Through CONNECT or an absolute URL the agent named the host itself, so that Host is kept (it is covered by the
// agent's SigV4 signature). In endpoint mode the agent addressed seb, so Host becomes the upstream's own.
import type { SebConfig } from '../config/schema.ts';
import type { Destination } from './context.ts';
import { formatAuthority } from './routing.ts';

export interface Upstream {
  /** scheme://host:port the request is sent to. */
  readonly origin: string;
  readonly hostHeader: string;
}

export function upstreamFor(upstreams: SebConfig['upstreams'], dest: Destination): Upstream {
  const defaultPort = dest.scheme === 'https' ? 443 : 80;
  const addressed = formatAuthority(dest.authority, defaultPort);
  const override = upstreams[dest.platform];
  if (override) {
    const url = new URL(override);
    return { origin: url.origin, hostHeader: dest.via === 'endpoint' ? url.host : addressed };
  }
  return { origin: `${dest.scheme}://${formatAuthority(dest.authority)}`, hostHeader: addressed };
}
