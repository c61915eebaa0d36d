// `seb explain FILE.har`: how seb would decide every request of a capture (HAR 1.2, as mitmproxy, browsers and
// test/fixtures/har/record.ts write it) — a read that passes, a mutation and the contract a certificate must
// authorise, or a refusal with its code. The same parsers as the proxy, on the headers the upstream would get.
// It does not verify signatures (the agent's keys are seb's) nor talk to anything.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import type { SebConfig } from '../config/schema.ts';
import { sebError, type SebCode } from '../errors/codes.ts';
import { classifyAws } from '../parsers/aws/classify.ts';
import { awsEndpointHost } from '../parsers/aws/endpoints.ts';
import { credentialScopeOf, isAwsSigned } from '../parsers/aws/sigv4.ts';
import { classifyKube } from '../parsers/kube/classify.ts';
import type { Classification, GateRequest } from '../pipeline/gate.ts';
import type { RequestContract } from '../pipeline/types.ts';
import { upstreamRequestHeaders } from '../proxy/headers.ts';
import { hostPatternMatches, parseAuthority } from '../proxy/routing.ts';
import { CliError } from './sab.ts';

const header = z.object({ name: z.string(), value: z.string() });
const harSchema = z.object({
  log: z.object({
    version: z.string().optional(),
    entries: z.array(z.object({
      comment: z.string().optional(),
      request: z.object({
        method: z.string().regex(/^[A-Z]{1,16}$/, { error: 'must be an upper-case HTTP method' }),
        url: z.string().regex(/^https?:\/\//, { error: 'must be an absolute http(s) URL' }),
        headers: z.array(header),
        postData: z.object({ text: z.string().optional(), _encoding: z.literal('base64').optional() }).optional(),
      }),
    })),
  }),
});

export interface ExplainedEntry {
  readonly index: number;
  readonly method: string;
  readonly url: string;
  readonly comment?: string;
  readonly platform: 'aws' | 'kube';
  readonly decision: 'read' | 'mutation' | 'refused';
  readonly contract?: RequestContract;
  readonly code?: SebCode;
  readonly message?: string;
}

export interface ExplainOptions {
  readonly accountId?: string | undefined;
  /** intercept.aws: hosts taken as AWS (others are AWS only when SigV4-signed, as in endpoint mode). */
  readonly awsHosts: readonly string[];
}

/** Every entry of a HAR document explained, or why the document is not a HAR file seb can read. */
export function explainHar(text: string, opts: ExplainOptions): { ok: true; entries: ExplainedEntry[] } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const har = harSchema.safeParse(json);
  if (!har.success) {
    const issue = har.error.issues[0]!;
    return { ok: false, error: `not a HAR 1.2 document: ${issue.path.length > 0 ? issue.path.join('.') : 'the document'}: ${issue.message}` };
  }
  const entries: ExplainedEntry[] = [];
  for (const [i, entry] of har.data.log.entries.entries()) {
    const r = entry.request;
    let url: URL;
    try {
      url = new URL(r.url);
    } catch {
      return { ok: false, error: `not a HAR 1.2 document: log.entries.${i}.request.url: "${r.url.slice(0, 80)}" is not a URL` };
    }
    const body = r.postData?.text === undefined ? Buffer.alloc(0) : Buffer.from(r.postData.text, r.postData._encoding === 'base64' ? 'base64' : 'utf8');
    const base = { index: i + 1, method: r.method, url: r.url, ...(entry.comment ? { comment: entry.comment } : {}) };
    entries.push({ ...base, ...decide(r.method, url, r.headers, body, opts) });
  }
  return { ok: true, entries };
}

