// The Kubernetes manifests: every overlay renders with the real `kubectl kustomize`, every rendered object validates
// against the Kubernetes OpenAPI schema (kubernetes-models; unknown fields against a v1.33 API server's recorded
// schemas), and what the objects say agrees with seb itself: the webhook configurations are the ones
// admission/webhook-config.ts defines, fail closed and never cover seb's own namespace; the webhook's configuration
// passes seb's strict schema; pods injected with it find the ConfigMap and Secret they name; RBAC lets seb mint
// executor tokens only.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { validatingWebhookConfiguration } from '../admission/webhook-config.ts';
import { injectSettingsOf } from '../admission/inject-review.ts';
import { injectPodTemplate, INJECT_LABEL, SIDECAR_NAME } from '../admission/inject.ts';
import { refuseConfigSecrets } from '../cli/inject.ts';
import { CODES } from '../errors/codes.ts';
import { loadTrustStoreFile } from '../certs/sab/trust-store.ts';
import { loadConfig } from '../config/load.ts';
import { configSchema } from '../config/schema.ts';
import { hasRecordedSchema, schemaErrors, unknownFields } from './helpers/kube-schema.ts';
import { evaluate } from './kube-apiserver/cel.ts';
import { REPO_ROOT, run } from './helpers/run.ts';
import { requireCommand } from './helpers/services.ts';
import { tempDir } from './helpers/seb.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = path.join(REPO_ROOT, 'manifests', 'kubernetes');
const skip = requireCommand('kubectl', 'kubectl (kustomize)');
const defaults = configSchema.parse({});

