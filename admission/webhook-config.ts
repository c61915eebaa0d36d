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
// The first leaves alone the exact control-plane identities that keep workloads in protected namespaces running
// (controlPlaneExclusion): Deployments roll out, Pods get scheduled, started, reported and cleaned up without the
// webhook, and the cluster does not depend on it for that. Nothing else is exempt: not kube-system as a whole, not
// every node request. The second leaves alone only the namespace controller (it finalizes a deleted Namespace).
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

/**
 * The control plane's own identities, each with what it must write in a protected namespace. kube-controller-manager
 * runs every controller under its own ServiceAccount in kube-system (--use-service-account-credentials, the default
 * of kubeadm and the managed distributions), or all of them as system:kube-controller-manager.
 */
export const CONTROL_PLANE_USERS: ReadonlyArray<readonly [string, string]> = [
  ['system:apiserver', 'the API server\'s loopback identity (the kubernetes Service\'s endpoints in default)'],
  ['system:kube-controller-manager', 'every controller when --use-service-account-credentials is off; the token controller'],
  ['system:kube-scheduler', 'binds Pods to nodes (pods/binding), records scheduling conditions (pods/status), events'],
  ...([
    ['deployment-controller', 'a Deployment\'s ReplicaSets, deployments/status'],
    ['replicaset-controller', 'a ReplicaSet\'s Pods, replicasets/status'],
    ['statefulset-controller', 'a StatefulSet\'s Pods, PVCs and ControllerRevisions, statefulsets/status'],
    ['daemon-set-controller', 'a DaemonSet\'s Pods and ControllerRevisions, daemonsets/status'],
    ['replication-controller', 'a ReplicationController\'s Pods'],
    ['job-controller', 'a Job\'s Pods (and their finalizers), jobs/status'],
    ['cronjob-controller', 'a CronJob\'s Jobs, cronjobs/status'],
    ['ttl-after-finished-controller', 'deletes finished Jobs that ask for it'],
    ['endpoint-controller', 'the Endpoints of Services'],
    ['endpointslice-controller', 'the EndpointSlices of Services'],
    ['endpointslicemirroring-controller', 'EndpointSlices mirrored from selector-less Services\' Endpoints'],
    ['generic-garbage-collector', 'deletes dependents of deleted owners, removes ownerReferences and deletion finalizers'],
    ['pod-garbage-collector', 'deletes terminated and orphaned Pods'],
    ['namespace-controller', 'empties and finalizes a Namespace being deleted'],
    ['node-controller', 'deletes Pods of unreachable nodes, marks them not ready (pods/status)'],
    ['taint-eviction-controller', 'deletes Pods from nodes with NoExecute taints (its own identity since 1.29)'],
    ['disruption-controller', 'poddisruptionbudgets/status, the DisruptionTarget condition on Pods'],
    ['horizontal-pod-autoscaler', 'scales its targets (*/scale), horizontalpodautoscalers/status'],
    ['resourcequota-controller', 'resourcequotas/status'],
    ['service-account-controller', 'recreates the default ServiceAccount'],
    ['root-ca-cert-publisher', 'ConfigMap kube-root-ca.crt, which every Pod\'s token volume mounts'],
    ['persistent-volume-binder', 'binds PersistentVolumeClaims (and their status)'],
    ['pvc-protection-controller', 'removes the protection finalizer of unused PVCs'],
    ['ephemeral-volume-controller', 'creates the PVCs of generic ephemeral volumes'],
    ['expand-controller', 'persistentvolumeclaims/status while a volume is expanded'],
    ['resource-claim-controller', 'the ResourceClaims of Pods (dynamic resource allocation), pods/status'],
    ['service-controller', 'services/status of LoadBalancer Services (cloud-controller-manager)'],
  ] as const).map(([sa, why]) => [`system:serviceaccount:kube-system:${sa}`, why] as const),
];

/**
 * What a node (its kubelet, user system:node:<name> in group system:nodes) must write for the Pods bound to it. The
 * NodeRestriction admission plugin already limits each node to its own Pods; anything else a node asks in a
 * protected namespace (creating mirror Pods, changing objects) goes to the webhook like anyone's. In order: pods/status,
 * deleting its terminated Pods, tokens for its Pods' projected volumes, PVC status after a node-side expansion, events.
 */
const NODE_WRITES = [
  '(request.resource.group == \'\' && request.resource.resource == \'pods\' && variables_sub == \'status\' && request.operation == \'UPDATE\')',
  '(request.resource.group == \'\' && request.resource.resource == \'pods\' && variables_sub == \'\' && request.operation == \'DELETE\')',
  '(request.resource.group == \'\' && request.resource.resource == \'serviceaccounts\' && variables_sub == \'token\' && request.operation == \'CREATE\')',
  '(request.resource.group == \'\' && request.resource.resource == \'persistentvolumeclaims\' && variables_sub == \'status\' && request.operation == \'UPDATE\')',
  '((request.resource.group == \'\' || request.resource.group == \'events.k8s.io\') && request.resource.resource == \'events\')',
];

/** The matchCondition that keeps the control plane's writes away from the webhook (CEL; a webhook is called only if it is true). */
export function controlPlaneExclusion(extraUsers: readonly string[] = []): { readonly name: string; readonly expression: string } {
  const users = [...CONTROL_PLANE_USERS.map(([u]) => u), ...extraUsers];
  // CEL sees the AdmissionRequest as unstructured JSON: subResource is absent, not '', on the object itself.
  const sub = '(has(request.subResource) ? request.subResource : \'\')';
  const node = NODE_WRITES.map((w) => `    ${w.replaceAll('variables_sub', sub)}`).join(' ||\n');
  const expression = [
    '!(',
    '  request.userInfo.username in [',
    users.map((u) => `    '${u.replaceAll('\\', '\\\\').replaceAll('\'', '\\\'')}'`).join(',\n'),
    '  ] ||',
    '  (request.userInfo.username.startsWith(\'system:node:\') && has(request.userInfo.groups) && \'system:nodes\' in request.userInfo.groups && (',
    node,
    '  ))',
    ')',
  ].join('\n');
  return { name: 'not-the-control-plane', expression };
}

/** On the Namespace webhook: the namespace controller finalizes a Namespace being deleted (namespaces/finalize, /status). */
export const NAMESPACE_CONTROLLER_EXCLUSION = {
  name: 'not-the-namespace-controller',
  expression: "!(request.userInfo.username in ['system:kube-controller-manager', 'system:serviceaccount:kube-system:namespace-controller'])",
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
