// Sidecar injection: the pure pod transformation, `seb inject -f` (the real CLI), the mutating webhook's
// AdmissionReview answers (on the recorded v1.33 review envelope), and `seb agent-files` (what seb-init writes),
// used end to end by kubectl through seb against the Kubernetes API test server.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT_NAME, INJECT_LABEL, PATHS, SIDECAR_NAME, injectPodTemplate, type InjectSettings, type PodTemplate } from '../admission/inject.ts';
import { injectSettingsOf, mutateReview } from '../admission/inject-review.ts';
import { diffJson } from '../admission/inject-patch.ts';
import { injectDocument } from '../admission/inject-workloads.ts';
import { configSchema } from '../config/schema.ts';
import { applyJsonPatch } from './kube-apiserver/patch/json-patch.ts';
import { FIXTURES_DIR } from './kube-apiserver/fixtures.ts';
import { schemaErrors, unknownCoreFields, unknownFields } from './helpers/kube-schema.ts';
import { run, runSeb, SEB_BIN } from './helpers/run.ts';
import { requireCommand } from './helpers/services.ts';
import { startTestSeb, tempDir, type TestSeb } from './helpers/seb.ts';
import { startKubeWorld, type KubeWorld } from './helpers/kube-world.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const AWS_KEY = 'AKIASEBPLACEHOLDER01';
const AWS_SECRET = 'seb-placeholder-secret-not-valid-at-aws';
const CONFIG = { inject: { image: 'registry.example/seb:1.2.3', ledgerSecret: 'seb-ledger' }, aws: { agentAccessKeyId: AWS_KEY, agentSecretAccessKey: AWS_SECRET } };

function settingsFrom(config: object): InjectSettings {
  return injectSettingsOf(configSchema.parse(config));
}

/** A typical agent: a Python agent using boto3 and kubectl, with its own ServiceAccount and a leftover AWS profile. */
function agentDeployment(): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'ops-agent', namespace: 'seb-agents', labels: { app: 'ops-agent' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'ops-agent' } },
      template: {
        metadata: { labels: { app: 'ops-agent', [INJECT_LABEL]: 'true' } },
        spec: {
          serviceAccountName: 'agent',
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'agent',
            image: 'python:3.13-slim',
            command: ['python', '-m', 'agent'],
            env: [{ name: 'AWS_REGION', value: 'eu-west-1' }, { name: 'AWS_PROFILE', value: 'ops' }, { name: 'HTTPS_PROXY', value: 'http://corp-proxy:3128' }],
            resources: { requests: { cpu: '100m', memory: '256Mi' } },
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
          }],
          volumes: [{ name: 'work', emptyDir: {} }],
        },
      },
    },
  };
}

/** The pod the ReplicaSet controller creates from the template, as the mutating webhook receives it: the
 * ServiceAccount admission plugin (which runs before webhooks) has added the token volume and mounts. */
function podAsAdmitted(template: Obj): Obj {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'ops-agent-5d8f7c9b6-', namespace: 'seb-agents', ...structuredClone(template.metadata) }, spec: structuredClone(template.spec) };
  pod.spec.volumes = [...(pod.spec.volumes ?? []), { name: 'kube-api-access-x7k2p', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }, { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } }] } }];
  for (const c of pod.spec.containers) c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'kube-api-access-x7k2p', readOnly: true, mountPath: PATHS.serviceAccountDir }];
  for (const c of pod.spec.containers) Object.assign(c, { terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' });
  Object.assign(pod.spec, { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', enableServiceLinks: true });
  return pod;
}

/** A review of a pod creation in the envelope kube-apiserver v1.33 really sent (recorded fixture 001). */
async function podReview(pod: Obj, uid = '0b7c4a6e-2f1d-4c3b-9a8e-7d6f5e4c3b2a'): Promise<Obj> {
  const recorded = JSON.parse(await readFile(path.join(FIXTURES_DIR, 'admission-review-001-create-deployment-web.json'), 'utf8')) as Obj;
  const review = structuredClone(recorded);
  Object.assign(review.request, {
    uid, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    requestKind: { group: '', version: 'v1', kind: 'Pod' }, requestResource: { group: '', version: 'v1', resource: 'pods' },
    name: '', namespace: 'seb-agents', operation: 'CREATE', object: pod, oldObject: null,
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'rs-uid', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
  });
  return review;
}

function patched(review: Obj, answer: { body: object }): Obj {
  const response = (answer.body as Obj).response as Obj;
  expect(response.patchType).toBe('JSONPatch');
  return applyJsonPatch(structuredClone(review.request.object), Buffer.from(response.patch as string, 'base64').toString('utf8')) as Obj;
}

const env = (c: Obj): Record<string, string> => Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value]));

