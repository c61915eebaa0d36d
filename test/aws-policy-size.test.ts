// A contract too large for one executor session: the session policy seb would send STS must fit AssumeRole's
// documented limits (2,048 characters of inline session policy; 50 tags of 128/256 characters; a 2-64 character
// SourceIdentity and RoleSessionName). Beyond them seb refuses with SEB_POLICY_TOO_LARGE without calling STS,
// and the pipeline denies with that code (not the transient SEB_MINT_FAILED), leaving its decision record.
import { SignatureV4 } from '@smithy/signature-v4';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsContract } from '../certs/sab/index.ts';
import type { VerifiedCertificate } from '../certs/sab/verify.ts';
import { CODES } from '../errors/codes.ts';
import { assumeExecutorRole, createSts, sessionPolicy, STS_LIMITS, stsSizeProblem, type Sts } from '../platforms/aws/mint.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';
import { sha256 } from './helpers/aws-query.ts';
import { createTestSab, type TestSab } from './helpers/sab.ts';
import { startTestSeb, tempDir, type TestSeb } from './helpers/seb.ts';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/seb-executor`;
const AGENT_KEY = { accessKeyId: 'AKIASEBAGENTPLACEHOLDER', secretAccessKey: 'seb-placeholder-agent-secret-0123456789' };
/** Nothing listens here: a call that reaches "STS" fails with a connection error, never SEB_POLICY_TOO_LARGE. */
const NOWHERE = 'http://127.0.0.1:9';

const instanceIds = (n: number) => Array.from({ length: n }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
const terminate = (ids: readonly string[]): AwsContract => ({
  platform: 'aws', operation: 'ec2:TerminateInstances', targets: ids.map((id) => `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/${id}`).sort(), params: { InstanceId: [...ids] }, risk: 'high',
});
const certFor = (contract: AwsContract): VerifiedCertificate => ({
  payload: { cid: 'cid-policy-size', nonce: 'nonce-policy-size', exp: 1_800_000_000, contract },
}) as unknown as VerifiedCertificate;

/** The real STS client factory, counting how often seb asked for a client (that is, was about to call STS). */
function countingSts(): Sts & { calls: number } {
  const real = createSts({ endpoint: NOWHERE, credentials: { accessKeyId: 'AKIASEBBROKER0000000', secretAccessKey: 'seb-broker-secret' } });
  const counted = { calls: 0, client: (region: string) => { counted.calls += 1; return real.client(region); }, credentials: real.credentials };
  return counted;
}

describe('AssumeRole size limits', () => {
  const sizes = (policy: string) => ({ policy, tags: [{ Key: 'seb:cid', Value: 'c' }], sourceIdentity: 'seb-c', roleSessionName: 'seb-c' });

  it('a session policy of exactly 2,048 characters fits; one character more does not', () => {
    const base = sessionPolicy(certFor({ ...terminate([]), targets: ['arn:aws:ec2:us-east-1:123456789012:instance/i-'] }));
    const padded = (extra: number) => sessionPolicy(certFor({ ...terminate([]), targets: [`arn:aws:ec2:us-east-1:123456789012:instance/i-${'0'.repeat(STS_LIMITS.policyChars - base.length + extra)}`] }));
    expect(padded(0)).toHaveLength(2048);
    expect(stsSizeProblem(sizes(padded(0)))).toBeUndefined();
    expect(padded(1)).toHaveLength(2049);
    expect(stsSizeProblem(sizes(padded(1)))).toBe("the session policy is 2049 characters, over STS's limit of 2048 for an inline session policy");
  });

  it('names tag and SourceIdentity limits too', () => {
    const ok = sizes('{}');
    expect(stsSizeProblem({ ...ok, tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })).toMatch(/51 session tags, over STS's limit of 50/);
    expect(stsSizeProblem({ ...ok, tags: [{ Key: 'k'.repeat(129), Value: 'v' }] })).toMatch(/is 129 characters, STS allows 1 to 128/);
    expect(stsSizeProblem({ ...ok, tags: [{ Key: 'seb:nonce', Value: 'v'.repeat(257) }] })).toMatch(/session tag seb:nonce has a value of 257 characters, over STS's limit of 256/);
    expect(stsSizeProblem({ ...ok, sourceIdentity: 's'.repeat(65) })).toMatch(/SourceIdentity is 65 characters, STS allows 2 to 64/);
    expect(stsSizeProblem({ ...ok, roleSessionName: 's' })).toMatch(/RoleSessionName is 1 characters/);
  });

  it('a contract with many target ARNs is refused with SEB_POLICY_TOO_LARGE before STS is called', async () => {
    const sts = countingSts();
    const contract = terminate(instanceIds(40));
    expect(sessionPolicy(certFor(contract)).length).toBeGreaterThan(2048);
    const minted = await assumeExecutorRole(sts, ROLE, certFor(contract), 'us-east-1');
    expect(minted).toMatchObject({ ok: false, error: { code: 'SEB_POLICY_TOO_LARGE', message: expect.stringMatching(/ec2:TerminateInstances on 40 resource\(s\)\): the session policy is \d+ characters, over STS's limit of 2048.*certify fewer resources per certificate/) } });
    expect(sts.calls).toBe(0);
    expect(CODES.SEB_POLICY_TOO_LARGE.status).toBe(403);
  });

  it('a contract within the limits is sent to STS (here unreachable: SEB_MINT_FAILED)', async () => {
    const sts = countingSts();
    const contract = terminate(instanceIds(20));
    expect(sessionPolicy(certFor(contract)).length).toBeLessThanOrEqual(2048);
    const minted = await assumeExecutorRole(sts, ROLE, certFor(contract), 'us-east-1');
    expect(minted).toMatchObject({ ok: false, error: { code: 'SEB_MINT_FAILED' } });
    expect(sts.calls).toBe(1);
  });
});

const SUBJECT = 'agent-policy-size';

describe('the pipeline denies a too-large contract with SEB_POLICY_TOO_LARGE', () => {
  let seb: TestSeb;
  let sab: TestSab;
  let endpointAgent: Agent;

  beforeAll(async () => {
    sab = await createTestSab(await tempDir('seb-policy-size-'), SUBJECT);
    seb = await startTestSeb({
      upstreams: { aws: NOWHERE }, trust: { file: sab.trustFile }, agent: { subject: SUBJECT },
      aws: { accountId: ACCOUNT, agentAccessKeyId: AGENT_KEY.accessKeyId, agentSecretAccessKey: AGENT_KEY.secretAccessKey, executorRoleArn: ROLE, sebAccessKeyId: 'AKIASEBBROKER0000000', sebSecretAccessKey: 'seb-broker-secret' },
    });
    endpointAgent = new Agent({ connect: { ca: seb.caPem } });
  }, 30_000);
  afterAll(async () => {
    await endpointAgent?.close();
    await seb?.stop();
  });

  /** TerminateInstances as an SDK agent in endpoint mode sends it, with the certificate in Seb-Certificate. */
  async function terminateViaSeb(ids: readonly string[], certificate: string) {
    const host = `127.0.0.1:${seb.endpointPort}`;
    const body = new URLSearchParams({ Action: 'TerminateInstances', Version: '2016-11-15', ...Object.fromEntries(ids.map((id, i) => [`InstanceId.${i + 1}`, id])) }).toString();
    const signed = await new SignatureV4({ service: 'ec2', region: 'us-east-1', credentials: AGENT_KEY, sha256 }).sign({
      method: 'POST', protocol: 'https:', hostname: '127.0.0.1', port: seb.endpointPort, path: '/', query: {},
      headers: { host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'seb-certificate': certificate }, body,
    });
    const res = await undiciFetch(`https://${host}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body, dispatcher: endpointAgent });
    return { status: res.status, body: await res.text(), code: res.headers.get('seb-denial-code') };
  }

  it('refuses in the mint stage, in the AWS error shape, without reaching STS; the decision record carries the code', async () => {
    const ids = instanceIds(40);
    const refused = await terminateViaSeb(ids, sab.issue(terminate(ids)));
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('SEB_POLICY_TOO_LARGE');
    expect(refused.body).toContain('<Code>SEB_POLICY_TOO_LARGE</Code>');
    expect(refused.body).toMatch(/certify fewer resources per certificate/);
    const line = seb.logs.findLast((l) => l.operation === 'TerminateInstances');
    expect(line).toMatchObject({ outcome: 'denied', code: 'SEB_POLICY_TOO_LARGE' });
    expect(line?.stages).toContainEqual(expect.objectContaining({ stage: 'mint', ok: false, code: 'SEB_POLICY_TOO_LARGE' }));
    expect(seb.audit).toContainEqual(expect.objectContaining({ kind: 'decision', body: expect.objectContaining({ decision: 'deny', code: 'SEB_POLICY_TOO_LARGE' }) }));
  });

  it('every mutation attempt left exactly one signed decision record, and every forwarded call one outcome record', async () => {
    await expectCompleteAuditTrail(seb);
    expect(seb.audit.length).toBeGreaterThan(0);
  });
});
