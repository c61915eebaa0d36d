// The ValidatingWebhookConfiguration that makes seb mandatory in protected namespaces, as data: the manifests and the
// end-to-end tests register exactly this. What is sent to the webhook is chosen here (the webhook denies whatever it
// is sent unless seb executed it):
// - namespaces labelled seb.openkedge.io/protected=true, never seb's own;
// - every namespaced resource (CREATE/UPDATE/DELETE), plus the subresources that mutate without touching the object:
//   */scale, pods/eviction, pods/ephemeralcontainers (kubectl debug); CONNECT on pods/exec, attach, portforward;
// - UPDATE and DELETE of a protected Namespace itself (removing the label is the break-glass, and the API server
//   matches a Namespace UPDATE on its new labels, so that one UPDATE is not sent);
// - not the control plane: nodes and kube-system controllers (ReplicaSets, Pods, Events, EndpointSlices ...) are
//   excluded by matchConditions, so the cluster keeps working and does not depend on the webhook being up.
// failurePolicy Fail: when no replica answers, nothing changes in protected namespaces.

export const PROTECTED_LABEL = 'seb.openkedge.io/protected';
export const VALIDATING_WEBHOOK_NAME = 'validate.seb.openkedge.io';

export const VALIDATING_RULES = [
  { operations: ['CREATE', 'UPDATE', 'DELETE'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*', '*/scale', 'pods/eviction', 'pods/ephemeralcontainers'], scope: 'Namespaced' },
  { operations: ['CONNECT'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/exec', 'pods/attach', 'pods/portforward'], scope: 'Namespaced' },
  { operations: ['UPDATE', 'DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], scope: 'Cluster' },
] as const;

export const CONTROL_PLANE_EXCLUSION = {
  name: 'not-the-control-plane',
  expression: "!(request.userInfo.username.startsWith('system:serviceaccount:kube-system:') || request.userInfo.username in ['system:kube-controller-manager', 'system:kube-scheduler'] || (has(request.userInfo.groups) && 'system:nodes' in request.userInfo.groups))",
} as const;

export interface ValidatingConfigInput {
  /** Where the webhook runs: its Service (namespace is seb's own, which is never protected). */
  readonly service: { readonly namespace: string; readonly name: string; readonly port?: number };
  /** PEM of the CA that signed the webhook's serving certificate (omit when cert-manager's CA injector fills it). */
  readonly caPem?: string;
  readonly name?: string;
  readonly timeoutSeconds?: number;
}

export function validatingWebhookConfiguration(input: ValidatingConfigInput): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: input.name ?? 'seb-validator' },
    webhooks: [{
      name: VALIDATING_WEBHOOK_NAME,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      timeoutSeconds: input.timeoutSeconds ?? 5,
      clientConfig: {
        service: { namespace: input.service.namespace, name: input.service.name, path: '/validate', port: input.service.port ?? 443 },
        ...(input.caPem ? { caBundle: Buffer.from(input.caPem).toString('base64') } : {}),
      },
      namespaceSelector: {
        matchLabels: { [PROTECTED_LABEL]: 'true' },
        matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [input.service.namespace] }],
      },
      rules: VALIDATING_RULES.map((r) => ({ ...r, operations: [...r.operations], apiGroups: [...r.apiGroups], apiVersions: [...r.apiVersions], resources: [...r.resources] })),
      matchConditions: [{ ...CONTROL_PLANE_EXCLUSION }],
    }],
  };
}