describe('injection of a typical agent Deployment', () => {
  let settings: InjectSettings;
  let injected: Obj;
  let template: PodTemplate;

  beforeAll(async () => {
    settings = settingsFrom(CONFIG);
    const result = injectDocument(agentDeployment(), settings);
    if (!result.ok) throw new Error(result.message);
    injected = result.value as Obj;
    template = injected.spec.template as PodTemplate;
  });

  it('validates against the Kubernetes OpenAPI schema (kubernetes-models, and no field unknown to a v1.33 API server)', async () => {
    expect(await schemaErrors(injected as never)).toEqual([]);
    expect(await schemaErrors({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ops-agent-1' }, spec: template.spec } as never)).toEqual([]);
    expect(unknownFields(injected as never)).toEqual([]);
    expect(unknownFields({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ops-agent-1' }, spec: template.spec } as never)).toEqual([]);
  });

  it('puts seb first as a native sidecar, after seb-init has written the agent\'s files, probed on /readyz and hardened', () => {
    const [init, seb] = template.spec.initContainers as Obj[];
    expect(init!.name).toBe(INIT_NAME);
    expect(init!.args).toEqual(['agent-files', '--out', PATHS.agentDir, '--refuse-config-secrets']);
    expect(init!.restartPolicy).toBeUndefined(); // runs to completion first
    expect(seb!.name).toBe(SIDECAR_NAME);
    expect(seb!.restartPolicy).toBe('Always');
    expect(seb!.image).toBe('registry.example/seb:1.2.3');
    expect(seb!.args).toEqual(['serve']);
    expect(seb!.startupProbe.httpGet).toEqual({ path: '/readyz', port: 7090, scheme: 'HTTP' });
    expect(seb!.readinessProbe.httpGet.path).toBe('/readyz');
    expect(seb!.resources.requests).toEqual({ cpu: '50m', memory: '256Mi' });
    for (const c of [init!, seb!]) {
      expect(c.securityContext).toEqual({
        runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
        privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      });
    }
    const sebEnv = env(seb!);
    expect(sebEnv.SEB_STATE_DIR).toBe(PATHS.stateDir);
    expect(sebEnv.SEB_KUBE_IDENTITY_TOKEN_FILE).toBe(`${PATHS.identityDir}/token`);
    expect(sebEnv.SEB_AGENT_SUBJECT).toBe('system:serviceaccount:$(POD_NAMESPACE):$(POD_SERVICE_ACCOUNT)');
    expect(sebEnv.SEB_AWS_AGENT_ACCESS_KEY_ID).toBe(AWS_KEY);
    expect((seb!.env as Obj[]).find((e) => e.name === 'SEB_DATABASE_URL')?.valueFrom).toEqual({ secretKeyRef: { name: 'seb-ledger', key: 'url' } });
    // The state volume (CA key, admin token) is writable for seb; the root filesystem is not.
    expect(seb!.volumeMounts).toContainEqual({ name: 'seb-state', mountPath: PATHS.stateDir });
  });

  it('gives the agent seb\'s environment, its files read-only, and no credential of its own', () => {
    const agent = (template.spec.containers as Obj[])[0]!;
    expect(env(agent)).toEqual({
      AWS_REGION: 'eu-west-1',
      HTTPS_PROXY: 'http://127.0.0.1:7080', // the corporate proxy it had is replaced, in place
      NO_PROXY: 'localhost,127.0.0.1,::1',
      AWS_CA_BUNDLE: '/var/run/seb/bundle.pem', REQUESTS_CA_BUNDLE: '/var/run/seb/bundle.pem', SSL_CERT_FILE: '/var/run/seb/bundle.pem',
      NODE_EXTRA_CA_CERTS: '/var/run/seb/ca.crt',
      AWS_ENDPOINT_URL: 'https://127.0.0.1:7443',
      KUBECONFIG: '/var/run/seb/kubeconfig',
      KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '7443',
      AWS_ACCESS_KEY_ID: AWS_KEY, AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    });
    expect((agent.env as Obj[]).findIndex((e) => e.name === 'HTTPS_PROXY')).toBe(1); // where it was (AWS_PROFILE before it is gone)
    expect(agent.volumeMounts).toEqual([
      { name: 'work', mountPath: '/work' },
      { name: 'seb-agent', mountPath: '/var/run/seb', readOnly: true },
      { name: 'seb-agent', mountPath: PATHS.serviceAccountDir, subPath: 'serviceaccount', readOnly: true },
    ]);
    expect(template.spec.automountServiceAccountToken).toBe(false);
    // The pod's ServiceAccount token reaches seb's container only.
    const mounting = (name: string) => [...(template.spec.initContainers as Obj[]), ...(template.spec.containers as Obj[])].filter((c) => (c.volumeMounts as Obj[]).some((m) => m.name === name)).map((c) => c.name);
    expect(mounting('seb-identity')).toEqual([SIDECAR_NAME]);
    expect(mounting('seb-state')).toEqual([INIT_NAME, SIDECAR_NAME]);
  });

  it('is idempotent: injecting the result again changes nothing and says nothing', () => {
    const again = injectPodTemplate(template, settings);
    expect(again.ok && diffJson(template, again.template)).toEqual([]);
    expect(again.ok && again.notes).toEqual([]);
    const doc = injectDocument(injected, settings);
    expect(doc.ok && doc.changed).toBe(false);
  });

  it('equals what `seb inject -f` prints for the same file and configuration', async () => {
    const dir = await tempDir('seb-inject-cli-');
    await writeFile(path.join(dir, 'seb.json'), JSON.stringify(CONFIG));
    await writeFile(path.join(dir, 'agent.yaml'), `# the ops agent\n${JSON.stringify(agentDeployment(), null, 2)}\n`);
    const res = await runSeb(['inject', '-f', path.join(dir, 'agent.yaml'), '--config', path.join(dir, 'seb.json')], { env: { ...process.env, SEB_CONFIG: '' } });
    expect(res.code, res.stderr).toBe(0);
    expect(parseYaml(res.stdout)).toEqual(injected);
    expect(res.stdout.startsWith('# the ops agent\n')).toBe(true);
    expect(res.stderr).toContain('replaced container agent: variable HTTPS_PROXY');
    expect(res.stderr).toContain('removed AWS_PROFILE');
    expect(res.stderr).not.toContain('corp-proxy'); // notes never carry values
  });

  it('the mutating webhook gives the pod the ReplicaSet creates the same spec, its token volume dropped', async () => {
    const pod = podAsAdmitted(agentDeployment().spec.template);
    const review = await podReview(pod);
    const answer = mutateReview(review, settings);
    expect(answer.status).toBe(200);
    const response = (answer.body as Obj).response as Obj;
    expect(response).toMatchObject({ uid: review.request.uid, allowed: true, patchType: 'JSONPatch' });
    const after = patched(review, answer);
    // What seb inject wrote plus the API server's own defaults; no kube-api-access volume, no token in the agent.
    expect(after.spec.volumes.map((v: Obj) => v.name)).toEqual(['work', 'seb-state', 'seb-agent', 'seb-identity', 'seb-config']);
    const { terminationMessagePath, terminationMessagePolicy, imagePullPolicy, ...agent } = after.spec.containers[0];
    void terminationMessagePath; void terminationMessagePolicy; void imagePullPolicy;
    expect(agent).toEqual(template.spec.containers[0]);
    expect(after.spec.initContainers).toEqual(template.spec.initContainers);
    expect(after.metadata.labels).toEqual(template.metadata!.labels);
    expect(unknownFields(after as never)).toEqual([]);
    expect(await schemaErrors(after as never)).toEqual([]);
  });

  it('a reinvoked webhook, after the API server defaulted the sidecar, answers without a patch', async () => {
    const first = await podReview(podAsAdmitted(agentDeployment().spec.template));
    const after = patched(first, mutateReview(first, settings));
    for (const c of after.spec.initContainers as Obj[]) {
      Object.assign(c, { terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' });
      for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe']) if (c[p]) Object.assign(c[p], { timeoutSeconds: 1, successThreshold: 1 });
    }
    for (const v of after.spec.volumes as Obj[]) if (v.projected) v.projected.defaultMode = 420;
    const second = mutateReview(await podReview(after), settings);
    expect((second.body as Obj).response).toEqual({ uid: '0b7c4a6e-2f1d-4c3b-9a8e-7d6f5e4c3b2a', allowed: true });
  });
});

describe('seb inject -f (the real CLI)', () => {
  let cliEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    const dir = await tempDir('seb-inject-cli-config-');
    await writeFile(path.join(dir, 'seb.yaml'), 'inject: {ledgerSecret: seb-ledger}\n');
    cliEnv = { ...process.env, SEB_CONFIG: path.join(dir, 'seb.yaml') };
  });
  const workloads = `
apiVersion: v1
kind: Pod
metadata: {name: one-off}
spec:
  containers: [{name: agent, image: node:24-slim}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: sts}
spec:
  serviceName: sts
  selector: {matchLabels: {app: sts}}
  template:
    metadata: {labels: {app: sts}}
    spec: {containers: [{name: agent, image: python:3.13-slim}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: job}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: agent, image: python:3.13-slim}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: agent, image: python:3.13-slim}]
---
apiVersion: v1
kind: ConfigMap    # passes through untouched, comment and all
metadata: {name: settings}
data: {mode: "on"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: not-me}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x, seb.openkedge.io/inject: "false"}}
    spec: {containers: [{name: web, image: nginx}]}
`;
  const templateOf = (d: Obj): Obj => (d.kind === 'Pod' ? d : d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template : d.spec.template);

  it('injects Pod, StatefulSet, Job and CronJob templates, passes other kinds and opted-out templates through, and reads stdin', async () => {
    const res = await run(process.execPath, [SEB_BIN, 'inject', '-f', '-'], { input: workloads, env: cliEnv });
    expect(res.code, res.stderr).toBe(0);
    const docs = parseAllDocuments(res.stdout).map((d) => d.toJS() as Obj);
    expect(docs.map((d) => d.kind)).toEqual(['Pod', 'StatefulSet', 'Job', 'CronJob', 'ConfigMap', 'Deployment']);
    for (const d of docs.slice(0, 4)) {
      const t = templateOf(d);
      expect(t.spec.initContainers.map((c: Obj) => c.name), d.kind).toEqual([INIT_NAME, SIDECAR_NAME]);
      expect(t.metadata.labels[INJECT_LABEL]).toBe('true');
      expect(await schemaErrors(d as never), d.kind).toEqual([]);
      const unknown = d.apiVersion === 'batch/v1' ? unknownCoreFields('io.k8s.api.core.v1.PodTemplateSpec', t) : unknownFields(d as never);
      expect(unknown, d.kind).toEqual([]);
    }
    expect(res.stdout).toContain('kind: ConfigMap    # passes through untouched, comment and all\nmetadata: {name: settings}\n');
    expect(templateOf(docs[5]!).spec.initContainers).toBeUndefined();
    expect(res.stderr).toContain('Deployment not-me is left alone (label seb.openkedge.io/inject="false")');
    // Its own output goes through unchanged.
    const again = await run(process.execPath, [SEB_BIN, 'inject', '-f', '-'], { input: res.stdout, env: cliEnv });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(res.stdout);
  });

  it('refuses bad YAML with the document and line, and exits non-zero', async () => {
    const res = await run(process.execPath, [SEB_BIN, 'inject', '-f', '-'], { input: 'kind: ConfigMap\n---\nkind: Pod\nspec: [\n', env: { ...process.env, SEB_CONFIG: '' } });
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/standard input, document 2 is not valid YAML: .*line \d+/);
    const dup = await run(process.execPath, [SEB_BIN, 'inject', '-f', '-'], { input: 'kind: Pod\nkind: Pod\n', env: { ...process.env, SEB_CONFIG: '' } });
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain('document 1 is not valid YAML');
    const missing = await runSeb(['inject', '-f', '/nonexistent/agent.yaml'], { env: { ...process.env, SEB_CONFIG: '' } });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('cannot read /nonexistent/agent.yaml');
  });

  it('refuses a pod it cannot inject and says what to change', async () => {
    const input = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers: [{name: seb, image: x}]\n';
    const res = await run(process.execPath, [SEB_BIN, 'inject', '-f', '-'], { input, env: cliEnv });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('Pod a/p cannot be given seb\'s sidecar: the container name "seb" is reserved for seb\'s sidecar; rename that container');
    const noTemplate = await run(process.execPath, [SEB_BIN, 'inject', '-f', '-'], { input: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n', env: cliEnv });
    expect(noTemplate.code).not.toBe(0);
    expect(noTemplate.stderr).toContain('Deployment d has no pod template at spec.template');
  });
});

describe('mutateReview (POST /mutate)', () => {
  const settings = settingsFrom({ inject: { ledgerSecret: 'seb-ledger' } });
  const pod = (extra: Obj = {}): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent-0', namespace: 'seb-agents', labels: { [INJECT_LABEL]: 'true' } }, spec: { containers: [{ name: 'agent', image: 'python:3.13-slim' }] }, ...extra });
  const response = (a: { body: object }): Obj => (a.body as Obj).response as Obj;

  it('answers a recorded review of something other than a pod creation with allowed and no patch', async () => {
    for (const f of ['admission-review-001-create-deployment-web.json', 'admission-review-012-update-scale-scale-web.json', 'admission-review-015-delete-configmap-cfg.json']) {
      const review = JSON.parse(await readFile(path.join(FIXTURES_DIR, f), 'utf8')) as Obj;
      const answer = mutateReview(review, settings);
      expect(answer.status, f).toBe(200);
      expect(answer.body, f).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
    }
  });

  it('patches an opted-in pod, leaves one without the label alone, and leaves an injected pod alone', async () => {
    const review = await podReview(pod(), 'uid-opted-in');
    const answer = mutateReview(review, settings);
    expect(response(answer)).toMatchObject({ uid: 'uid-opted-in', allowed: true, patchType: 'JSONPatch' });
    const ops = JSON.parse(Buffer.from(response(answer).patch as string, 'base64').toString('utf8')) as Obj[];
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual(['add /spec/containers/0/env', 'add /spec/containers/0/volumeMounts', 'add /spec/automountServiceAccountToken', 'add /spec/volumes', 'add /spec/initContainers']);
    const injected = patched(review, answer);
    expect(response(mutateReview(await podReview(injected, 'uid-again'), settings))).toEqual({ uid: 'uid-again', allowed: true });
    const plain = pod();
    delete plain.metadata.labels;
    expect(response(mutateReview(await podReview(plain, 'uid-plain'), settings))).toEqual({ uid: 'uid-plain', allowed: true });
    const optedOut = pod();
    optedOut.metadata.labels[INJECT_LABEL] = 'false';
    expect(response(mutateReview(await podReview(optedOut, 'uid-out'), settings))).toEqual({ uid: 'uid-out', allowed: true });
  });

  it('denies an opted-in pod it cannot inject, saying what to change (SEB_INJECT_REFUSED)', async () => {
    const cases: Array<[Obj, string]> = [
      [pod({ spec: { containers: [{ name: 'seb', image: 'x' }] } }), 'the container name "seb" is reserved'],
      [pod({ spec: { hostNetwork: true, containers: [{ name: 'a', image: 'x' }] } }), 'hostNetwork'],
      [pod({ spec: { shareProcessNamespace: true, containers: [{ name: 'a', image: 'x' }] } }), 'shareProcessNamespace'],
      [pod({ spec: { containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'vault-token', mountPath: '/vault' }] }], volumes: [{ name: 'vault-token', projected: { sources: [{ serviceAccountToken: { path: 't', audience: 'vault' } }] } }] } }), 'mounts a ServiceAccount token (volume vault-token)'],
      [pod({ spec: { containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'seb-state', mountPath: '/steal' }] }] } }), 'seb\'s private volume seb-state'],
      [pod({ spec: { containers: 'agent' } }), 'spec.containers must be a non-empty list'],
      [pod({ spec: { containers: [{ name: 'a', env: { HTTPS_PROXY: 'x' } }] } }), 'spec.containers[0].env is not a list'],
    ];
    for (const [p, why] of cases) {
      const answer = mutateReview(await podReview(p, 'uid-refused'), settings);
      expect(answer.status).toBe(200);
      const r = response(answer);
      expect(r.uid).toBe('uid-refused');
      expect(r.allowed).toBe(false);
      expect(r.patch).toBeUndefined();
      expect(r.status.code).toBe(403);
      expect(r.status.message).toContain('seb denied this request (SEB_INJECT_REFUSED): pod seb-agents/agent-0 asks for seb\'s sidecar');
      expect(r.status.message).toContain(why);
    }
  });

  it('denies malformed reviews with a clear reason: with the uid when it can be read, else a 400 Status', async () => {
    const valid = await podReview(pod(), 'uid-malformed');
    const broken: Array<[unknown, number]> = [
      [{ ...valid, apiVersion: 'admission.k8s.io/v1beta1' }, 200],
      [{ ...valid, request: { ...valid.request, object: undefined } }, 200],
      [{ ...valid, request: { ...valid.request, object: 'a pod' } }, 200],
      [{ ...valid, request: { ...valid.request, operation: 'MERGE' } }, 200],
      [{ ...valid, request: { ...valid.request, unexpected: true } }, 200],
      [null, 400], ['AdmissionReview', 400], [[], 400], [{}, 400], [{ ...valid, request: { ...valid.request, uid: 42 } }, 400],
    ];
    for (const [body, status] of broken) {
      const answer = mutateReview(body, settings);
      expect(answer.status, JSON.stringify(body)?.slice(0, 80)).toBe(status);
      const text = JSON.stringify(answer.body);
      expect(text).toContain('SEB_ADMISSION_MALFORMED');
      if (status === 200) expect(response(answer)).toMatchObject({ uid: 'uid-malformed', allowed: false, status: { code: 400 } });
      expect(text).not.toContain('"patch"');
    }
    expect(JSON.stringify(mutateReview({ ...valid, apiVersion: 'admission.k8s.io/v1beta1' }, settings).body)).toContain('admissionReviewVersions: [\\"v1\\"]');
  });

  it('never throws and never patches what it cannot read, whatever the body', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (body, object) => {
      for (const b of [body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE', userInfo: {}, object } }]) {
        const answer = mutateReview(b, settings);
        expect([200, 400]).toContain(answer.status);
        const r = (answer.body as Obj).response as Obj | undefined;
        if (r?.patch) expect(r.allowed).toBe(true);
      }
    }), { numRuns: 300 });
  });

  it('escapes JSON Pointer tokens (~0, ~1) so an independent RFC 6902 implementation rebuilds the object', () => {
    const before = { metadata: { labels: { 'a/b': '1', 'c~d': '2' } } };
    const after = { metadata: { labels: { 'a/b': '3', 'e~/f': '4' } }, spec: [1] };
    const ops = diffJson(before, after);
    expect(ops).toContainEqual({ op: 'remove', path: '/metadata/labels/c~0d' });
    expect(ops).toContainEqual({ op: 'add', path: '/metadata/labels/e~0~1f', value: '4' });
    expect(applyJsonPatch(structuredClone(before), JSON.stringify(ops))).toEqual(after);
  });
});

