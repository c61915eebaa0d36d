// The ValidatingWebhookConfiguration that makes seb mandatory in protected namespaces, as data: the manifests and the
// end-to-end tests register exactly this. What is sent to the webhook is chosen here (the webhook denies whatever it
// is sent unless seb executed it). Two webhooks:
// - validate.seb.openkedge.io: in namespaces labelled seb.openkedge.io/protected=true (never seb's own), every
//   CREATE, UPDATE, DELETE and CONNECT of every namespaced resource and every subresource ("*/*": "*" alone matches
//   no subresource, and status, binding, resize, token, proxy, eviction, ephemeralcontainers ... all change state);
// - namespaces.validate.seb.openkedge.io: UPDATE and DELETE of a protected Namespace itself, selected by an
//   objectSelector. The API server matches a Namespace UPDATE against a namespaceSelector with the NEW object's
//   labels, so an UPDATE removing the label would never reach the first webhook; an objectSelector matches when
//   the old OR the new object carries the label, so removing it is sent here (and refused unless an executor asks).
// The first leaves alone what the control plane must write to keep workloads in protected namespaces running
// (controlPlaneExclusion): each kube-controller-manager controller's ServiceAccount only for its own resources, verbs
// and subresources, and only with a real token (a uid; plain impersonation carries none); the scheduler's bindings;
// a node's writes for its Pods. Nothing else is exempt: not kube-system as a whole, not a controller's identity for
// anything it does not do. The second leaves alone only the namespace controller finalizing a Namespace that is
// already being deleted (never a label change).
// failurePolicy Fail: when no replica answers, nothing changes in protected namespaces.

export const PROTECTED_LABEL = 'seb.openkedge.io/protected';
export const VALIDATING_WEBHOOK_NAME = 'validate.seb.openkedge.io';
export const NAMESPACES_WEBHOOK_NAME = 'namespaces.validate.seb.openkedge.io';