function decide(method: string, url: URL, list: ReadonlyArray<{ name: string; value: string }>, body: Buffer, opts: ExplainOptions): Pick<ExplainedEntry, 'platform' | 'decision' | 'contract' | 'code' | 'message'> {
  const received: Record<string, string> = {};
  for (const { name, value } of list) {
    const k = name.toLowerCase();
    if (k.startsWith(':')) continue; // HTTP/2 pseudo-headers
    received[k] = received[k] === undefined ? value : `${received[k]}, ${value}`;
  }
  const headers = upstreamRequestHeaders(received); // what the gate sees: hop-by-hop headers dropped
  const authority = parseAuthority(url.host, url.protocol === 'http:' ? 80 : 443);
  let host = authority?.host ?? url.hostname;
  let platform: 'aws' | 'kube' = 'kube';
  if (authority && opts.awsHosts.some((p) => hostPatternMatches(p, authority))) platform = 'aws';
  else if (isAwsSigned(received['authorization'], url.searchParams)) {
    // endpoint mode: the credential scope names the service, as seb's endpoint listener resolves it
    const scope = credentialScopeOf(received['authorization'], url.searchParams);
    if (!scope) return { platform: 'aws', decision: 'refused', code: 'SEB_BAD_REQUEST', message: 'the SigV4 credential scope is malformed' };
    platform = 'aws';
    host = awsEndpointHost(scope.service, scope.region);
  }
  const req: GateRequest = { host, ...(received['host'] ? { hostHeader: received['host'] } : {}), method, url, headers, body };
  const encoding = headers['content-encoding']?.toString().trim().toLowerCase();
  if (body.length > 0 && encoding && encoding !== 'identity' && !(platform === 'aws' && encoding === 'aws-chunked')) {
    return refused(platform, { kind: 'unsupported', error: sebError('SEB_REQUEST_UNSUPPORTED', `request bodies with Content-Encoding ${encoding} are refused: seb must read the body it lets through`) });
  }
  const c = platform === 'aws' ? classifyAws(req, { host, accountId: opts.accountId }) : classifyKube(req);
  if (c.kind === 'read') return { platform, decision: 'read' };
  if (c.kind === 'mutation') return { platform, decision: 'mutation', contract: c.contract };
  return refused(platform, c);
}

function refused(platform: 'aws' | 'kube', c: Extract<Classification, { kind: 'unsupported' }>): Pick<ExplainedEntry, 'platform' | 'decision' | 'code' | 'message'> {
  return { platform, decision: 'refused', code: c.error.code, message: c.error.message };
}

/** The human-readable report. */
export function formatExplained(entries: readonly ExplainedEntry[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(`[${e.index}] ${e.method} ${e.url}${e.comment ? `\n    (${e.comment.length > 140 ? `${e.comment.slice(0, 140)}...` : e.comment})` : ''}`);
    if (e.decision === 'read') lines.push(`    read (${e.platform}): passes without a certificate`);
    else if (e.decision === 'refused') lines.push(`    refused (${e.platform}) ${e.code}: ${e.message}`);
    else {
      const c = e.contract!;
      lines.push(`    mutation (${e.platform}): needs a certificate for this contract`);
      lines.push(`      operation: ${c.operation}`);
      lines.push(`      targets:   ${c.targets.map((t) => (typeof t === 'string' ? t : JSON.stringify(t))).join(', ')}`);
      lines.push(`      params:    ${JSON.stringify(c.params)}`);
    }
  }
  const count = (d: ExplainedEntry['decision']) => entries.filter((e) => e.decision === d).length;
  lines.push(`${entries.length} entries: ${count('read')} reads, ${count('mutation')} mutations needing a certificate, ${count('refused')} refused`);
  return lines.join('\n') + '\n';
}

export function registerExplainCommand(program: Command, withConfig: (cmd: Command) => Command, configFrom: (flags: object) => SebConfig): void {
  withConfig(program.command('explain <file>').description('explain how seb decides every request of a HAR capture: read, mutation (with its contract) or refused'))
    .option('--json', 'print the decisions as JSON')
    .option('--account-id <id>', 'AWS account whose ARNs contracts name (default: aws.accountId)')
    .action(async (file: string, flags: { json?: boolean; accountId?: string }) => {
      const config = configFrom(flags);
      if (flags.accountId !== undefined && !/^\d{12}$/.test(flags.accountId)) throw new CliError('--account-id must be a 12-digit AWS account id');
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const explained = explainHar(text, { accountId: flags.accountId ?? config.aws.accountId, awsHosts: config.intercept.aws });
      if (!explained.ok) throw new CliError(`${file} is ${explained.error}`);
      process.stdout.write(flags.json ? JSON.stringify(explained.entries, null, 2) + '\n' : formatExplained(explained.entries));
    });
}
