// Test helpers: the real kubectl against the test server, and raw HTTPS requests.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { KubeApiServer } from '../kube-apiserver/index.ts';

export interface RunResult { code: number; stdout: string; stderr: string }

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs /usr/bin/kubectl with a kubeconfig for `token` (the machine's dispatcher picks kubectl 1.33 for a 1.33 server). */
export function kubectl(srv: KubeApiServer, token: string, args: string[], opts: { dir: string; stdin?: string; env?: Record<string, string> }): Promise<RunResult> {
  const kc = path.join(opts.dir, `kc-${createHash('sha256').update(token).digest('hex').slice(0, 16)}`);
  if (!fs.existsSync(kc)) srv.kubeconfig(token, kc);
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kc, ...args], {
      env: { ...process.env, KUBECACHEDIR: path.join(opts.dir, 'cache'), HOME: opts.dir, ...opts.env }, timeout: 20_000,
    }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  });
}

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: string }

export function request(srv: KubeApiServer, method: string, p: string, opts: { token?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = https.request(`${srv.url}${p}`, { method, ca: srv.caPem, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const FIXTURES = process.env.KUBE_APISERVER_FIXTURES ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../shared/fixtures/kube-apiserver-v1.33');

/** The output kubectl printed for `command` in a recorded transcript (lines until the next blank line); `occurrence` counts from 0 when the command was run several times. */
export function transcriptOutput(scenario: string, command: string, occurrence = 0): string {
  const text = fs.readFileSync(path.join(FIXTURES, 'transcripts', `${scenario}.txt`), 'utf8');
  let start = -1;
  for (let i = 0; i <= occurrence; i++) start = text.indexOf(`$ ${command}\n`, start + 1);
  if (start < 0) throw new Error(`command not in transcript: ${command}`);
  const rest = text.slice(start + command.length + 3);
  return rest.slice(0, rest.indexOf('\n\n')).replace(/\n\[exit status \d+\]$/, '');
}