export const VALIDATING_RULES = [
  { operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'], scope: 'Namespaced' },
] as const;

/** The Namespace object itself, and its status and finalize subresources (only the namespace controller writes those). */
export const NAMESPACE_RULES = [
  { operations: ['UPDATE', 'DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces', 'namespaces/*'], scope: 'Cluster' },
] as const;

type Op = 'CREATE' | 'UPDATE' | 'DELETE';

// CEL sees the AdmissionRequest as unstructured JSON: subResource is absent, not '', on the object itself.
const SUB = '(has(request.subResource) ? request.subResource : \'\')';

/** CEL: a write of `resource` ('*': any) in `group` ('*': any), subresource `sub` ('' the object itself), one of `ops`. */
function write(group: string, resource: string, sub: string, ops: readonly Op[], also?: string): string {
  const parts = [
    ...(group === '*' ? [] : [`request.resource.group == '${group}'`]),
    ...(resource === '*' ? [] : [`request.resource.resource == '${resource}'`]),
    sub === '' ? '!has(request.subResource)' : `has(request.subResource) && request.subResource == '${sub}'`,
    ops.length === 1 ? `request.operation == '${ops[0]}'` : `request.operation in [${ops.map((o) => `'${o}'`).join(', ')}]`,
    ...(also ? [also] : []),
  ];
  return `(${parts.join(' && ')})`;
}

/** An UPDATE that changes nothing but metadata (labels, ownerReferences, finalizers ...): spec, data, status equal. */
const METADATA_ONLY = 'object != null && oldObject != null && object.all(k, k == \'metadata\' || (k in oldObject && object[k] == oldObject[k])) && oldObject.all(k, k in object)';
/** An UPDATE that changes at most metadata.ownerReferences and metadata.finalizers (adopting, orphaning, finalizing). */
const OWNERSHIP_ONLY = `${METADATA_ONLY} && ['labels', 'annotations'].all(f, (f in object.metadata) == (f in oldObject.metadata) && (!(f in object.metadata) || object.metadata[f] == oldObject.metadata[f]))`;

const EVENTS = '((request.resource.group == \'\' || request.resource.group == \'events.k8s.io\') && request.resource.resource == \'events\')';
const POD_STATUS = write('', 'pods', 'status', ['UPDATE']);

/**
 * kube-controller-manager's controllers (--use-service-account-credentials, the default of kubeadm and the managed
 * distributions, runs each under its own ServiceAccount in kube-system), each with exactly what it writes in a
 * protected namespace (besides events), as CEL. A token of one of them reaches nothing else without the webhook.
 */
export const CONTROLLER_WRITES: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['deployment-controller', 'a Deployment\'s ReplicaSets, deployments/status', [
    write('apps', 'replicasets', '', ['CREATE', 'UPDATE', 'DELETE']), write('apps', 'deployments', 'status', ['UPDATE'])]],
  ['replicaset-controller', 'a ReplicaSet\'s Pods (creating, deleting, adopting), replicasets/status', [
    write('', 'pods', '', ['CREATE', 'DELETE']), write('', 'pods', '', ['UPDATE'], OWNERSHIP_ONLY), write('apps', 'replicasets', 'status', ['UPDATE'])]],
  ['statefulset-controller', 'a StatefulSet\'s Pods (their identity labels), PVCs and ControllerRevisions, statefulsets/status', [
    write('', 'pods', '', ['CREATE', 'DELETE']), write('', 'pods', '', ['UPDATE'], METADATA_ONLY),
    write('', 'persistentvolumeclaims', '', ['CREATE']), write('', 'persistentvolumeclaims', '', ['UPDATE'], OWNERSHIP_ONLY),
    write('apps', 'controllerrevisions', '', ['CREATE', 'UPDATE', 'DELETE']), write('apps', 'statefulsets', 'status', ['UPDATE'])]],
  ['daemon-set-controller', 'a DaemonSet\'s Pods and ControllerRevisions, daemonsets/status', [
    write('', 'pods', '', ['CREATE', 'DELETE']), write('', 'pods', '', ['UPDATE'], OWNERSHIP_ONLY),
    write('apps', 'controllerrevisions', '', ['CREATE', 'UPDATE', 'DELETE']), write('apps', 'daemonsets', 'status', ['UPDATE'])]],
  ['replication-controller', 'a ReplicationController\'s Pods, replicationcontrollers/status', [
    write('', 'pods', '', ['CREATE', 'DELETE']), write('', 'pods', '', ['UPDATE'], OWNERSHIP_ONLY), write('', 'replicationcontrollers', 'status', ['UPDATE'])]],
  ['job-controller', 'a Job\'s Pods (and their tracking finalizers), jobs/status', [
    write('', 'pods', '', ['CREATE', 'DELETE']), write('', 'pods', '', ['UPDATE'], OWNERSHIP_ONLY), POD_STATUS, write('batch', 'jobs', 'status', ['UPDATE'])]],
  ['cronjob-controller', 'a CronJob\'s Jobs, cronjobs/status', [
    write('batch', 'jobs', '', ['CREATE', 'DELETE']), write('batch', 'cronjobs', 'status', ['UPDATE'])]],
  ['ttl-after-finished-controller', 'deletes finished Jobs that ask for it', [write('batch', 'jobs', '', ['DELETE'])]],
  ['endpoint-controller', 'the Endpoints of Services', [write('', 'endpoints', '', ['CREATE', 'UPDATE', 'DELETE'])]],
  ['endpointslice-controller', 'the EndpointSlices of Services', [write('discovery.k8s.io', 'endpointslices', '', ['CREATE', 'UPDATE', 'DELETE'])]],
  ['endpointslicemirroring-controller', 'EndpointSlices mirrored from selector-less Services\' Endpoints', [write('discovery.k8s.io', 'endpointslices', '', ['CREATE', 'UPDATE', 'DELETE'])]],
  ['generic-garbage-collector', 'deletes dependents of deleted owners, removes ownerReferences and deletion finalizers', [
    write('*', '*', '', ['DELETE']), write('*', '*', '', ['UPDATE'], OWNERSHIP_ONLY)]],
  ['pod-garbage-collector', 'deletes terminated and orphaned Pods (marking them first, pods/status)', [write('', 'pods', '', ['DELETE']), POD_STATUS]],
  ['namespace-controller', 'empties a Namespace being deleted', [write('*', '*', '', ['DELETE'])]],
  ['node-controller', 'deletes Pods of unreachable nodes, marks them not ready (pods/status)', [write('', 'pods', '', ['DELETE']), POD_STATUS]],
  ['taint-eviction-controller', 'deletes Pods from nodes with NoExecute taints (its own identity since 1.29)', [write('', 'pods', '', ['DELETE']), POD_STATUS]],
  ['disruption-controller', 'poddisruptionbudgets/status, the DisruptionTarget condition on Pods', [write('policy', 'poddisruptionbudgets', 'status', ['UPDATE']), POD_STATUS]],
  ['horizontal-pod-autoscaler', 'scales its targets (*/scale), horizontalpodautoscalers/status', [
    write('*', '*', 'scale', ['UPDATE']), write('autoscaling', 'horizontalpodautoscalers', 'status', ['UPDATE'])]],
  ['resourcequota-controller', 'resourcequotas/status', [write('', 'resourcequotas', 'status', ['UPDATE'])]],
  ['service-account-controller', 'recreates the default ServiceAccount', [write('', 'serviceaccounts', '', ['CREATE'])]],
  ['root-ca-cert-publisher', 'ConfigMap kube-root-ca.crt, which every Pod\'s token volume mounts', [
    write('', 'configmaps', '', ['CREATE', 'UPDATE'], 'has(object.metadata.name) && object.metadata.name == \'kube-root-ca.crt\'')]],
  ['persistent-volume-binder', 'binds PersistentVolumeClaims (and their status)', [
    write('', 'persistentvolumeclaims', '', ['UPDATE']), write('', 'persistentvolumeclaims', 'status', ['UPDATE'])]],
  ['pvc-protection-controller', 'removes the protection finalizer of unused PVCs', [write('', 'persistentvolumeclaims', '', ['UPDATE'], OWNERSHIP_ONLY)]],
  ['ephemeral-volume-controller', 'creates the PVCs of generic ephemeral volumes', [write('', 'persistentvolumeclaims', '', ['CREATE'])]],
  ['expand-controller', 'persistentvolumeclaims (and their status) while a volume is expanded', [
    write('', 'persistentvolumeclaims', '', ['UPDATE']), write('', 'persistentvolumeclaims', 'status', ['UPDATE'])]],
  ['resource-claim-controller', 'the ResourceClaims of Pods (dynamic resource allocation), pods/status', [
    write('resource.k8s.io', 'resourceclaims', '', ['CREATE', 'UPDATE', 'DELETE']), write('resource.k8s.io', 'resourceclaims', 'status', ['UPDATE']), POD_STATUS]],
  ['service-controller', 'services/status of LoadBalancer Services and their cleanup finalizer (cloud-controller-manager)', [
    write('', 'services', 'status', ['UPDATE']), write('', 'services', '', ['UPDATE'], OWNERSHIP_ONLY)]],
];