describe('seb\'s credentials stay out of the agent\'s reach', () => {
  const LEDGER = { ledgerSecret: 'seb-ledger' };
  const pod = (spec: Obj): Obj => ({ metadata: { labels: { [INJECT_LABEL]: 'true' } }, spec: { serviceAccountName: 'agent', containers: [{ name: 'agent', image: 'python:3.13-slim' }], ...spec } });
  const inject = (template: Obj, config: object): PodTemplate => {
    const r = injectPodTemplate(template, settingsFrom(config));
    if (!r.ok) throw new Error(r.message);
    return r.template;
  };
  const refusal = (template: Obj, config: object): string => {
    const r = injectPodTemplate(template, settingsFrom(config));
    return r.ok ? 'injected' : r.message;
  };
  const containers = (t: PodTemplate): Obj[] => [...(t.spec.initContainers as Obj[]), ...(t.spec.containers as Obj[])];
  /** The names of the containers that can read Secret `name` (env, envFrom) or mount volume `volume`. */
  const readers = (t: PodTemplate, name: string): string[] => containers(t).filter((c) => JSON.stringify([c.env, c.envFrom]).includes(`"name":"${name}"`)).map((c) => c.name);
  const mounting = (t: PodTemplate, volume: string): string[] => containers(t).filter((c) => (c.volumeMounts as Obj[] | undefined)?.some((m) => m.name === volume)).map((c) => c.name);

  it('H3: seb\'s AWS keys come from inject.sebCredentialsSecret into seb\'s container alone; IMDS is off for seb', async () => {
    const t = inject(pod({}), { inject: { ...LEDGER, sebCredentialsSecret: 'seb-aws' } });
    const seb = (t.spec.initContainers as Obj[]).find((c) => c.name === SIDECAR_NAME)!;
    const byName = Object.fromEntries((seb.env as Obj[]).map((e) => [e.name, e]));
    expect(byName.SEB_AWS_ACCESS_KEY_ID.valueFrom).toEqual({ secretKeyRef: { name: 'seb-aws', key: 'accessKeyId' } });
    expect(byName.SEB_AWS_SECRET_ACCESS_KEY.valueFrom).toEqual({ secretKeyRef: { name: 'seb-aws', key: 'secretAccessKey' } });
    expect(byName.AWS_EC2_METADATA_DISABLED.value).toBe('true');
    expect(readers(t, 'seb-aws')).toEqual([SIDECAR_NAME]);
    expect(readers(t, 'seb-ledger')).toEqual([SIDECAR_NAME]); // not seb-init either: it writes files and needs neither
    expect(JSON.stringify(t.spec.volumes)).not.toContain('seb-aws');
    expect(await schemaErrors({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: t.spec } as never)).toEqual([]);
  });

  it('H3: or by web identity: a token with the STS audience projected into seb\'s container alone, and the role', async () => {
    const roleArn = 'arn:aws:iam::111122223333:role/seb';
    const settings = settingsFrom({ inject: { ...LEDGER, sebWebIdentity: { roleArn } } });
    const r = injectPodTemplate(pod({}), settings);
    if (!r.ok) throw new Error(r.message);
    const t = r.template;
    expect((t.spec.volumes as Obj[]).find((v) => v.name === 'seb-aws-identity')).toEqual({
      name: 'seb-aws-identity', projected: { sources: [{ serviceAccountToken: { path: 'token', audience: 'sts.amazonaws.com', expirationSeconds: 3600 } }] },
    });
    expect(mounting(t, 'seb-aws-identity')).toEqual([SIDECAR_NAME]);
    const seb = (t.spec.initContainers as Obj[]).find((c) => c.name === SIDECAR_NAME)!;
    expect(env(seb)).toMatchObject({ AWS_ROLE_ARN: roleArn, AWS_WEB_IDENTITY_TOKEN_FILE: `${PATHS.awsIdentityDir}/token` });
    for (const c of containers(t).filter((c) => c.name !== SIDECAR_NAME)) expect(JSON.stringify(c), c.name).not.toMatch(/AWS_ROLE_ARN|AWS_WEB_IDENTITY_TOKEN_FILE/);
    const doc = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: t.spec };
    expect(await schemaErrors(doc as never)).toEqual([]);
    expect(unknownFields(doc as never)).toEqual([]);
    // Injecting again changes nothing; the same volume mounted into the agent is refused.
    const again = injectPodTemplate(t, settings);
    expect(again.ok && diffJson(t, again.template)).toEqual([]);
    const stolen = structuredClone(t) as Obj;
    stolen.spec.containers[0].volumeMounts.push({ name: 'seb-aws-identity', mountPath: '/aws' });
    expect(refusal(stolen, { inject: { ...LEDGER, sebWebIdentity: { roleArn } } })).toContain('container agent mounts seb\'s private volume seb-aws-identity');
    expect(configSchema.safeParse({ inject: { sebCredentialsSecret: 'seb-aws', sebWebIdentity: { roleArn } } }).error?.issues[0]?.message).toContain('alternatives: set one');
  });

  it('H3/M1: an agent container may not reference a Secret seb uses, by variable, envFrom or volume', () => {
    const config = { inject: { ...LEDGER, sebCredentialsSecret: 'seb-aws' } };
    const cases: Array<[Obj, string]> = [
      [pod({ containers: [{ name: 'agent', image: 'x', env: [{ name: 'DB', valueFrom: { secretKeyRef: { name: 'seb-ledger', key: 'url' } } }] }] }), 'container agent reads Secret seb-ledger (variable DB), seb\'s ledger URL (inject.ledgerSecret); only seb\'s container may'],
      [pod({ containers: [{ name: 'agent', image: 'x', envFrom: [{ secretRef: { name: 'seb-aws' } }] }] }), 'container agent reads Secret seb-aws (envFrom), seb\'s AWS credentials (inject.sebCredentialsSecret)'],
      [pod({ initContainers: [{ name: 'setup', image: 'x', env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'seb-aws', key: 'secretAccessKey' } } }] }] }), 'container setup reads Secret seb-aws'],
      [pod({ volumes: [{ name: 'keys', secret: { secretName: 'seb-aws' } }] }), 'volume keys holds Secret seb-aws, seb\'s AWS credentials (inject.sebCredentialsSecret); only seb\'s container may read it'],
      [pod({ volumes: [{ name: 'all', projected: { sources: [{ secret: { name: 'seb-ledger' } }] } }] }), 'volume all holds Secret seb-ledger'],
    ];
    for (const [p, why] of cases) expect(refusal(p, config)).toContain(why);
    // Other Secrets are the agent's business.
    expect(refusal(pod({ containers: [{ name: 'agent', image: 'x', envFrom: [{ secretRef: { name: 'model-api-key' } }] }] }), config)).toBe('injected');
  });

  it('M1: refuses host namespaces, privileged containers, added capabilities, privilege escalation and hostPath', () => {
    const c = (securityContext: Obj) => ({ containers: [{ name: 'agent', image: 'x', securityContext }] });
    const cases: Array<[Obj, string]> = [
      [{ hostPID: true }, 'the pod sets hostPID: the agent could read seb\'s token and environment (the ledger URL, AWS keys) through /proc/<pid>/root and /proc/<pid>/environ; remove it'],
      [{ hostIPC: true }, 'the pod sets hostIPC'],
      [{ hostNetwork: true }, 'hostNetwork'],
      [{ shareProcessNamespace: true }, 'shareProcessNamespace'],
      [c({ privileged: true }), 'container agent is privileged'],
      [c({ capabilities: { add: ['SYS_PTRACE'] } }), 'container agent adds capabilities (SYS_PTRACE)'],
      [c({ allowPrivilegeEscalation: true }), 'container agent sets allowPrivilegeEscalation: true'],
      [c({ windowsOptions: { hostProcess: true } }), 'container agent sets windowsOptions.hostProcess'],
      [{ securityContext: { windowsOptions: { hostProcess: true } } }, 'the pod sets securityContext.windowsOptions.hostProcess'],
      [{ initContainers: [{ name: 'setup', image: 'x', securityContext: { privileged: true } }] }, 'container setup is privileged'],
      [{ ephemeralContainers: [{ name: 'debug', image: 'x', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }] }, 'container debug adds capabilities (SYS_ADMIN)'],
      [{ ephemeralContainers: [{ name: 'debug', image: 'x', targetContainerName: 'seb' }] }, 'ephemeral container debug targets seb: it would share seb\'s process namespace'],
      [{ ephemeralContainers: [{ name: 'debug', image: 'x', targetContainerName: 'seb-init' }] }, 'ephemeral container debug targets seb-init'],
      [{ volumes: [{ name: 'kubelet', hostPath: { path: '/var/lib/kubelet/pods' } }] }, 'volume kubelet is a hostPath: through the node\'s filesystem the agent could read seb\'s token and state'],
    ];
    for (const [spec, why] of cases) expect(refusal(pod(spec), { inject: LEDGER }), why).toContain(why);
    // What stays allowed: dropping capabilities, no escalation, ordinary volumes.
    expect(refusal(pod({ ...c({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'], add: [] } }), volumes: [{ name: 'w', emptyDir: {} }] }), { inject: LEDGER })).toBe('injected');
  });

  it('M1: the webhook denies such pods with SEB_INJECT_REFUSED', async () => {
    const review = await podReview({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent-0', namespace: 'seb-agents', labels: { [INJECT_LABEL]: 'true' } }, spec: { hostPID: true, containers: [{ name: 'agent', image: 'x' }] } }, 'uid-hostpid');
    const r = (mutateReview(review, settingsFrom({ inject: LEDGER })).body as Obj).response as Obj;
    expect(r).toMatchObject({ uid: 'uid-hostpid', allowed: false, status: { code: 403, reason: 'Forbidden' } });
    expect(r.status.message).toContain('seb denied this request (SEB_INJECT_REFUSED): pod seb-agents/agent-0 asks for seb\'s sidecar (label seb.openkedge.io/inject=true) but cannot be given it: the pod sets hostPID');
  });

  it('M6: without a shared ledger injection is refused, unless inject.allowEmbeddedLedger says a per-pod ledger is wanted', async () => {
    const why = refusal(pod({}), {});
    expect(why).toContain('no shared ledger is configured (inject.ledgerSecret), so each pod would keep its own embedded ledger and one certificate could execute once per replica and again after every pod replacement');
    expect(why).toContain('inject.allowEmbeddedLedger: true for a demo');
    const review = await podReview({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent-0', namespace: 'seb-agents', labels: { [INJECT_LABEL]: 'true' } }, spec: { containers: [{ name: 'agent', image: 'x' }] } }, 'uid-no-ledger');
    const r = (mutateReview(review, settingsFrom({})).body as Obj).response as Obj;
    expect(r).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(r.status.message).toContain('(SEB_INJECT_REFUSED)');
    expect(r.patch).toBeUndefined();
    const demo = inject(pod({}), { inject: { allowEmbeddedLedger: true } });
    expect(JSON.stringify(demo)).not.toContain('SEB_DATABASE_URL');
    // The CLI says the same and exits non-zero.
    const res = await run(process.execPath, [SEB_BIN, 'inject', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: agent, image: x}]}\n', env: { ...process.env, SEB_CONFIG: '' } });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('Pod p cannot be given seb\'s sidecar: no shared ledger is configured');
  });

  it('a pre-existing seb container is kept only as injected (API server defaults aside), never with extra settings', () => {
    const settings = settingsFrom({ inject: LEDGER });
    const t = inject(pod({}), { inject: LEDGER });
    for (const tamper of [
      (c: Obj) => { c.command = ['sh', '-c', 'cat /var/run/secrets/seb/kube/token']; },
      (c: Obj) => { c.securityContext.capabilities.add = ['SYS_PTRACE']; },
      (c: Obj) => { c.volumeMounts[0].subPathExpr = '$(POD_NAME)'; },
    ]) {
      const forged = structuredClone(t) as Obj;
      tamper(forged.spec.initContainers[1]);
      const r = injectPodTemplate(forged, settings);
      if (!r.ok) throw new Error(r.message);
      expect((r.template.spec.initContainers as Obj[])[1]).toEqual((t.spec.initContainers as Obj[])[1]);
      expect(r.notes).toContain('replaced container seb with the current injection settings');
    }
    const forgedVolume = structuredClone(t) as Obj;
    forgedVolume.spec.volumes.find((v: Obj) => v.name === 'seb-identity').projected.sources.push({ secret: { name: 'seb-ledger' } });
    const r = injectPodTemplate(forgedVolume, settings);
    expect(r.ok ? 'injected' : r.message).toContain('volume seb-identity holds Secret seb-ledger');
  });
});

describe('seb agent-files --refuse-config-secrets (seb-init: no secret in the ConfigMap the agent can read)', () => {
  it('fails, naming each secret and where it belongs, while seb.yaml holds seb\'s AWS keys or the ledger URL', async () => {
    const dir = await tempDir('seb-config-secrets-');
    const leaky = path.join(dir, 'leaky.yaml');
    await writeFile(leaky, 'aws:\n  sebAccessKeyId: AKIAIOSFODNN7EXAMPLE\n  sebSecretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nledger:\n  databaseUrl: postgres://seb:pw@db:5432/seb\n');
    const env = { ...process.env, SEB_CONFIG: leaky, SEB_STATE_DIR: path.join(dir, 'state') };
    const res = await runSeb(['agent-files', '--out', path.join(dir, 'out'), '--refuse-config-secrets'], { env });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(`${leaky} holds secrets (aws.sebAccessKeyId, aws.sebSecretAccessKey, ledger.databaseUrl): it is the sidecar's ConfigMap, which the agent can read through seb, so seb refuses to start`);
    expect(res.stderr).toContain('ledger.databaseUrl into the Secret named by inject.ledgerSecret (key url)');
    expect(res.stderr).not.toContain('wJalrXUtnFEMI'); // never the values
    const clean = path.join(dir, 'clean.yaml');
    await writeFile(clean, 'aws:\n  accountId: "111122223333"\n');
    // The same secrets from the environment (the Secrets injection names) are fine.
    const ok = await runSeb(['agent-files', '--out', path.join(dir, 'out'), '--refuse-config-secrets'], { env: { ...env, SEB_CONFIG: clean, SEB_DATABASE_URL: 'postgres://seb:pw@db:5432/seb' } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('kubeconfig');
  });
});

describe('seb agent-files (what seb-init writes), used by kubectl through seb', () => {
  let world: KubeWorld;
  let seb: TestSeb;
  const skip = requireCommand('kubectl', 'kubectl');

  beforeAll(async () => {
    world = await startKubeWorld();
    const identity = path.join(world.dir, 'seb-identity.token');
    await writeFile(identity, world.kube.tokens.agent!); // the agent's read-only ServiceAccount: seb's identity for it
    seb = await startTestSeb({ ...world.sebConfig, kube: { identityTokenFile: identity } });
  });
  afterAll(async () => {
    await seb?.stop();
    await world?.close();
  });

  it('writes seb\'s CA, the bundle, a placeholder ServiceAccount and a kubeconfig that reaches the API server through seb', async ({ skip: skipTest }) => {
    const out = await tempDir('seb-agent-files-');
    const res = await runSeb(['agent-files', '--out', out], { env: { ...process.env, SEB_CONFIG: '', SEB_STATE_DIR: seb.stateDir, SEB_ENDPOINT_LISTEN: `127.0.0.1:${seb.endpointPort}`, POD_NAMESPACE: 'har-demo' } });
    expect(res.code, res.stderr).toBe(0);
    expect(await readFile(path.join(out, 'ca.crt'), 'utf8')).toBe(seb.caPem);
    expect(await readFile(path.join(out, 'serviceaccount', 'ca.crt'), 'utf8')).toBe(seb.caPem);
    expect((await readFile(path.join(out, 'bundle.pem'), 'utf8')).startsWith(seb.caPem.trim())).toBe(true);
    expect(await readFile(path.join(out, 'serviceaccount', 'token'), 'utf8')).toBe(seb.config.kube.placeholderToken);
    expect(await readFile(path.join(out, 'serviceaccount', 'namespace'), 'utf8')).toBe('har-demo');
    const kubeconfig = parseYaml(await readFile(path.join(out, 'kubeconfig'), 'utf8')) as Obj;
    expect(kubeconfig.clusters[0].cluster).toEqual({ server: `https://127.0.0.1:${seb.endpointPort}`, 'certificate-authority': path.join(out, 'ca.crt') });
    expect(kubeconfig.users[0].user).toEqual({ token: seb.config.kube.placeholderToken });
    if (skip) return skipTest(skip);
    // The agent's kubectl: no proxy settings, only KUBECONFIG. The placeholder token is worthless at the API server;
    // seb reads with its own identity.
    const got = await run('kubectl', ['get', 'configmap', 'settings', '-o', 'jsonpath={.data.mode}'], { env: { PATH: process.env.PATH, HOME: out, KUBECONFIG: path.join(out, 'kubeconfig') } });
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe('initial');
  });
});
