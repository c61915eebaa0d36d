// `seb explain FILE.har`: the tool a user runs on their own captures. It prints every entry's decision and
// contract (readable, or --json), explains Kubernetes captures too, and refuses a file that is not HAR with a
// clear message and a non-zero exit.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainHar, type ExplainedEntry } from '../cli/explain.ts';
import { REPO_ROOT, runSeb } from './helpers/run.ts';
import { tempDir } from './helpers/seb.ts';

const S3_HAR = path.join(REPO_ROOT, 'test', 'fixtures', 'har', 'rest-xml-s3.har');
const KUBE_HAR = path.join(REPO_ROOT, '..', 'shared', 'fixtures', 'kube-apiserver-v1.33', 'scale.har');
const { SEB_AWS_ACCOUNT_ID: _account, SEB_CONFIG: _config, ...env } = process.env; // explain's defaults, whatever the caller's environment

describe('seb explain', () => {
  it('prints each entry\'s decision and the contract a certificate must authorise', async () => {
    const out = await runSeb(['explain', S3_HAR, '--account-id', '123456789012'], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('[3] PUT https://seb-fixtures.s3.amazonaws.com/reports/2026/q3.csv\n    (aws s3api put-object --bucket seb-fixtures --key reports/2026/q3.csv');
    expect(out.stdout).toMatch(/mutation \(aws\): needs a certificate for this contract\n {6}operation: s3:PutObject\n {6}targets: {3}arn:aws:s3:::seb-fixtures\/reports\/2026\/q3\.csv\n {6}params: {4}\{"Bucket":"seb-fixtures","Key":"reports\/2026\/q3\.csv","Headers":\{"content-type":"text\/csv"\},"Body":\{"sha256":"[0-9a-f]{64}","length":31\}\}/);
    expect(out.stdout).toMatch(/\[2\] GET https:\/\/s3\.amazonaws\.com\/\n.*\n {4}read \(aws\): passes without a certificate/);
    expect(out.stdout).toMatch(/refused \(aws\) SEB_PRESIGNED_UNSUPPORTED: presigned AWS requests/);
    expect(out.stdout).toMatch(/20 entries: 5 reads, 12 mutations needing a certificate, 3 refused\n$/);
  });

  it('--json gives the same decisions as data', async () => {
    const out = await runSeb(['explain', S3_HAR, '--json', '--account-id', '123456789012'], { env });
    expect(out.code, out.stderr).toBe(0);
    const entries = JSON.parse(out.stdout) as ExplainedEntry[];
    expect(entries).toHaveLength(20);
    expect(entries[0]).toEqual({ index: 1, method: 'PUT', url: 'https://seb-fixtures.s3.amazonaws.com/', comment: 'aws s3api create-bucket --bucket seb-fixtures', platform: 'aws', decision: 'mutation', contract: { platform: 'aws', operation: 's3:CreateBucket', targets: ['arn:aws:s3:::seb-fixtures'], params: { Bucket: 'seb-fixtures' } } });
    expect(entries.find((e) => e.decision === 'refused' && e.code === 'SEB_REQUEST_UNSUPPORTED')?.message).toMatch(/multipart/);
  });

  it('without an account id, mutations that need one say where to set it', async () => {
    const out = await runSeb(['explain', path.join(REPO_ROOT, 'test', 'fixtures', 'har', 'ec2-query.har')], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/SEB_REQUEST_UNSUPPORTED: ec2:AuthorizeSecurityGroupIngress is a mutation, and its target ARNs need the account id: set aws.accountId/);
  });

  // The recordings sit beside the project (../shared); without them the case is skipped visibly, never under CI.
  const kubeHarMissing = !existsSync(KUBE_HAR);
  if (kubeHarMissing && process.env.CI === 'true') throw new Error(`CI=true but the kube-apiserver recordings are missing: ${KUBE_HAR}`);
  if (kubeHarMissing) console.warn(`SKIP: ${KUBE_HAR} is missing: the Kubernetes capture case does not run`);
  it.skipIf(kubeHarMissing)('explains Kubernetes captures (the recorded kube-apiserver traffic) too', async () => {
    const out = await runSeb(['explain', KUBE_HAR, '--json'], { env });
    expect(out.code, out.stderr).toBe(0);
    const entries = JSON.parse(out.stdout) as ExplainedEntry[];
    expect(entries.every((e) => e.platform === 'kube')).toBe(true);
    expect(entries).toContainEqual(expect.objectContaining({ method: 'PATCH', decision: 'mutation', contract: expect.objectContaining({ operation: 'patch', params: { body: { spec: { replicas: 2 } }, patchType: 'merge' } }) }));
  });

  it('explains why a read-looking AWS request is not a read, and refuses method overrides', () => {
    const sig = (service: string) => ({ name: 'Authorization', value: `AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00` });
    const form = { name: 'Content-Type', value: 'application/x-www-form-urlencoded; charset=utf-8' };
    const entries = [
      { request: { method: 'POST', url: 'https://sts.us-east-1.amazonaws.com/', headers: [sig('sts'), form], postData: { text: 'Action=GetWebIdentityToken&Version=2011-06-15' } } },
      { request: { method: 'POST', url: 'https://ssm.us-east-1.amazonaws.com/', headers: [sig('ssm'), { name: 'Content-Type', value: 'application/x-amz-json-1.1' }, { name: 'X-Amz-Target', value: 'AmazonSSM.GetParameterHistory' }], postData: { text: '{"Name":"db","WithDecryption":true}' } } },
      { request: { method: 'GET', url: 'https://seb-data.s3.amazonaws.com/k', headers: [sig('s3'), { name: 'X-HTTP-Method-Override', value: 'DELETE' }] } },
    ];
    const out = explainHar(JSON.stringify({ log: { version: '1.2', entries } }), { accountId: '123456789012', awsHosts: ['*.amazonaws.com'] });
    expect(out.ok).toBe(true);
    const [sts, ssm, s3] = (out as { entries: ExplainedEntry[] }).entries;
    expect(sts).toMatchObject({ decision: 'refused', code: 'SEB_REQUEST_UNSUPPORTED', message: expect.stringMatching(/^sts:GetWebIdentityToken hands out a web identity token, so it is not a read/) });
    expect(ssm).toMatchObject({ decision: 'mutation', contract: { operation: 'ssm:GetParameterHistory', targets: ['arn:aws:ssm:us-east-1:123456789012:parameter/db'] } });
    expect(s3).toMatchObject({ decision: 'refused', code: 'SEB_REQUEST_UNSUPPORTED', message: expect.stringMatching(/x-http-method-override header is refused/) });
  });

  it('refuses malformed HAR with a clear error and a non-zero exit', async () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /^not JSON/],
      ['{"log":{}}', /^not a HAR 1\.2 document: log\.entries: /],
      ['{"log":{"entries":[{"request":{"method":"GET","headers":[]}}]}}', /log\.entries\.0\.request\.url: /],
      ['{"log":{"entries":[{"request":{"method":"GET","url":"ftp://x/","headers":[]}}]}}', /log\.entries\.0\.request\.url: must be an absolute http\(s\) URL/],
      ['{"log":{"entries":[{"request":{"method":"get","url":"https://x/","headers":[]}}]}}', /request\.method: must be an upper-case HTTP method/],
      ['{"log":{"entries":[{"request":{"method":"GET","url":"https://x/","headers":[{"name":"a"}]}}]}}', /request\.headers\.0\.value/],
      ['{"log":{"entries":[{"request":{"method":"GET","url":"https://[x/","headers":[]}}]}}', /is not a URL/],
    ];
    for (const [text, message] of cases) expect(explainHar(text, { awsHosts: ['*.amazonaws.com'] }), text).toEqual({ ok: false, error: expect.stringMatching(message) });
    const dir = await tempDir();
    const file = path.join(dir, 'bad.har');
    await writeFile(file, cases[2]![0]);
    const out = await runSeb(['explain', file], { env });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/^seb: .*bad\.har is not a HAR 1\.2 document: log\.entries\.0\.request\.url: /);
    expect(out.stdout).toBe('');
    const missing = await runSeb(['explain', path.join(dir, 'none.har')], { env });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/cannot read .*none\.har: ENOENT/);
  });
});