async function render(dir: string): Promise<Obj[]> {
  const res = await run('kubectl', ['kustomize', dir]);
  if (res.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${res.stderr}`);
  const objs = parseAllDocuments(res.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
  // kustomize wraps long base64 Secret data over lines; the API server's decoder (Go's encoding/base64) skips
  // line breaks, kubernetes-models' "byte" format does not, so they are joined before validation.
  for (const o of objs) if (o.kind === 'Secret' && o.data) for (const k of Object.keys(o.data)) o.data[k] = String(o.data[k]).replace(/\n/g, '');
  return objs;
}

const find = (objs: Obj[], kind: string, name: string, namespace?: string): Obj | undefined =>
  objs.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));

/** A ValidatingAdmissionPolicy on one request, by the test API server's CEL interpreter: not matched, or the
 * messages of the validations that fail (variables evaluated in order, each may use the earlier ones). */
function runPolicy(policy: Obj, object: Obj, request: Obj): { matched: boolean; failures: string[] } {
  const env: Record<string, unknown> = { object, oldObject: null, request, variables: {} };
  if (!(policy.spec.matchConditions as Obj[]).every((c) => evaluate(c.expression, env) === true)) return { matched: false, failures: [] };
  for (const v of policy.spec.variables as Obj[]) (env.variables as Obj)[v.name] = evaluate(v.expression, env);
  return { matched: true, failures: (policy.spec.validations as Obj[]).filter((v) => evaluate(v.expression, env) !== true).map((v) => v.message as string) };
}

function podSpecs(objs: Obj[]): Array<{ owner: string; namespace: string; spec: Obj }> {
  return objs.filter((o) => o.spec?.template?.spec).map((o) => ({ owner: `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`, namespace: o.metadata.namespace, spec: o.spec.template.spec }));
}

describe.skipIf(skip)('manifests/kubernetes', async () => {
  const overlays = (await readdir(path.join(ROOT, 'overlays'))).sort();
  const rendered = new Map<string, Obj[]>();

  beforeAll(async () => {
    for (const o of overlays) rendered.set(o, await render(path.join(ROOT, 'overlays', o)));
    rendered.set('protected-namespace', await render(path.join(ROOT, 'protected-namespace')));
  });

  it('has the dev and prod overlays', () => {
    expect(overlays).toEqual(['dev', 'prod']);
  });

  it('renders every overlay, and every object validates against the Kubernetes OpenAPI schema', async () => {
    for (const [name, objs] of rendered) {
      expect(objs.length, name).toBeGreaterThan(0);
      for (const o of objs) {
        const what = `${name}: ${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
        expect(await schemaErrors(o as never), what).toEqual([]);
        if (hasRecordedSchema(o.apiVersion)) expect(unknownFields(o as never), what).toEqual([]);
      }
    }
    const kinds = new Set([...rendered.values()].flat().map((o) => o.kind));
    for (const k of ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'RoleBinding', 'Deployment', 'Service', 'PodDisruptionBudget', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'NetworkPolicy', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) {
      expect(kinds, k).toContain(k);
    }
  });

  for (const overlay of ['dev', 'prod']) {
    describe(`overlay ${overlay}`, () => {
      let objs: Obj[];
      let sebNamespace: string;
      let webhook: Obj;
      beforeAll(() => {
        objs = rendered.get(overlay)!;
        webhook = objs.find((o) => o.kind === 'Deployment' && o.spec.template.spec.containers[0].args?.join(' ') === 'webhook serve')!;
        sebNamespace = webhook.metadata.namespace;
      });

      it('both webhook configurations fail closed and exclude seb\'s own namespace', () => {
        const configs = objs.filter((o) => o.kind === 'ValidatingWebhookConfiguration' || o.kind === 'MutatingWebhookConfiguration');
        expect(configs.map((c) => c.kind).sort()).toEqual(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
        for (const c of configs) {
          for (const w of c.webhooks as Obj[]) {
            expect(w.failurePolicy, w.name).toBe('Fail');
            expect(w.clientConfig.service.namespace).toBe(sebNamespace);
            const service = find(objs, 'Service', w.clientConfig.service.name, sebNamespace)!;
            expect(service.spec.ports.map((p: Obj) => p.port)).toContain(w.clientConfig.service.port);
            // The Namespace webhook selects protected Namespaces by their own (old or new) label instead.
            if (!w.namespaceSelector) { expect(w.objectSelector, w.name).toEqual({ matchLabels: { 'seb.openkedge.io/protected': 'true' } }); continue; }
            const exclusion = (w.namespaceSelector.matchExpressions as Obj[]).find((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn');
            expect(exclusion?.values, w.name).toContain(sebNamespace);
          }
        }
      });

      it('the validating webhook is exactly the one admission/webhook-config.ts defines', () => {
        const rendered = objs.find((o) => o.kind === 'ValidatingWebhookConfiguration')!;
        const expected = validatingWebhookConfiguration({ service: { namespace: sebNamespace, name: 'seb-webhook' } });
        expect(rendered.webhooks).toEqual(expected.webhooks);
        expect(rendered.metadata.name).toBe((expected.metadata as Obj).name);
      });

      it('the mutating webhook is called only for pods created with the opt-in label', () => {
        const [w] = objs.find((o) => o.kind === 'MutatingWebhookConfiguration')!.webhooks as Obj[];
        expect(w!.clientConfig.service.path).toBe('/mutate');
        expect(w!.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
        expect(w!.objectSelector).toEqual({ matchLabels: { [INJECT_LABEL]: 'true' } });
        expect(w!.sideEffects).toBe('None');
      });

      it('runs the webhook hardened, with the configuration seb accepts, and pods injected with it find what they name', async () => {
        const pod = webhook.spec.template.spec as Obj;
        const c = pod.containers[0] as Obj;
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: defaults.inject.runAsUser, seccompProfile: { type: 'RuntimeDefault' } });
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.securityContext.capabilities.add).toBeUndefined();
        expect(webhook.spec.replicas).toBeGreaterThanOrEqual(overlay === 'prod' ? 2 : 1);
        const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget')!;
        expect(pdb.metadata.namespace).toBe(sebNamespace);
        expect(pdb.spec.selector.matchLabels).toEqual(webhook.spec.selector.matchLabels);

        // Its configuration file, through seb's own loader (strict: an unknown key fails).
        const envOf = (name: string) => (c.env as Obj[]).find((e) => e.name === name);
        const configPath = envOf('SEB_CONFIG')!.value as string;
        const mountOf = (file: string) => (c.volumeMounts as Obj[]).find((m) => file.startsWith(`${m.mountPath}/`))!;
        const configVolume = (pod.volumes as Obj[]).find((v) => v.name === mountOf(configPath).name)!;
        const configMap = find(objs, 'ConfigMap', configVolume.configMap.name, sebNamespace)!;
        const dir = await tempDir('seb-manifest-config-');
        const file = path.join(dir, 'seb.yaml');
        await writeFile(file, configMap.data[path.basename(configPath)]);
        const loaded = loadConfig({ config: file }, {});
        if (!loaded.ok) throw new Error(loaded.error);
        const config = loaded.value;
        const tlsVolume = (pod.volumes as Obj[]).find((v) => v.name === mountOf(config.webhook.tlsCertFile!).name)!;
        expect(tlsVolume.secret.secretName).toBe('seb-webhook-tls');
        expect(mountOf(config.webhook.tlsKeyFile!).name).toBe(tlsVolume.name);
        expect(c.ports.map((p: Obj) => p.containerPort)).toContain(Number(config.webhook.listen.split(':')[1]));
        expect((c.volumeMounts as Obj[]).some((m) => m.mountPath === envOf('SEB_STATE_DIR')!.value)).toBe(true);
        expect(envOf('SEB_DATABASE_URL')!.valueFrom.secretKeyRef.name).toBe('seb-ledger');

        // seb's identity in injected pods is the agents' ServiceAccount: the webhook lets it do its housekeeping.
        const agentSa = objs.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'agent')!;
        const agentNs = agentSa.metadata.namespace as string;
        expect(config.webhook.brokerIdentities).toContain(`system:serviceaccount:${agentNs}:agent`);

        // A pod injected with these settings in the agents' namespace names a ConfigMap that is there (with a
        // sidecar configuration seb accepts and a trust store it loads), and, in dev, the ledger Secret too.
        const injected = injectPodTemplate({ metadata: { labels: { [INJECT_LABEL]: 'true' } }, spec: { serviceAccountName: 'agent', containers: [{ name: 'agent', image: 'x' }] } }, injectSettingsOf(config));
        if (!injected.ok) throw new Error(injected.message);
        const sidecarConfig = find(objs, 'ConfigMap', (injected.template.spec.volumes!.find((v) => v.name === 'seb-config')!.configMap as Obj).name, agentNs)!;
        expect(sidecarConfig).toBeDefined();
        for (const [name, text] of Object.entries(sidecarConfig.data as Record<string, string>)) await writeFile(path.join(dir, name), text);
        const sidecarSeb = (parseYaml(sidecarConfig.data['seb.yaml']) ?? {}) as Obj;
        if (sidecarSeb.trust?.file) {
          // A trust store it names must be in the ConfigMap (mounted at /etc/seb) and load.
          expect(path.dirname(sidecarSeb.trust.file as string)).toBe('/etc/seb');
          sidecarSeb.trust.file = path.join(dir, path.basename(sidecarSeb.trust.file as string));
          const trust = await loadTrustStoreFile(sidecarSeb.trust.file as string);
          expect(trust.ok, trust.ok ? '' : trust.error).toBe(true);
        }
        await writeFile(path.join(dir, 'sidecar.yaml'), JSON.stringify(sidecarSeb));
        const sidecarLoaded = loadConfig({ config: path.join(dir, 'sidecar.yaml') }, {});
        expect(sidecarLoaded.ok, sidecarLoaded.ok ? '' : sidecarLoaded.error).toBe(true);
        if (overlay === 'dev') {
          for (const ns of [agentNs, sebNamespace]) expect(find(objs, 'Secret', config.inject.ledgerSecret!, ns)?.data?.url, ns).toBeDefined();
        }
      });

      it('RBAC: the agents read, seb mints tokens for the executor only, executors live in protected namespaces', () => {
        const minter = find(objs, 'ClusterRole', 'seb-minter')!;
        const tokenRules = (minter.rules as Obj[]).filter((r) => (r.resources as string[]).includes('serviceaccounts/token'));
        expect(tokenRules).toEqual([{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [defaults.kube.executorServiceAccount] }]);
        for (const role of objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
          for (const r of role.rules as Obj[]) {
            if (role.metadata.name !== 'seb-minter') expect(r.resources, role.metadata.name).not.toContain('serviceaccounts/token');
            expect(r.verbs, role.metadata.name).not.toContain('*');
          }
        }
        const read = find(objs, 'ClusterRoleBinding', 'seb-read')!;
        expect(read.roleRef.name).toBe('view');
        for (const rb of objs.filter((o) => o.kind === 'RoleBinding' && o.roleRef.name === 'seb-minter')) {
          const ns = objs.find((o) => o.kind === 'Namespace' && o.metadata.name === rb.metadata.namespace)!;
          expect(ns.metadata.labels['seb.openkedge.io/protected'], rb.metadata.namespace).toBe('true');
          expect(find(objs, 'ServiceAccount', defaults.kube.executorServiceAccount, rb.metadata.namespace), rb.metadata.namespace).toBeDefined();
        }
      });

      it('every pod in seb\'s namespace meets the restricted Pod Security Standard', () => {
        const ns = objs.find((o) => o.kind === 'Namespace' && o.metadata.name === sebNamespace)!;
        expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
        for (const { owner, spec } of podSpecs(objs).filter((p) => p.namespace === sebNamespace)) {
          for (const c of [...(spec.initContainers ?? []), ...spec.containers] as Obj[]) {
            const sc = { ...spec.securityContext, ...c.securityContext };
            expect(sc.runAsNonRoot, owner).toBe(true);
            expect(sc.allowPrivilegeEscalation, owner).toBe(false);
            expect(sc.capabilities?.drop, owner).toEqual(['ALL']);
            expect(sc.seccompProfile?.type, owner).toBe('RuntimeDefault');
            expect(sc.readOnlyRootFilesystem, owner).toBe(true);
          }
        }
      });
    });
  }

  it('prod also carries the ValidatingAdmissionPolicy: executors only, fail closed, never seb\'s namespace', () => {
    const objs = rendered.get('prod')!;
    const policy = find(objs, 'ValidatingAdmissionPolicy', 'seb-executors-only')!;
    const binding = find(objs, 'ValidatingAdmissionPolicyBinding', 'seb-executors-only')!;
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(binding.spec.policyName).toBe(policy.metadata.name);
    expect(binding.spec.validationActions).toEqual(['Deny']);
    expect(binding.spec.matchResources.namespaceSelector.matchLabels).toEqual({ 'seb.openkedge.io/protected': 'true' });
    expect(binding.spec.matchResources.namespaceSelector.matchExpressions).toContainEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['seb-system'] });
    // The same namespaced rules and control-plane exclusion as the webhook.
    const webhook = validatingWebhookConfiguration({ service: { namespace: 'seb-system', name: 'seb-webhook' } }).webhooks as Obj[];
    const first = webhook[0]!;
    expect(policy.spec.matchConstraints.resourceRules.filter((r: Obj) => r.scope === 'Namespaced')).toEqual(first.rules.filter((r: Obj) => r.scope === 'Namespaced'));
    expect(policy.spec.matchConditions).toEqual(first.matchConditions);
    // And the same namespace-controller exclusion as the Namespace webhook.
    const namespaces = find(objs, 'ValidatingAdmissionPolicy', 'seb-protected-namespaces')!;
    expect(namespaces.spec.matchConditions[0]).toEqual(webhook[1]!.matchConditions[0]);
    const executor = (policy.spec.variables as Obj[]).find((v) => v.name === 'executor')!.expression as string;
    expect(executor).toContain(`':${defaults.kube.executorServiceAccount}'`);
    expect(policy.spec.validations[0].expression).toBe('variables.executor || variables.housekeeping');
  });

  describe('seb\'s identity and secrets stay with seb\'s container', () => {
    /** The webhook's configuration (ConfigMap seb-webhook), through seb's schema. */
    const webhookConfig = (objs: Obj[]) => configSchema.parse(parseYaml(find(objs, 'ConfigMap', 'seb-webhook')!.data['seb.yaml']));
    const agentNamespace = (objs: Obj[]): string => objs.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'agent')!.metadata.namespace;

    for (const overlay of ['dev', 'prod']) {
      it(`${overlay}: the policy seb-broker-pods admits injected pods only under seb's identity (M5)`, () => {
        const objs = rendered.get(overlay)!;
        const config = webhookConfig(objs);
        const ns = agentNamespace(objs);
        const policy = find(objs, 'ValidatingAdmissionPolicy', 'seb-broker-pods')!;
        const binding = find(objs, 'ValidatingAdmissionPolicyBinding', 'seb-broker-pods')!;
        expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
        expect(policy.spec.failurePolicy).toBe('Fail');
        expect(binding.spec).toMatchObject({ policyName: 'seb-broker-pods', validationActions: ['Deny'] });
        expect(binding.spec.matchResources.namespaceSelector.matchExpressions).toEqual([{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns] }]);
        for (const id of config.webhook.brokerIdentities) expect(policy.spec.matchConditions[0].expression, id).toContain(`'${id}'`);
        const image = (policy.spec.variables as Obj[]).find((v) => v.name === 'sebImage')!.expression as string;
        expect(config.inject.image.startsWith(`${image.slice(1, -1)}:`), `${config.inject.image} vs ${image}`).toBe(true);
        for (const v of policy.spec.validations as Obj[]) expect(Object.keys(CODES)).toContain(/^seb \((SEB_[A-Z_]+)\)/.exec(v.message)?.[1]);

        // The policy's CEL, evaluated on the pods it is about.
        const injected = injectPodTemplate({ metadata: { labels: { [INJECT_LABEL]: 'true' } }, spec: { serviceAccountName: 'agent', containers: [{ name: 'agent', image: 'python:3.13-slim' }] } }, injectSettingsOf(config));
        if (!injected.ok) throw new Error(injected.message);
        const pod = (spec: Obj): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'agent-0', namespace: ns }, spec });
        const review = (spec: Obj, operation = 'CREATE', subResource?: string) => runPolicy(policy, pod(spec),
          { namespace: ns, operation, ...(subResource ? { subResource } : {}), userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' } });
        const good = injected.template.spec as Obj;
        expect(review(good)).toEqual({ matched: true, failures: [] });
        const changed = (edit: (s: Obj) => void) => { const s = structuredClone(good); edit(s); return s; };
        const sebOf = (s: Obj) => (s.initContainers as Obj[]).find((c) => c.name === SIDECAR_NAME)!;
        // Which validations fail, by what they are about (in the order of the policy's validations).
        const about = ['sidecar', 'seb as built', 'token', 'host', 'privileged', 'debug target'];
        expect((policy.spec.validations as Obj[]).length).toBe(about.length);
        const failing = (spec: Obj, operation?: string, sub?: string) => review(spec, operation, sub).failures.map((m) => about[(policy.spec.validations as Obj[]).findIndex((v) => v.message === m)]);

        // Not injected: what M5 is about. The token is automounted (the ServiceAccount plugin's volume).
        const plain = { serviceAccountName: 'agent', automountServiceAccountToken: true, containers: [{ name: 'agent', image: 'x', volumeMounts: [{ name: 'kube-api-access-x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }], volumes: [{ name: 'kube-api-access-x', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }] };
        expect(failing(plain)).toEqual(['sidecar', 'token']);
        expect(review(plain).failures[0]).toContain('has no seb sidecar (init container seb with restartPolicy Always)');
        expect(review(plain).failures[1]).toContain('only the seb container may hold the ServiceAccount token');
        expect(failing(changed((s) => { sebOf(s).image = 'evil.example/seb:0.1.0'; }))).toEqual(['seb as built']);
        expect(failing(changed((s) => { sebOf(s).command = ['sh', '-c', 'cat /var/run/secrets/seb/kube/token']; }))).toEqual(['seb as built']);
        expect(failing(changed((s) => { sebOf(s).env.push({ name: 'NODE_OPTIONS', value: '--require /tmp/x.js' }); }))).toEqual(['seb as built']);
        expect(failing(changed((s) => { s.containers[0].volumeMounts.push({ name: 'seb-identity', mountPath: '/steal' }); }))).toEqual(['token']);
        expect(failing(changed((s) => { s.automountServiceAccountToken = true; }))).toEqual(['token']);
        expect(failing(changed((s) => { s.hostPID = true; }))).toEqual(['host']);
        expect(failing(changed((s) => { s.volumes.push({ name: 'node', hostPath: { path: '/' } }); }))).toEqual(['host']);
        expect(failing(changed((s) => { s.containers[0].securityContext = { privileged: true }; }))).toEqual(['privileged']);
        // Later: an ephemeral container with seb's token (kubectl debug --profile=... with a mount).
        expect(failing(changed((s) => { s.ephemeralContainers = [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'seb-identity', mountPath: '/t' }] }]; }), 'UPDATE', 'ephemeralcontainers')).toEqual(['token']);
        // kubectl debug --target=seb: an ephemeral container in seb's process namespace reads its token through /proc.
        for (const target of ['seb', 'seb-init']) {
          expect(failing(changed((s) => { s.ephemeralContainers = [{ name: 'debug', image: 'busybox', targetContainerName: target }]; }), 'UPDATE', 'ephemeralcontainers'), target).toEqual(['debug target']);
        }
        expect(failing(changed((s) => { s.ephemeralContainers = [{ name: 'debug', image: 'busybox', targetContainerName: 'agent' }]; }), 'UPDATE', 'ephemeralcontainers')).toEqual([]);
        // Other ServiceAccounts are not the policy's business.
        expect(review({ ...plain, serviceAccountName: 'default' }).matched).toBe(false);
        expect(review({ containers: [{ name: 'web', image: 'x' }] }).matched).toBe(false);
      });

      it(`${overlay}: the agents' namespace cannot reach the instance metadata service, and enforces baseline (H3, M1)`, () => {
        const objs = rendered.get(overlay)!;
        const ns = agentNamespace(objs);
        const namespace = find(objs, 'Namespace', ns)!;
        expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
        const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === ns);
        const metadataBlock = policies.find((p) => p.metadata.name === 'no-instance-metadata')!;
        expect(metadataBlock.spec.podSelector).toEqual({});
        expect(metadataBlock.spec.policyTypes).toEqual(['Egress']);
        // Every egress rule for these pods (NetworkPolicies add up) goes to address blocks that leave the metadata
        // addresses out: none allows "anywhere".
        for (const p of policies.filter((x) => (x.spec.policyTypes as string[]).includes('Egress'))) {
          for (const rule of p.spec.egress as Obj[]) {
            expect(rule.to?.length, p.metadata.name).toBeGreaterThan(0);
            for (const peer of rule.to as Obj[]) {
              const blocked = peer.ipBlock.cidr.includes(':') ? ['fd00:ec2::254/128'] : ['169.254.169.254/32'];
              for (const b of blocked) expect(peer.ipBlock.except, p.metadata.name).toContain(b);
            }
          }
        }
      });

      it(`${overlay}: the agent's identity reads no Secret, its ConfigMap holds none, and injection has a shared ledger (H3, M6)`, async () => {
        const objs = rendered.get(overlay)!;
        const ns = agentNamespace(objs);
        const config = webhookConfig(objs);
        const isAgent = (s: Obj) => s.kind === 'ServiceAccount' && s.name === 'agent' && s.namespace === ns;
        const bindings = objs.filter((o) => (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && (o.subjects as Obj[]).some(isAgent));
        // view: the built-in read role, which leaves Secrets out (and covers ConfigMaps: hence no secret in them).
        expect(bindings.map((b) => b.roleRef.name)).toContain('view');
        for (const b of bindings) expect(['view', 'seb-minter'], b.metadata.name).toContain(b.roleRef.name);
        for (const b of bindings.filter((x) => x.roleRef.name !== 'view')) {
          const role = find(objs, b.roleRef.kind, b.roleRef.name)!;
          for (const r of role.rules as Obj[]) {
            if ((r.resources as string[]).some((x) => x === 'secrets' || x === '*')) expect(r.verbs, role.metadata.name).toEqual(['create', 'delete']);
          }
        }
        const sidecar = find(objs, 'ConfigMap', config.inject.configMap, ns)!;
        const dir = await tempDir('seb-manifest-sidecar-');
        await writeFile(path.join(dir, 'seb.yaml'), sidecar.data['seb.yaml']);
        await expect(refuseConfigSecrets(path.join(dir, 'seb.yaml'))).resolves.toBeUndefined();
        expect(config.inject.ledgerSecret).toBe('seb-ledger');
        expect(config.inject.allowEmbeddedLedger).toBe(false);
        if (overlay === 'dev') expect(find(objs, 'Secret', config.inject.ledgerSecret!, ns)?.data?.url).toBeDefined();
      });
    }
  });

  it('the protected-namespace template renders into the namespace a kustomization names', async () => {
    const objs = rendered.get('dev')!.filter((o) => o.metadata.namespace === 'seb-demo' || o.metadata.name === 'seb-demo');
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/web', 'Namespace/seb-demo', 'RoleBinding/seb-executor', 'RoleBinding/seb-minter', 'ServiceAccount/seb-executor']);
    const executorBinding = find(objs, 'RoleBinding', 'seb-executor')!;
    expect(executorBinding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'seb-executor', namespace: 'seb-demo' }]);
    expect(find(objs, 'RoleBinding', 'seb-minter')!.subjects).toEqual([{ kind: 'ServiceAccount', name: 'agent', namespace: 'seb-agents' }]);
    expect((await readFile(path.join(ROOT, 'protected-namespace', 'kustomization.yaml'), 'utf8'))).toContain('namespace: protected-example');
    // The template itself does not protect (its objects could not be created in a protected namespace) ...
    const template = rendered.get('protected-namespace')!.find((o) => o.kind === 'Namespace')!;
    expect(template.metadata.labels?.['seb.openkedge.io/protected']).toBeUndefined();
    // ... and in one `kubectl apply -k` the guards come after everything created inside protected namespaces.
    for (const [name, all] of rendered) {
      const guards = all.map((o, i) => [o, i] as const).filter(([o]) => /WebhookConfiguration$|^ValidatingAdmissionPolicy/.test(o.kind)).map(([, i]) => i);
      const protectedNs = new Set(all.filter((o) => o.kind === 'Namespace' && o.metadata.labels?.['seb.openkedge.io/protected'] === 'true').map((o) => o.metadata.name));
      const inside = all.map((o, i) => [o, i] as const).filter(([o]) => protectedNs.has(o.metadata.namespace)).map(([, i]) => i);
      if (inside.length && guards.length) expect(Math.max(...inside), name).toBeLessThan(Math.min(...guards));
    }
  });
});
