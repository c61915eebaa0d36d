// RBAC authorizer over the Roles/ClusterRoles/(Cluster)RoleBindings in the store, with the bootstrap roles a
// fresh cluster has (cluster-admin, admin, edit, view, system:discovery, system:basic-user,
// system:public-info-viewer). `view` is the rule set the recording's SelfSubjectRulesReview reported for a
// ServiceAccount bound to view; system:masters bypasses RBAC, as in kube-apiserver.
import { listObjects, putObject, type Obj, type Store } from './store.ts';
import { initMetadata } from './objects.ts';
import { lookup } from './resources.ts';
import type { UserInfo } from './types.ts';

export interface Attributes { verb: string; group?: string; resource?: string; subresource?: string; namespace?: string; name?: string; path?: string }
export interface Rule { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }
const RBAC = 'rbac.authorization.k8s.io';
const R = (verbs: string[], apiGroups: string[], resources: string[]): Rule => ({ verbs, apiGroups, resources });
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

const VIEW: Rule[] = [
  R(READ, [''], ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status']),
  R(READ, [''], ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status']),
  R(READ, [''], ['namespaces']),
  R(READ, ['discovery.k8s.io'], ['endpointslices']),
  R(READ, ['apps'], ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status']),
  R(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  R(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
  R(READ, ['extensions'], ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale']),
  R(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  R(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
];
const EDIT: Rule[] = [
  R(['impersonate'], [''], ['serviceaccounts']),
  R(WRITE, [''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
  R(['create'], [''], ['pods/eviction']),
  R(WRITE, [''], ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy']),
  R(['create'], [''], ['serviceaccounts/token']),
  R(WRITE, ['apps'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale']),
  R(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
  R(WRITE, ['batch'], ['cronjobs', 'jobs']),
  R(WRITE, ['extensions'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'ingresses', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale']),
  R(WRITE, ['policy'], ['poddisruptionbudgets']),
  R(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
  R(['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], ['coordination.k8s.io'], ['leases']),
  R(READ, [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']),
  ...VIEW,
];
const ADMIN: Rule[] = [
  R(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  R([...WRITE, ...READ], [RBAC], ['rolebindings', 'roles']),
  ...EDIT,
];
const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'];

export function bootstrapRbac(store: Store): void {
  const cr = lookup(RBAC, 'v1', 'clusterroles')!;
  const crb = lookup(RBAC, 'v1', 'clusterrolebindings')!;
  const role = (name: string, rules: Rule[], labels: Record<string, string> = { 'kubernetes.io/bootstrapping': 'rbac-defaults' }): void => {
    const o: Obj = { kind: 'ClusterRole', apiVersion: `${RBAC}/v1`, metadata: { name, labels, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } }, rules };
    initMetadata(cr, o);
    putObject(store, RBAC, 'clusterroles', o);
  };
  const bind = (name: string, roleName: string, subjects: Obj[]): void => {
    const o: Obj = { kind: 'ClusterRoleBinding', apiVersion: `${RBAC}/v1`, metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' }, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } }, subjects, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: roleName } };
    initMetadata(crb, o);
    putObject(store, RBAC, 'clusterrolebindings', o);
  };
  const group = (name: string): Obj => ({ kind: 'Group', apiGroup: RBAC, name });
  role('cluster-admin', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }]);
  role('admin', ADMIN);
  role('edit', EDIT);
  role('view', VIEW);
  role('system:discovery', [{ verbs: ['get'], nonResourceURLs: DISCOVERY_URLS }]);
  role('system:basic-user', [R(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']), R(['create'], ['authentication.k8s.io'], ['selfsubjectreviews'])]);
  role('system:public-info-viewer', [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }]);
  role('system:service-account-issuer-discovery', [{ verbs: ['get'], nonResourceURLs: ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'] }]);
  bind('cluster-admin', 'cluster-admin', [group('system:masters')]);
  bind('system:discovery', 'system:discovery', [group('system:authenticated')]);
  bind('system:basic-user', 'system:basic-user', [group('system:authenticated')]);
  bind('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]);
  bind('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [group('system:serviceaccounts')]);
}

const has = (list: string[] | undefined, v: string): boolean => !!list && (list.includes('*') || list.includes(v));
function ruleAllows(r: Rule, a: Attributes): boolean {
  if (!has(r.verbs, a.verb)) return false;
  if (a.path !== undefined) return (r.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path!.startsWith(u.slice(0, -1))));
  if (!has(r.apiGroups, a.group ?? '')) return false;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource ?? '';
  const resOk = (r.resources ?? []).some((x) => x === '*' || x === res || (a.subresource && x === `*/${a.subresource}`) || (!a.subresource && false));
  if (!resOk) return false;
  return !r.resourceNames?.length || (!!a.name && r.resourceNames.includes(a.name));
}

interface Binding { obj: Obj; cluster: boolean }
function subjectMatches(s: Obj, user: UserInfo, bindingNs: string): string | undefined {
  if (s.kind === 'User' && s.name === user.username) return `User "${s.name}"`;
  if (s.kind === 'Group' && user.groups.includes(s.name)) return `Group "${s.name}"`;
  if (s.kind === 'ServiceAccount' && user.username === `system:serviceaccount:${s.namespace ?? bindingNs}:${s.name}`) return `ServiceAccount "${s.name}/${s.namespace ?? bindingNs}"`;
  return undefined;
}

function* grants(store: Store, user: UserInfo, ns: string): Generator<{ rules: Rule[]; reason: string }> {
  const bindings: Binding[] = listObjects(store, RBAC, 'clusterrolebindings').map((obj) => ({ obj, cluster: true }));
  if (ns) bindings.push(...listObjects(store, RBAC, 'rolebindings', ns).map((obj) => ({ obj, cluster: false })));
  for (const { obj, cluster } of bindings) {
    const bns: string = obj.metadata.namespace ?? '';
    for (const s of (obj.subjects ?? []) as Obj[]) {
      const who = subjectMatches(s, user, bns);
      if (!who) continue;
      const ref = obj.roleRef as Obj;
      const role = ref.kind === 'ClusterRole' ? listObjects(store, RBAC, 'clusterroles').find((r) => r.metadata.name === ref.name)
        : listObjects(store, RBAC, 'roles', bns).find((r) => r.metadata.name === ref.name);
      if (!role) continue;
      const bname = cluster ? `ClusterRoleBinding "${obj.metadata.name}"` : `RoleBinding "${obj.metadata.name}/${bns}"`;
      const rname = ref.kind === 'ClusterRole' ? `ClusterRole "${ref.name}"` : `Role "${ref.name}"`;
      yield { rules: (role.rules ?? []) as Rule[], reason: `RBAC: allowed by ${bname} of ${rname} to ${who}` };
      break;
    }
  }
}

export function authorize(store: Store, user: UserInfo, a: Attributes): { allowed: boolean; reason: string } {
  if (user.groups.includes('system:masters')) return { allowed: true, reason: '' };
  for (const g of grants(store, user, a.path === undefined ? a.namespace ?? '' : '')) {
    if (g.rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: g.reason };
  }
  return { allowed: false, reason: '' };
}

/** SelfSubjectRulesReview status for `user` in `namespace`. */
export function rulesReview(store: Store, user: UserInfo, namespace: string): Obj {
  const resourceRules: Obj[] = [];
  const nonResourceRules: Obj[] = [];
  const rules = user.groups.includes('system:masters') ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }] as Rule[]
    : [...grants(store, user, namespace)].flatMap((g) => g.rules);
  for (const r of rules) {
    if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
    else resourceRules.push({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) });
  }
  return { resourceRules, nonResourceRules, incomplete: false };
}
