// The seb command line as an operator uses it: ca init, agent-env, serve on embedded defaults, bad configuration,
// and graceful shutdown on SIGTERM with a request in flight.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyAgent, request } from 'undici';
import { runSeb, SEB_BIN } from './helpers/run.ts';
import { freePort } from './helpers/services.ts';
import { startUpstream } from './helpers/upstreams.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function serve(args: string[], cwd: string): { child: ChildProcess; lines: Array<Record<string, unknown>>; waitFor: (msg: string) => Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, [SEB_BIN, 'serve', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    pending += d.toString();
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const p of parts) if (p) lines.push(JSON.parse(p) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = async (msg: string) => {
    for (;;) {
      const hit = lines.find((l) => l.msg === msg || l.event === msg);
      if (hit) return hit;
      if (child.exitCode !== null) throw new Error(`seb exited with ${child.exitCode} before logging ${msg}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { child, lines, waitFor };
}

describe('seb CLI', () => {
  it('ca init creates a CA certificate and a 0600 key, keeps them on a second run, replaces them with --force', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'seb-cli-'));
    const first = await runSeb(['ca', 'init', '--state-dir', dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('created CA');
    const keyMode = (await stat(path.join(dir, 'ca', 'ca.key'))).mode & 0o777;
    expect(keyMode).toBe(0o600);
    const certPem = await readFile(path.join(dir, 'ca', 'ca.crt'), 'utf8');
    const cert = new X509Certificate(certPem);
    expect(cert.ca).toBe(true);
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(await readFile(path.join(dir, 'ca', 'ca.key'), 'utf8')))).toBe(true);

    const second = await runSeb(['ca', 'init', '--state-dir', dir]);
    expect(second.stdout).toContain('kept existing CA');
    expect(await readFile(path.join(dir, 'ca', 'ca.crt'), 'utf8')).toBe(certPem);

    const forced = await runSeb(['ca', 'init', '--state-dir', dir, '--force']);
    expect(forced.stdout).toContain('created CA');
    expect(await readFile(path.join(dir, 'ca', 'ca.crt'), 'utf8')).not.toBe(certPem);
    expect((await stat(path.join(dir, 'ca', 'ca.key'))).mode & 0o777).toBe(0o600);
  });

  it('agent-env prints shell exports with a CA bundle holding seb\'s CA and the system roots', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'seb-cli-'));
    const out = await runSeb(['agent-env', '--state-dir', dir, '--proxy-listen', '0.0.0.0:9999']);
    expect(out.code, out.stderr).toBe(0);
    const env = Object.fromEntries([...out.stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
    expect(env.HTTPS_PROXY).toBe('http://127.0.0.1:9999');
    expect(env.NODE_EXTRA_CA_CERTS).toBe(path.join(dir, 'ca', 'ca.crt'));
    for (const k of ['AWS_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE']) expect(env[k]).toBe(path.join(dir, 'ca', 'bundle.pem'));
    expect(env.NO_PROXY).toContain('127.0.0.1');
    const bundle = await readFile(env.AWS_CA_BUNDLE!, 'utf8');
    const ca = await readFile(env.NODE_EXTRA_CA_CERTS!, 'utf8');
    expect(bundle.startsWith(ca.trim())).toBe(true);
    expect(bundle.match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThan(50);
  });

  it('agent-env hands out the placeholder AWS keys seb verifies, and clears any session token', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'seb-cli-'));
    const out = await runSeb(['agent-env', '--state-dir', dir], { env: { ...process.env, SEB_AWS_AGENT_ACCESS_KEY_ID: 'AKIASEBAGENTPLACEHOLDER', SEB_AWS_AGENT_SECRET_ACCESS_KEY: 'placeholder-secret-placeholder-secret' } });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain("export AWS_ACCESS_KEY_ID='AKIASEBAGENTPLACEHOLDER'");
    expect(out.stdout).toContain("export AWS_SECRET_ACCESS_KEY='placeholder-secret-placeholder-secret'");
    expect(out.stdout).toMatch(/^unset AWS_SESSION_TOKEN$/m);
  });

  it('exits non-zero with a message naming the field when the configuration is wrong', async () => {
    const out = await runSeb(['serve', '--admin-listen', 'everywhere', '--log-level', 'loud']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('listen.admin');
    expect(out.stderr).toContain('log.level');
    expect(out.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
  });

  it('serve with no configuration runs on embedded defaults and creates its CA under ./.seb', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'seb-defaults-'));
    const { child, waitFor } = serve([], cwd);
    const started = await waitFor('started');
    expect(started).toMatchObject({ proxy: '127.0.0.1:7080', endpoint: '127.0.0.1:7443', admin: '127.0.0.1:7090' });
    expect((await stat(path.join(cwd, '.seb', 'ca', 'ca.key'))).mode & 0o777).toBe(0o600);
    expect((await readFile(path.join(cwd, '.seb', 'ca', 'bundle.pem'), 'utf8')).startsWith((await readFile(path.join(cwd, '.seb', 'ca', 'ca.crt'), 'utf8')).trim())).toBe(true);
    const health = await fetch('http://127.0.0.1:7090/healthz');
    expect(await health.json()).toEqual({ status: 'ok' });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
  });

  it('on SIGTERM finishes the request in flight, stops accepting, and exits 0', async () => {
    let release: () => void = () => undefined;
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one, ');
      release = () => res.end('part two');
    });
    const cwd = await mkdtemp(path.join(tmpdir(), 'seb-drain-'));
    const [proxyPort, adminPort] = [await freePort(), await freePort()];
    const { child, waitFor, lines } = serve(['--proxy-listen', `127.0.0.1:${proxyPort}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--endpoint-listen', 'off', '--upstream', `aws=${upstream.origin}`], cwd);
    await waitFor('started');
    const ca = await readFile(path.join(cwd, '.seb', 'ca', 'ca.crt'), 'utf8');
    const dispatcher = new ProxyAgent({ uri: `http://127.0.0.1:${proxyPort}`, requestTls: { ca } });
    const res = await request('https://ec2.us-east-1.amazonaws.com/?Action=DescribeRegions', { dispatcher });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    await waitFor('draining');
    expect((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status).toBe(503);
    release();
    expect(await res.body.text()).toBe('part one, part two');
    expect(await exited).toBe(0);
    expect(lines).toContainEqual(expect.objectContaining({ event: 'stopped', drained: true }));
    await expect(fetch(`http://127.0.0.1:${adminPort}/healthz`)).rejects.toThrow();
    await dispatcher.destroy();
    await upstream.close();
  });
});