/**
 * The control plane's user identities (client certificates). Impersonating a user takes `impersonate` on users,
 * which is as much as system:masters; a controller's ServiceAccount is far easier to reach (see README), so those
 * are scoped above and must carry a real token's uid.
 */
export const CONTROL_PLANE_USERS: ReadonlyArray<readonly [string, string]> = [
  ['system:apiserver', 'the API server\'s loopback identity (the kubernetes Service\'s endpoints in default)'],
  ['system:kube-controller-manager', 'every controller when --use-service-account-credentials is off; the token controller'],
  ['system:kube-scheduler', 'binds Pods to nodes (pods/binding), records scheduling conditions (pods/status), preempts (deletes) Pods, events'],
];

const SCHEDULER_WRITES = [
  write('', 'pods', 'binding', ['CREATE']), POD_STATUS, write('', 'pods', '', ['DELETE']), write('resource.k8s.io', 'resourceclaims', 'status', ['UPDATE']),
];

/**
 * What a node (its kubelet, user system:node:<name> in group system:nodes) must write for the Pods bound to it. The
 * NodeRestriction admission plugin already limits each node to its own Pods; anything else a node asks in a
 * protected namespace (creating mirror Pods, changing objects) goes to the webhook like anyone's. In order: pods/status,
 * deleting its terminated Pods, tokens for its Pods' projected volumes, PVC status after a node-side expansion.
 */
const NODE_WRITES = [
  POD_STATUS,
  write('', 'pods', '', ['DELETE']),
  write('', 'serviceaccounts', 'token', ['CREATE']),
  write('', 'persistentvolumeclaims', 'status', ['UPDATE']),
];

const quote = (u: string): string => `'${u.replaceAll('\\', '\\\\').replaceAll('\'', '\\\'')}'`;
const SA_PREFIX = 'system:serviceaccount:';
/** A ServiceAccount's real token carries the ServiceAccount's uid; plain impersonation (Impersonate-User) does not. */
const REAL_TOKEN = 'has(request.userInfo.uid)';

/**
 * The matchCondition that keeps the control plane's writes away from the webhook (CEL; a webhook is called only if it
 * is true). `extraUsers` are left alone whole (a ServiceAccount among them only with a real token's uid).
 */
