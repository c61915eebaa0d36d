// What the apiserver adds to an object it stores: system metadata, the defaults of the built-in kinds (as seen
// in the recorded objects), validation with the recorded 422 wording, and the Deployment status that
// kube-controller-manager would write (no ReplicaSets or Pods are simulated).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { StatusError, invalid, type StatusCause } from './status.ts';
import type { ResourceInfo } from './resources.ts';
import { defaultWebhookConfiguration, validateWebhookConfiguration } from './webhook-config.ts';
import type { Obj } from './store.ts';

export const nowRfc3339 = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const GENERATION_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Pod', 'Job', 'CronJob', 'HorizontalPodAutoscaler', 'Ingress', 'PodDisruptionBudget', 'NetworkPolicy', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);
export const hasGeneration = (kind: string): boolean => GENERATION_KINDS.has(kind);
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
/** JSON with object keys sorted: equal for equal values whatever the key order (kubectl -o json sorts keys). */
export const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
export const safeHash = (v: unknown, n = 10): string => [...createHash('sha256').update(canonical(v)).digest()].slice(0, n).map((b) => SAFE[b % SAFE.length]).join('');

const META_ORDER = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'];
export function orderMetadata(o: Obj): Obj {
  const m = o.metadata ?? {};
  const out: Obj = {};
  for (const k of META_ORDER) if (m[k] !== undefined) out[k] = m[k];
  for (const k of Object.keys(m)) if (!(k in out) && m[k] !== undefined) out[k] = m[k];
  const { kind, apiVersion, metadata: _, ...rest } = o;
  return { kind, apiVersion, metadata: out, ...rest };
}

/** System metadata for a new object. */
export function initMetadata(info: ResourceInfo, o: Obj): void {
  const m = (o.metadata ??= {});
  if (!m.name && m.generateName) m.name = `${m.generateName}${[...randomBytes(5)].map((b) => SAFE[b % SAFE.length]).join('')}`;
  m.uid = randomUUID();
  m.creationTimestamp = nowRfc3339();
  delete m.resourceVersion; delete m.deletionTimestamp; delete m.managedFields; delete m.selfLink;
  if (hasGeneration(info.kind)) m.generation = 1; else delete m.generation;
}

function defaultContainer(c: Obj): void {
  c.resources ??= {};
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (!c.imagePullPolicy) {
    const img = String(c.image ?? '');
    const tag = img.includes('@') ? 'digest' : (img.split('/').pop() ?? '').split(':')[1];
    c.imagePullPolicy = !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  for (const p of (c.ports ?? []) as Obj[]) p.protocol ??= 'TCP';
}

export function defaultPodSpec(s: Obj): void {
  for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])] as Obj[]) defaultContainer(c);
  s.restartPolicy ??= 'Always';
  s.terminationGracePeriodSeconds ??= 30;
  s.dnsPolicy ??= 'ClusterFirst';
  s.securityContext ??= {};
  s.schedulerName ??= 'default-scheduler';
}

