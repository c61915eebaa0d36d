// Header hygiene between agent and upstream: hop-by-hop headers (RFC 9110 §7.6.1) and proxy credentials never
// cross seb; the Host header is set explicitly by the caller.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'expect', 'content-length',
]);

function connectionTokens(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Set<string> {
  const raw = headers['connection'];
  const list = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return new Set(list.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/** Request headers to send upstream, minus hop-by-hop ones and any named in `Connection`. */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders | Readonly<Record<string, string | string[] | undefined>>, keep: readonly string[] = []): Record<string, string | string[]> {
  const named = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if ((HOP_BY_HOP.has(name) || named.has(name)) && !keep.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Response headers to send to the agent, minus hop-by-hop ones (Node frames the body itself). */
export function downstreamResponseHeaders(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const named = connectionTokens(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name === 'content-length') {
      out[name] = Array.isArray(value) ? value[0] : value; // kept: a known length spares chunked framing
      continue;
    }
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}