export function controlPlaneExclusion(extraUsers: readonly string[] = []): { readonly name: string; readonly expression: string } {
  const user = 'request.userInfo.username';
  // Each write once, with the controllers that may make it (several share one: pods' ownership, pods/status ...).
  const whoWrites = new Map<string, string[]>();
  for (const [sa, , writes] of CONTROLLER_WRITES) for (const w of [EVENTS, ...writes]) whoWrites.set(w, [...(whoWrites.get(w) ?? []), sa]);
  const controllers = [...whoWrites].map(([w, sas]) =>
    `    (${w} &&
      ${user} in [${sas.map((sa) => quote(`${SA_PREFIX}kube-system:${sa}`)).join(', ')}])`);
  const extraSas = extraUsers.filter((u) => u.startsWith(SA_PREFIX));
  const extraOthers = extraUsers.filter((u) => !u.startsWith(SA_PREFIX));
  const expression = [
    '!(',
    `  ${user} in [${[...CONTROL_PLANE_USERS.filter(([u]) => u !== 'system:kube-scheduler').map(([u]) => u), ...extraOthers].map(quote).join(', ')}] ||`,
    ...(extraSas.length ? [`  (${REAL_TOKEN} && ${user} in [${extraSas.map(quote).join(', ')}]) ||`] : []),
    `  (${user} == 'system:kube-scheduler' && (${EVENTS} ||`,
    SCHEDULER_WRITES.map((w) => `    ${w}`).join(' ||\n'),
    '  )) ||',
    `  (${REAL_TOKEN} && ${user}.startsWith('${SA_PREFIX}kube-system:') && (`,
    controllers.join(' ||\n'),
    '  )) ||',
    `  (${user}.startsWith('system:node:') && has(request.userInfo.groups) && 'system:nodes' in request.userInfo.groups && (${EVENTS} ||`,
    NODE_WRITES.map((w) => `    ${w}`).join(' ||\n'),
    '  ))',
    ')',
  ].join('\n');
  return { name: 'not-the-control-plane', expression };
}

/**
 * On the Namespace webhook: the namespace controller, for a Namespace already being deleted (the old object has a
 * deletionTimestamp), finalizes it (namespaces/finalize), reports its progress (namespaces/status) and deletes it
 * once finalized. Nothing else: not a label change, not a Namespace that is not being deleted.
 */
export const NAMESPACE_CONTROLLER_EXCLUSION = {
  name: 'not-the-namespace-controller',
  expression: [
    '!(',
    `  (request.userInfo.username == 'system:kube-controller-manager' || (request.userInfo.username == '${SA_PREFIX}kube-system:namespace-controller' && ${REAL_TOKEN})) &&`,
    '  oldObject != null && has(oldObject.metadata.deletionTimestamp) &&',
    `  (request.operation == 'DELETE' || ${SUB} in ['finalize', 'status'])`,
    ')',
  ].join('\n'),
} as const;

export interface ValidatingConfigInput {
  /** Where the webhook runs: its Service (namespace is seb's own, which is never protected). */
  readonly service: { readonly namespace: string; readonly name: string; readonly port?: number };
  /** PEM of the CA that signed the webhook's serving certificate (omit when cert-manager's CA injector fills it). */
  readonly caPem?: string;
  readonly name?: string;
  readonly timeoutSeconds?: number;
  /** More usernames to leave alone, e.g. a CNI agent that writes in every Pod's namespace (see README). */
  readonly exemptUsers?: readonly string[];
}

export function validatingWebhookConfiguration(input: ValidatingConfigInput): Record<string, unknown> {
  const common = () => ({
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: input.timeoutSeconds ?? 5,
    clientConfig: {
      service: { namespace: input.service.namespace, name: input.service.name, path: '/validate', port: input.service.port ?? 443 },
      ...(input.caPem ? { caBundle: Buffer.from(input.caPem).toString('base64') } : {}),
    },
  });
  const rules = (list: ReadonlyArray<{ readonly operations: readonly string[]; readonly apiGroups: readonly string[]; readonly apiVersions: readonly string[]; readonly resources: readonly string[]; readonly scope: string }>) =>
    list.map((r) => ({ ...r, operations: [...r.operations], apiGroups: [...r.apiGroups], apiVersions: [...r.apiVersions], resources: [...r.resources] }));
  const notSebs = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [input.service.namespace] };
  const exclusion = controlPlaneExclusion(input.exemptUsers);
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: input.name ?? 'seb-validator' },
    webhooks: [
      {
        name: VALIDATING_WEBHOOK_NAME,
        ...common(),
        namespaceSelector: { matchLabels: { [PROTECTED_LABEL]: 'true' }, matchExpressions: [notSebs] },
        rules: rules(VALIDATING_RULES),
        matchConditions: [{ ...exclusion }],
      },
      {
        name: NAMESPACES_WEBHOOK_NAME,
        ...common(),
        // No namespaceSelector: for a Namespace it would be matched on the new labels again.
        objectSelector: { matchLabels: { [PROTECTED_LABEL]: 'true' } },
        rules: rules(NAMESPACE_RULES),
        matchConditions: [{ ...NAMESPACE_CONTROLLER_EXCLUSION }],
      },
    ],
  };
}
