// The apiserver's HTTP call to an admission webhook: POST <url>?timeout=<timeoutSeconds>s over HTTPS (trusting
// clientConfig.caBundle), the headers kube-apiserver sends (User-Agent kube-apiserver-admission), a deadline of
// timeoutSeconds, and transport errors worded as Go's net/http and crypto/tls word them.
import https from 'node:https';
import { gunzipSync } from 'node:zlib';
import { getObject, type Obj } from './store.ts';
import type { ServerState } from './types.ts';

export type CallOutcome = { review: Obj } | { error: string } | { failed: string };

const timeoutOf = (hook: Obj): number => (typeof hook.timeoutSeconds === 'number' ? hook.timeoutSeconds : 10);

/** The URL the apiserver posts to: the configured one (or the service's DNS name) plus `timeout=<n>s`. */
export function webhookUrl(hook: Obj): string {
  const cc = (hook.clientConfig ?? {}) as Obj;
  let base: string;
  if (cc.url) base = String(cc.url);
  else {
    const s = (cc.service ?? {}) as Obj;
    base = `https://${s.name}.${s.namespace}.svc:${s.port ?? 443}${s.path ?? ''}`;
  }
  return `${base}${base.includes('?') ? '&' : '?'}timeout=${timeoutOf(hook)}s`;
}

function goError(e: NodeJS.ErrnoException, host: string, port: string): string {
  switch (e.code) {
    case 'ECONNREFUSED': return `dial tcp ${host}:${port}: connect: connection refused`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `dial tcp: lookup ${host}: no such host`;
    case 'ECONNRESET': return 'EOF';
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return `tls: failed to verify certificate: x509: certificate is not valid for ${host}`;
    case 'CERT_HAS_EXPIRED': return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'SELF_SIGNED_CERT_IN_CHAIN': case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    default: return e.message;
  }
}

/** What client-go's rest client reports for a non-2xx answer without a Status body. */
function statusError(code: number, body: string): string {
  if (code >= 500) return `an error on the server (${JSON.stringify(body.trim())}) has prevented the request from succeeding`;
  const known: Record<number, string> = {
    400: 'the server rejected our request for an unknown reason', 401: 'the server has asked for the client to provide credentials',
    403: 'the server does not allow access to the requested resource', 404: 'the server could not find the requested resource',
    405: 'the server does not allow this method on the requested resource', 422: 'the server rejected our request due to an error in our request',
    429: 'the server has received too many requests and has asked us to try again later',
  };
  return known[code] ?? `the server responded with the status code ${code} but did not return more information`;
}

export function callWebhook(state: ServerState, hook: Obj, body: string): Promise<CallOutcome> {
  const cc = (hook.clientConfig ?? {}) as Obj;
  const url = new URL(webhookUrl(hook));
  let connectHost = url.hostname;
  let connectPort = url.port || '443';
  if (!cc.url) {
    const s = (cc.service ?? {}) as Obj;
    if (!getObject(state.store, '', 'services', s.namespace, s.name)) return Promise.resolve({ error: `service "${s.name}" not found` });
    const addr = state.opts.webhookServiceAddress?.({ namespace: s.namespace, name: s.name, port: s.port ?? 443 });
    if (!addr) return Promise.resolve({ error: `dial tcp: lookup ${url.hostname}: no such host` });
    const i = addr.lastIndexOf(':');
    connectHost = addr.slice(0, i).replace(/^\[|\]$/g, '');
    connectPort = addr.slice(i + 1);
  }
  const ca = cc.caBundle ? Buffer.from(String(cc.caBundle), 'base64').toString('utf8') : undefined;
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: CallOutcome): void => { if (!settled) { settled = true; clearTimeout(timer); resolve(o); } };
    const req = https.request({
      host: connectHost, port: Number(connectPort), servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
      method: 'POST', path: `${url.pathname}${url.search}`, ...(ca ? { ca } : {}),
      headers: {
        Host: url.host, 'User-Agent': 'kube-apiserver-admission', 'Content-Length': String(Buffer.byteLength(body)),
        Accept: 'application/json, */*', 'Content-Type': 'application/json', 'Accept-Encoding': 'gzip',
      },
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => done({ error: goError(e, url.hostname, connectPort) }));
      res.on('end', () => {
        let raw = Buffer.concat(chunks);
        try { if (/gzip/i.test(String(res.headers['content-encoding'] ?? ''))) raw = gunzipSync(raw); } catch { /* keep raw */ }
        const text = raw.toString('utf8');
        let parsed: Obj | undefined;
        try { parsed = JSON.parse(text) as Obj; } catch { parsed = undefined; }
        const code = res.statusCode ?? 0;
        if (code < 200 || code > 206) {
          done({ failed: parsed?.kind === 'Status' && parsed.message ? String(parsed.message) : statusError(code, text) });
        } else if (!parsed || typeof parsed !== 'object') {
          done({ failed: `couldn't get version/kind; json parse error: ${text.length ? 'invalid character' : 'unexpected end of JSON input'}` });
        } else done({ review: parsed });
      });
    });
    const timer = setTimeout(() => { done({ error: 'context deadline exceeded' }); req.destroy(); }, timeoutOf(hook) * 1000);
    req.on('error', (e: NodeJS.ErrnoException) => done({ error: goError(e, connectHost, connectPort) }));
    req.end(body);
  });
}
