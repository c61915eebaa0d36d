// Configuration: embedded defaults, file (YAML/JSON) < SEB_* environment < flags, strict validation whose
// messages name the field, what is expected and where the bad value came from.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.ts';

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seb-config-'));
  const f = path.join(dir, name);
  await writeFile(f, text);
  return f;
}

describe('configuration', () => {
  it('runs on embedded defaults with nothing given', () => {
    const r = loadConfig({}, {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.listen).toEqual({ proxy: '127.0.0.1:7080', endpoint: '127.0.0.1:7443', admin: '127.0.0.1:7090' });
    expect(r.value.stateDir).toBe('.seb');
    expect(r.value.intercept.aws).toContain('*.amazonaws.com');
    expect(Object.isFrozen(r.value.limits)).toBe(true);
  });

  it('layers file < environment < flags', async () => {
    const f = await file('seb.yaml', 'listen:\n  proxy: 127.0.0.1:1111\n  admin: 127.0.0.1:2222\nupstreams:\n  aws: http://127.0.0.1:5000\n');
    const r = loadConfig({ config: f, proxyListen: '127.0.0.1:3333', upstream: ['kube=https://10.0.0.1:6443'] }, { SEB_ADMIN_LISTEN: '127.0.0.1:4444', SEB_TUNNEL_ALLOW: 'api.openai.com, *.anthropic.com' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.listen.proxy).toBe('127.0.0.1:3333');
    expect(r.value.listen.admin).toBe('127.0.0.1:4444');
    expect(r.value.upstreams).toEqual({ aws: 'http://127.0.0.1:5000', kube: 'https://10.0.0.1:6443' });
    expect(r.value.tunnel.allow).toEqual(['api.openai.com', '*.anthropic.com']);
  });

  it('reads JSON files and SEB_CONFIG', async () => {
    const f = await file('seb.json', JSON.stringify({ limits: { maxBodyBytes: 2048 } }));
    const r = loadConfig({}, { SEB_CONFIG: f });
    expect(r.ok && r.value.limits.maxBodyBytes).toBe(2048);
  });

  it('names the field, the expectation and the source of a bad value', () => {
    const r = loadConfig({ proxyListen: 'localhost' }, { SEB_UPSTREAM_AWS: 'ftp://moto' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toContain('listen.proxy: expected "host:port"');
    expect(r.error).toContain('(from --proxy-listen)');
    expect(r.error).toContain('upstreams.aws: expected an http:// or https:// URL (from SEB_UPSTREAM_AWS)');
  });

  it('rejects unknown and mistyped keys in a file instead of ignoring or coercing them', async () => {
    const f = await file('bad.yaml', 'listen:\n  proxi: 127.0.0.1:1\nlimits:\n  maxBodyBytes: "1024"\n');
    const r = loadConfig({ config: f }, {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toContain('listen.proxi: unknown setting');
    expect(r.error).toMatch(/limits\.maxBodyBytes: .*number/);
    expect(r.error).toContain(f);
  });

  it('rejects an upstream with a path, a bad --upstream flag, duplicate keys and unreadable files', async () => {
    const withPath = loadConfig({ upstream: ['aws=http://127.0.0.1:5000/v1'] }, {});
    expect(!withPath.ok && withPath.error).toContain('expected an origin only');
    const badFlag = loadConfig({ upstream: ['gcp=http://x'] }, {});
    expect(!badFlag.ok && badFlag.error).toContain('--upstream gcp=http://x: expected PLATFORM=URL');
    const dup = await file('dup.yaml', 'stateDir: a\nstateDir: b\n');
    const d = loadConfig({ config: dup }, {});
    expect(!d.ok && d.error).toMatch(/not valid YAML\/JSON.*[Mm]ap keys must be unique/s);
    const missing = loadConfig({ config: '/nonexistent/seb.yaml' }, {});
    expect(!missing.ok && missing.error).toContain('cannot read config file /nonexistent/seb.yaml');
    const list = await file('list.yaml', '- a\n- b\n');
    const l = loadConfig({ config: list }, {});
    expect(!l.ok && l.error).toContain('expected a mapping of settings');
  });
});
