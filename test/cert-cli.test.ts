// The development SAB and certificate staging as an operator uses them: keygen, issue, inspect, and the local API
// (stage / list / withdraw) with its bearer token.
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSeb } from './helpers/run.ts';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';

const CONTRACT = `platform: aws
operation: ec2:AuthorizeSecurityGroupIngress
targets: [arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0]
params: {GroupId: sg-0123456789abcdef0, IpPermissions: [{IpProtocol: tcp, FromPort: 443, ToPort: 443}]}
risk: high
`;

describe('development SAB and certificate staging', () => {
  let dir: string;
  let seb: TestSeb;
  let cert: string;
  const admin = () => ['--admin-listen', seb.adminUrl.replace('http://', ''), '--state-dir', seb.stateDir];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'seb-sab-'));
    const keygen = await runSeb(['sab', 'keygen', '--out', path.join(dir, 'sab')]);
    expect(keygen.code, keygen.stderr).toBe(0);
    await writeFile(path.join(dir, 'contract.yaml'), CONTRACT);
    await writeFile(path.join(dir, 'state.json'), JSON.stringify({ IpPermissions: [] }));
    const issued = await runSeb(['sab', 'issue', '--key', path.join(dir, 'sab', 'sab.key'), '--contract', path.join(dir, 'contract.yaml'), '--sub', 'agent-7', '--state', path.join(dir, 'state.json'), '--paths', '/IpPermissions']);
    expect(issued.code, issued.stderr).toBe(0);
    cert = issued.stdout.trim();
    await writeFile(path.join(dir, 'cert.txt'), cert);
    seb = await startTestSeb({ trust: { file: path.join(dir, 'sab', 'trust.json') }, agent: { subject: 'agent-7' } });
  });
  afterAll(async () => seb?.stop());

  it('keygen writes a 0600 private key and a trust store', async () => {
    expect((await stat(path.join(dir, 'sab', 'sab.key'))).mode & 0o777).toBe(0o600);
    const trust = JSON.parse(await readFile(path.join(dir, 'sab', 'trust.json'), 'utf8')) as { keys: Array<{ kid: string; publicKey: string }> };
    expect(trust.keys).toHaveLength(1);
    expect(trust.keys[0]!.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('inspect explains every field and verifies against the trust store; without it, says why not', async () => {
    const ok = await runSeb(['cert', 'inspect', path.join(dir, 'cert.txt'), '--config', '/dev/null'], { env: { ...process.env, SEB_TRUST_FILE: path.join(dir, 'sab', 'trust.json') } });
    expect(ok.code, ok.stderr).toBe(0);
    for (const line of ['operation: ec2:AuthorizeSecurityGroupIngress', 'issued to agent (sub): agent-7', 'admitted state at "/IpPermissions": sha256:', 'signature: verified with trusted key']) expect(ok.stdout).toContain(line);
    const untrusted = await runSeb(['cert', 'inspect', path.join(dir, 'cert.txt')]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toContain('NOT VERIFIED (SEB_UNKNOWN_KEY');
  });

  it('issue refuses contradictory drift flags with a message', async () => {
    const out = await runSeb(['sab', 'issue', '--key', path.join(dir, 'sab', 'sab.key'), '--contract', path.join(dir, 'contract.yaml'), '--sub', 'a', '--waive-drift', 'x', '--paths', '/a']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('either --waive-drift or --state');
  });

  it('stages, lists and withdraws through the local API', async () => {
    const staged = await runSeb(['cert', 'stage', path.join(dir, 'cert.txt'), ...admin()]);
    expect(staged.code, staged.stderr).toBe(0);
    expect(seb.seb.staging.size).toBe(1);
    const listed = await runSeb(['cert', 'list', ...admin()]);
    const cid = (JSON.parse(listed.stdout) as Array<{ cid: string; operation: string }>)[0]!;
    expect(cid.operation).toBe('ec2:AuthorizeSecurityGroupIngress');
    expect(staged.stdout).toContain(`staged ${cid.cid}`);
    const withdrawn = await runSeb(['cert', 'withdraw', cid.cid, ...admin()]);
    expect(withdrawn.code, withdrawn.stderr).toBe(0);
    expect(seb.seb.staging.size).toBe(0);
  });

  it('the admin listener can be a unix socket (mode 0600), and seb cert uses it', async () => {
    const socket = path.join(dir, 'admin.sock');
    const viaSocket = await startTestSeb({ trust: { file: path.join(dir, 'sab', 'trust.json') }, agent: { subject: 'agent-7' }, listen: { admin: `unix:${socket}` } });
    try {
      expect((await stat(socket)).mode & 0o777).toBe(0o600);
      const staged = await runSeb(['cert', 'stage', path.join(dir, 'cert.txt'), '--state-dir', viaSocket.stateDir, '--admin-listen', `unix:${socket}`]);
      expect(staged.code, staged.stderr).toBe(0);
      expect(viaSocket.seb.staging.size).toBe(1);
    } finally {
      await viaSocket.stop();
    }
  });

  it('refuses to stage bad certificates with their codes, and calls without the token', async () => {
    await writeFile(path.join(dir, 'bad.txt'), 'eyJub3QiOiJhIGNlcnQifQ');
    const bad = await runSeb(['cert', 'stage', path.join(dir, 'bad.txt'), ...admin()]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('SEB_CERT_MALFORMED');
    const res = await fetch(`${seb.adminUrl}/v1/certificates`, { method: 'POST', body: cert });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'SEB_UNAUTHORISED' });
    const token = (await readFile(path.join(seb.stateDir, 'admin.token'), 'utf8')).trim();
    expect((await stat(path.join(seb.stateDir, 'admin.token'))).mode & 0o777).toBe(0o600);
    const wrongAgent = await runSeb(['sab', 'issue', '--key', path.join(dir, 'sab', 'sab.key'), '--contract', path.join(dir, 'contract.yaml'), '--sub', 'someone-else', '--waive-drift', 'x']);
    const mismatch = await fetch(`${seb.adminUrl}/v1/certificates`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: wrongAgent.stdout.trim() });
    expect(await mismatch.json()).toMatchObject({ code: 'SEB_SUBJECT_MISMATCH' });
  });
});
