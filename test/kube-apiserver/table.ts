// Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the Table kubectl get asks for.
// Column definitions are the recorded ones where the recording has them (data/table-columns.json), else the
// kube-apiserver printer columns of the kind; the default is Name + Created At.
import fs from 'node:fs';
import type { Obj } from './store.ts';

interface Column { name: string; type: string; format: string; description: string; priority: number }
const recorded = JSON.parse(fs.readFileSync(new URL('./data/table-columns.json', import.meta.url), 'utf8')) as Record<string, Column[]>;
const col = (name: string, description: string, priority = 0, type = 'string', format = ''): Column => ({ name, type, format, description, priority });
const NAME = recorded.deployments![0]!;
const AGE = recorded.deployments!.find((c) => c.name === 'Age')!;
const CREATED = col('Created At', AGE.description, 0, 'date');

const COLUMNS: Record<string, Column[]> = {
  ...recorded,
  secrets: [NAME, col('Type', 'The type of the secret'), col('Data', 'The number of entries in the data map', 0, 'string'), AGE],
  services: [NAME, col('Type', 'The type of the service'), col('Cluster-IP', 'The IP address of the service'), col('External-IP', 'The external IP address of the service'), col('Port(s)', 'The ports of the service'), AGE, col('Selector', 'The label selector of the service', 1)],
  serviceaccounts: [NAME, col('Secrets', 'The number of secrets', 0, 'string'), AGE],
  roles: [NAME, CREATED],
  clusterroles: [NAME, CREATED],
  rolebindings: [NAME, col('Role', 'The role of the binding'), AGE, col('Users', 'Users in the binding', 1), col('Groups', 'Groups in the binding', 1), col('ServiceAccounts', 'ServiceAccounts in the binding', 1)],
  clusterrolebindings: [NAME, col('Role', 'The role of the binding'), AGE, col('Users', 'Users in the binding', 1), col('Groups', 'Groups in the binding', 1), col('ServiceAccounts', 'ServiceAccounts in the binding', 1)],
};

/** kubectl's (apimachinery duration.HumanDuration) short age. */
export function humanAge(created: string | undefined, now = Date.now()): string {
  if (!created) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 730) return `${d}d`;
  return `${Math.floor(d / 365)}y${d % 365}d`;
}

const selectorString = (sel: Obj | undefined): string => {
  const parts = Object.entries((sel?.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  for (const e of (sel?.matchExpressions ?? []) as Obj[]) parts.push(`${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`);
  return parts.join(',') || '<none>';
};
const subjectsOf = (o: Obj, kind: string): string => ((o.subjects ?? []) as Obj[]).filter((s) => s.kind === kind).map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? o.metadata.namespace ?? ''}/${s.name}` : s.name)).join(', ');

function cells(resource: string, o: Obj): unknown[] {
  const m = o.metadata;
  const age = humanAge(m.creationTimestamp);
  const containers = (o.spec?.template?.spec?.containers ?? o.spec?.containers ?? []) as Obj[];
  switch (resource) {
    case 'deployments': return [m.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0, age, containers.map((c) => c.name).join(','), containers.map((c) => c.image).join(','), selectorString(o.spec?.selector)];
    case 'replicasets': return [m.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age, containers.map((c) => c.name).join(','), containers.map((c) => c.image).join(','), selectorString(o.spec?.selector)];
    case 'pods': return [m.name, `${((o.status?.containerStatuses ?? []) as Obj[]).filter((c) => c.ready).length}/${containers.length}`, o.status?.phase ?? 'Pending', '0', age, o.status?.podIP ?? '<none>', o.spec?.nodeName || '<none>', '<none>', '<none>'];
    case 'configmaps': return [m.name, Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, age];
    case 'namespaces': return [m.name, o.status?.phase ?? 'Active', age];
    case 'secrets': return [m.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, age];
    case 'services': return [m.name, o.spec?.type ?? 'ClusterIP', o.spec?.clusterIP ?? '<none>', (o.spec?.externalIPs ?? []).join(',') || '<none>', ((o.spec?.ports ?? []) as Obj[]).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>', age, Object.entries(o.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'];
    case 'serviceaccounts': return [m.name, (o.secrets ?? []).length, age];
    case 'rolebindings':
    case 'clusterrolebindings': return [m.name, `${o.roleRef?.kind}/${o.roleRef?.name}`, age, subjectsOf(o, 'User'), subjectsOf(o, 'Group'), subjectsOf(o, 'ServiceAccount')];
    default: return [m.name, m.creationTimestamp];
  }
}

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && accept.split(',').some((a) => /as=Table/.test(a) && /g=meta\.k8s\.io/.test(a));
}

export function toTable(resource: string, objs: Obj[], resourceVersion: string, includeObject: string, withColumns = true): Obj {
  const rows = objs.map((o) => {
    const row: Obj = { cells: cells(resource, o) };
    if (includeObject === 'Object') row.object = o;
    else if (includeObject !== 'None') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
    return row;
  });
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion }, columnDefinitions: withColumns ? COLUMNS[resource] ?? [NAME, CREATED] : null, rows };
}