let nextClusterIp = 10;
export function applyDefaults(kind: string, o: Obj): void {
  const spec = o.spec;
  switch (kind) {
    case 'Deployment': {
      spec.replicas ??= 1;
      spec.strategy ??= {};
      spec.strategy.type ??= 'RollingUpdate';
      if (spec.strategy.type === 'RollingUpdate') spec.strategy.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...spec.strategy.rollingUpdate };
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.template ??= {};
      spec.template.metadata ??= {};
      spec.template.metadata.creationTimestamp ??= null;
      spec.template.spec ??= {};
      defaultPodSpec(spec.template.spec);
      break;
    }
    case 'Pod': defaultPodSpec((o.spec ??= {})); o.status ??= { phase: 'Pending', qosClass: 'BestEffort' }; break;
    case 'Namespace':
      o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name };
      o.spec = { finalizers: ['kubernetes'], ...o.spec };
      o.status = { phase: 'Active', ...o.status };
      break;
    case 'Secret':
      if (o.stringData) {
        o.data = { ...o.data };
        for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) o.data[k] = Buffer.from(v).toString('base64');
        delete o.stringData;
      }
      o.type ??= 'Opaque';
      break;
    case 'Service': {
      const s = (o.spec ??= {});
      s.type ??= 'ClusterIP';
      if (s.type !== 'ExternalName' && !s.clusterIP) { s.clusterIP = `10.96.${Math.floor(nextClusterIp / 250)}.${(nextClusterIp % 250) + 1}`; nextClusterIp++; }
      if (s.clusterIP && !s.clusterIPs) s.clusterIPs = [s.clusterIP];
      s.sessionAffinity ??= 'None';
      s.ipFamilies ??= ['IPv4'];
      s.ipFamilyPolicy ??= 'SingleStack';
      s.internalTrafficPolicy ??= 'Cluster';
      for (const p of (s.ports ?? []) as Obj[]) { p.protocol ??= 'TCP'; p.targetPort ??= p.port; }
      o.status ??= { loadBalancer: {} };
      break;
    }
    case 'ValidatingWebhookConfiguration': defaultWebhookConfiguration(o); break;
    default: break;
  }
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const goMap = (m: Record<string, string>): string => `map[string]string{${Object.keys(m).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`).join(', ')}}`;
const fieldErr = (field: string, message: string, reason = 'FieldValueInvalid'): StatusCause => ({ reason, message, field });

export function validate(info: ResourceInfo, o: Obj): void {
  const causes: StatusCause[] = [];
  const name: string = o.metadata?.name ?? '';
  const labelNamed = info.kind === 'Namespace' || info.kind === 'Service';
  if (!name) causes.push(fieldErr('metadata.name', 'Required value: name or generateName is required', 'FieldValueRequired'));
  else if (labelNamed ? !LABEL.test(name) || name.length > 63 : !SUBDOMAIN.test(name) || name.length > 253) {
    causes.push(fieldErr('metadata.name', labelNamed
      ? `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
      : `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`));
  }
  if (info.kind === 'Deployment') {
    const s = o.spec ?? {};
    if (typeof s.replicas === 'number' && s.replicas < 0) causes.push(fieldErr('spec.replicas', `Invalid value: ${s.replicas}: must be greater than or equal to 0`));
    const sel = s.selector?.matchLabels as Record<string, string> | undefined;
    const labels = (s.template?.metadata?.labels ?? {}) as Record<string, string>;
    if (!s.selector) causes.push(fieldErr('spec.selector', 'Required value', 'FieldValueRequired'));
    else if (sel && !Object.entries(sel).every(([k, v]) => labels[k] === v)) {
      causes.push(fieldErr('spec.template.metadata.labels', `Invalid value: ${goMap(labels)}: \`selector\` does not match template \`labels\``));
    }
    const containers = (s.template?.spec?.containers ?? []) as Obj[];
    if (!containers.length) causes.push(fieldErr('spec.template.spec.containers', 'Required value', 'FieldValueRequired'));
    containers.forEach((c, i) => {
      if (!c.name) causes.push(fieldErr(`spec.template.spec.containers[${i}].name`, 'Required value', 'FieldValueRequired'));
      if (!c.image) causes.push(fieldErr(`spec.template.spec.containers[${i}].image`, 'Required value', 'FieldValueRequired'));
    });
  }
  if (info.kind === 'Scale' && typeof o.spec?.replicas === 'number' && o.spec.replicas < 0) {
    causes.push(fieldErr('spec.replicas', `Invalid value: ${o.spec.replicas}: must be greater than or equal to 0`));
  }
  if (info.kind === 'ValidatingWebhookConfiguration') causes.push(...validateWebhookConfiguration(o));
  if (causes.length) throw new StatusError(invalid(info.kind, info.group, name, causes));
}

/** The status kube-controller-manager writes for a Deployment (pods Pending unless `podsReady`). */
export function deploymentStatus(d: Obj, prev: Obj | undefined, podsReady: boolean): void {
  const replicas: number = d.spec.replicas ?? 1;
  const templateChanged = !prev || canonical(prev.spec?.template) !== canonical(d.spec.template);
  const ann = (d.metadata.annotations ??= {});
  const rev = Number(prev?.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  ann['deployment.kubernetes.io/revision'] = String(templateChanged ? rev + 1 : Math.max(rev, 1));
  const rs = `${d.metadata.name}-${safeHash(d.spec.template)}`;
  const ready = podsReady || replicas === 0;
  const t = nowRfc3339();
  const old = (prev?.status?.conditions ?? []) as Obj[];
  const cond = (type: string, status: string, reason: string, message: string): Obj => {
    const o = old.find((c) => c.type === type);
    const lastTransitionTime = o && o.status === status ? o.lastTransitionTime : t;
    return { type, status, lastUpdateTime: o && o.reason === reason && o.message === message ? o.lastUpdateTime : t, lastTransitionTime, reason, message };
  };
  const status: Obj = { observedGeneration: d.metadata.generation };
  if (replicas) { status.replicas = replicas; status.updatedReplicas = replicas; }
  if (ready && replicas) { status.readyReplicas = replicas; status.availableReplicas = replicas; }
  if (!ready) status.unavailableReplicas = replicas;
  status.conditions = [
    ready ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
      : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
    ready ? cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rs}" has successfully progressed.`)
      : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`),
  ];
  d.status = status;
}
