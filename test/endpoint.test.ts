// Endpoint mode, for clients that ignore HTTPS_PROXY: the AWS SDK for JavaScript v3 via AWS_ENDPOINT_URL (service
// and region from the SigV4 scope) and @kubernetes/client-node via a kubeconfig whose server is seb.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeb, tempDir, type TestSeb } from './helpers/seb.ts';
import { createTestSab, type TestSab } from './helpers/sab.ts';
import { requireCommand, startMoto, type Moto } from './helpers/services.ts';
import { startUpstream, type Upstream } from './helpers/upstreams.ts';
import { REPO_ROOT, run } from './helpers/run.ts';

const skipReason = requireCommand('moto_server', 'moto (AWS emulator)');

describe.skipIf(skipReason !== undefined)('endpoint listener', () => {
  let moto: Moto;
  let kube: Upstream;
  let seb: TestSeb;
  let sab: TestSab;
  const kubeRequests: Array<{ url: string; authorization: string | undefined; host: string | undefined }> = [];

  beforeAll(async () => {
    moto = await startMoto();
    kube = await startUpstream((req, res) => {
      kubeRequests.push({ url: req.url ?? '', authorization: req.headers.authorization, host: req.headers.host });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'default' } }] }));
    }, { tls: true });
    sab = await createTestSab(await tempDir(), 'agent-sdk');
    seb = await startTestSeb({ upstreams: { aws: moto.url, kube: kube.origin }, upstreamTls: { caFiles: [kube.caFile] }, trust: { file: sab.trustFile }, agent: { subject: 'agent-sdk' }, aws: { accountId: '123456789012' } });
  });
  afterAll(async () => {
    await seb?.stop();
    await moto?.stop();
    await kube?.close();
  });

  it('serves the AWS SDK for JavaScript v3 pointed at it with AWS_ENDPOINT_URL', async () => {
    // The SDK adds the certificate as a header through a build-step middleware; without one it is refused.
    const script = `
      import { EC2Client, CreateSecurityGroupCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
      const ec2 = new EC2Client({});
      const refused = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'seb-sdk', Description: 'via endpoint' })).catch((e) => e.name);
      ec2.middlewareStack.add((next) => (args) => { args.request.headers['seb-certificate'] = process.argv[2]; return next(args); }, { step: 'build' });
      const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'seb-sdk', Description: 'via endpoint' }));
      const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId] }));
      console.log(JSON.stringify({ refused, names: out.SecurityGroups.map((g) => g.GroupName) }));
    `;
    const cert = sab.issue({ platform: 'aws', operation: 'ec2:CreateSecurityGroup', targets: ['arn:aws:ec2:eu-central-1:123456789012:security-group/*'], params: { GroupName: 'seb-sdk', GroupDescription: 'via endpoint' }, risk: 'low' });
    const file = path.join(REPO_ROOT, 'node_modules', '.seb-endpoint-test.mjs');
    await writeFile(file, script);
    const out = await run(process.execPath, [file, cert], {
      env: {
        PATH: process.env.PATH,
        AWS_ENDPOINT_URL: `https://127.0.0.1:${seb.endpointPort}`,
        NODE_EXTRA_CA_CERTS: path.join(seb.stateDir, 'ca', 'ca.crt'),
        AWS_ACCESS_KEY_ID: 'AKIDSEBTESTAGENT',
        AWS_SECRET_ACCESS_KEY: 'agent-secret',
        AWS_REGION: 'eu-central-1',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ refused: 'SEB_CERT_MISSING', names: ['seb-sdk'] });
    expect(seb.logs).toContainEqual(expect.objectContaining({ msg: 'request', via: 'endpoint', platform: 'aws', host: 'ec2.eu-central-1.amazonaws.com:443', service: 'ec2', region: 'eu-central-1', operation: 'CreateSecurityGroup', outcome: 'executed' }));
  });

  it('serves @kubernetes/client-node pointed at it by kubeconfig', async () => {
    const { KubeConfig, CoreV1Api } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'seb', server: `https://127.0.0.1:${seb.endpointPort}`, caData: Buffer.from(seb.caPem).toString('base64') }],
      users: [{ name: 'agent', token: 'agent-token' }],
      contexts: [{ name: 'seb', cluster: 'seb', user: 'agent' }],
      currentContext: 'seb',
    });
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toEqual(['default']);
    expect(kubeRequests.at(-1)).toEqual({ url: '/api/v1/namespaces', authorization: 'Bearer agent-token', host: `127.0.0.1:${kube.port}` });
    expect(seb.logs).toContainEqual(expect.objectContaining({ msg: 'request', via: 'endpoint', platform: 'kube', verb: 'get', operation: 'get /api/v1/namespaces', outcome: 'forwarded' }));
  });

  it('refuses a request that is neither AWS-signed nor for a configured Kubernetes server', async () => {
    const bare = await startTestSeb();
    try {
      const { request } = await import('undici');
      const { Agent } = await import('undici');
      const res = await request(`https://127.0.0.1:${bare.endpointPort}/api/v1/namespaces`, { dispatcher: new Agent({ connect: { ca: bare.caPem } }) });
      expect(res.statusCode).toBe(502);
      expect(await res.body.json()).toMatchObject({ code: 'SEB_NO_UPSTREAM' });
    } finally {
      await bare.stop();
    }
  });
});
