// What seb's sidecar consists of, given the injection settings: the two seb containers (seb-init, the native
// sidecar seb), the volumes, and the agent containers' environment and mounts. Pure data; admission/inject.ts
// decides where it goes in a pod.
import { agentEnv } from '../cli/agent-env.ts';

/** Opt-in: this label on the pod (template). A label, not an annotation, because the webhook configuration's
 * objectSelector can only match labels: the API server then calls the injector for opted-in pods alone. */
export const INJECT_LABEL = 'seb.openkedge.io/inject';
export const SIDECAR_NAME = 'seb';
export const INIT_NAME = 'seb-init';

export const PATHS = {
  /** Shared with the agent, read-only there: seb's CA, bundle, kubeconfig, placeholder ServiceAccount files. */
  agentDir: '/var/run/seb',
  /** seb's private state (CA key, admin token, embedded ledger). Never mounted into the agent. */
  stateDir: '/var/lib/seb',
  /** seb's own identity: the pod's ServiceAccount token, the cluster CA, the namespace. */
  identityDir: '/var/run/secrets/seb/kube',
  /** seb's AWS web identity token (inject.sebWebIdentity), seb's container only. */
  awsIdentityDir: '/var/run/secrets/seb/aws',
  /** The sidecar configuration (ConfigMap inject.configMap: seb.yaml, trust.json ...). */
  configDir: '/etc/seb',
  /** Where in-cluster clients look for their ServiceAccount: seb's placeholder files go here in the agent. */
  serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
} as const;

export const VOLUMES = { state: 'seb-state', agent: 'seb-agent', identity: 'seb-identity', awsIdentity: 'seb-aws-identity', config: 'seb-config' } as const;

/** Volumes only seb's containers may mount: its state (CA key, admin token), its identities, its configuration. */
export const PRIVATE_VOLUMES: readonly string[] = [VOLUMES.state, VOLUMES.identity, VOLUMES.awsIdentity, VOLUMES.config];

export interface InjectSettings {
  readonly image: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly configMap: string;
  readonly ledgerSecret?: string | undefined;
  /** Without ledgerSecret, inject with an embedded ledger per pod (demos only); false: refuse. */
  readonly allowEmbeddedLedger: boolean;
  /** Secret with seb's own AWS keys (accessKeyId, secretAccessKey): seb's container only. */
  readonly sebCredentialsSecret?: string | undefined;
  /** seb's AWS identity by web identity: a token projected into seb's container only, and the role. */
  readonly sebWebIdentity?: { readonly roleArn: string; readonly audience: string; readonly expirationSeconds: number } | undefined;
  readonly ports: { readonly proxy: number; readonly endpoint: number; readonly admin: number };
  readonly runAsUser: number;
  readonly resources: { readonly requests: Readonly<Record<string, string>>; readonly limits: Readonly<Record<string, string>> };
  /** Placeholder AWS keys (aws.agentAccessKeyId / agentSecretAccessKey): given to the agent and to seb, which verifies them. */
  readonly awsAgent?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

type Obj = Record<string, unknown>;
export interface Named extends Obj { name: string }
export interface Container extends Named { env?: Named[]; volumeMounts?: (Named & { mountPath: string })[] }

export function agentVariables(s: InjectSettings): Named[] {
  const env = agentEnv({
    proxyListen: `127.0.0.1:${s.ports.proxy}`,
    caCertFile: `${PATHS.agentDir}/ca.crt`,
    bundleFile: `${PATHS.agentDir}/bundle.pem`,
    ...(s.awsAgent ? { awsAgent: s.awsAgent } : {}),
  });
  return Object.entries({
    ...env,
    // Clients that ignore HTTPS_PROXY: the AWS SDK for JavaScript, @kubernetes/client-node, in-cluster client-go.
    AWS_ENDPOINT_URL: `https://127.0.0.1:${s.ports.endpoint}`,
    KUBECONFIG: `${PATHS.agentDir}/kubeconfig`,
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: String(s.ports.endpoint),
  }).map(([name, value]) => ({ name, value }));
}

export function agentMounts(): (Named & { mountPath: string })[] {
  return [
    { name: VOLUMES.agent, mountPath: PATHS.agentDir, readOnly: true },
    { name: VOLUMES.agent, mountPath: PATHS.serviceAccountDir, subPath: 'serviceaccount', readOnly: true },
  ];
}

export function sebVolumes(s: InjectSettings): Named[] {
  return [
    { name: VOLUMES.state, emptyDir: { sizeLimit: '1Gi' } },
    { name: VOLUMES.agent, emptyDir: { sizeLimit: '16Mi' } },
    {
      // What the API server's own kube-api-access-* volume holds, for seb's container alone.
      name: VOLUMES.identity,
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
    ...(s.sebWebIdentity ? [{
      name: VOLUMES.awsIdentity,
      projected: { sources: [{ serviceAccountToken: { path: 'token', audience: s.sebWebIdentity.audience, expirationSeconds: s.sebWebIdentity.expirationSeconds } }] },
    }] : []),
    { name: VOLUMES.config, configMap: { name: s.configMap } },
  ];
}

/** The Secrets seb's container reads, by name: an agent container may reference none of them. */
export function sebSecrets(s: InjectSettings): Map<string, string> {
  const secrets = new Map<string, string>();
  if (s.ledgerSecret) secrets.set(s.ledgerSecret, 'ledger URL (inject.ledgerSecret)');
  if (s.sebCredentialsSecret) secrets.set(s.sebCredentialsSecret, 'AWS credentials (inject.sebCredentialsSecret)');
  return secrets;
}

/** The environment both seb containers share: what seb-init writes must match what seb serves. Settings that
 * follow from the pod's layout are variables (they win over the ConfigMap's seb.yaml); the rest is the ConfigMap's. */
function sebVariables(s: InjectSettings): Obj[] {
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });
  return [
    { name: 'POD_NAMESPACE', ...field('metadata.namespace') },
    { name: 'POD_SERVICE_ACCOUNT', ...field('spec.serviceAccountName') },
    { name: 'SEB_CONFIG', value: `${PATHS.configDir}/seb.yaml` },
    { name: 'SEB_STATE_DIR', value: PATHS.stateDir },
    { name: 'SEB_PROXY_LISTEN', value: `127.0.0.1:${s.ports.proxy}` },
    { name: 'SEB_ENDPOINT_LISTEN', value: `127.0.0.1:${s.ports.endpoint}` },
    // The kubelet probes the pod's address, not loopback; the local API behind it still needs seb's admin token.
    { name: 'SEB_ADMIN_LISTEN', value: `0.0.0.0:${s.ports.admin}` },
    // Certificates are issued to the agent's ServiceAccount username.
    { name: 'SEB_AGENT_SUBJECT', value: 'system:serviceaccount:$(POD_NAMESPACE):$(POD_SERVICE_ACCOUNT)' },
    { name: 'SEB_UPSTREAM_KUBE', value: 'https://kubernetes.default.svc' },
    { name: 'SEB_UPSTREAM_CA_FILES', value: `${PATHS.identityDir}/ca.crt` },
    { name: 'SEB_KUBE_IDENTITY_TOKEN_FILE', value: `${PATHS.identityDir}/token` },
    // The node's instance role is never seb's identity: the AWS SDK's default chain must not fall back to it.
    { name: 'AWS_EC2_METADATA_DISABLED', value: 'true' },
    ...(s.awsAgent ? [
      { name: 'SEB_AWS_AGENT_ACCESS_KEY_ID', value: s.awsAgent.accessKeyId },
      { name: 'SEB_AWS_AGENT_SECRET_ACCESS_KEY', value: s.awsAgent.secretAccessKey },
    ] : []),
  ];
}

/** What only the seb container holds (seb-init writes files and needs none of it): the ledger URL and seb's own AWS
 * identity, from Secrets and a projected token, never from the ConfigMap the agent can read. */
function sebSecretVariables(s: InjectSettings): Obj[] {
  const secret = (name: string, key: string) => ({ valueFrom: { secretKeyRef: { name, key } } });
  return [
    ...(s.ledgerSecret ? [{ name: 'SEB_DATABASE_URL', ...secret(s.ledgerSecret, 'url') }] : []),
    ...(s.sebCredentialsSecret ? [
      { name: 'SEB_AWS_ACCESS_KEY_ID', ...secret(s.sebCredentialsSecret, 'accessKeyId') },
      { name: 'SEB_AWS_SECRET_ACCESS_KEY', ...secret(s.sebCredentialsSecret, 'secretAccessKey') },
    ] : []),
    ...(s.sebWebIdentity ? [
      { name: 'AWS_ROLE_ARN', value: s.sebWebIdentity.roleArn },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${PATHS.awsIdentityDir}/token` },
    ] : []),
  ];
}

function hardened(s: InjectSettings): Obj {
  return {
    runAsNonRoot: true,
    runAsUser: s.runAsUser,
    runAsGroup: s.runAsUser,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function base(s: InjectSettings, name: string, args: string[], mounts: Obj[]): Container {
  return {
    name,
    image: s.image,
    imagePullPolicy: s.imagePullPolicy,
    args,
    env: sebVariables(s) as Named[],
    resources: { requests: { ...s.resources.requests }, limits: { ...s.resources.limits } },
    securityContext: hardened(s),
    volumeMounts: mounts as Container['volumeMounts'],
  };
}

export function initContainer(s: InjectSettings): Container {
  // --refuse-config-secrets: the pod does not start while the ConfigMap's seb.yaml holds a secret.
  return base(s, INIT_NAME, ['agent-files', '--out', PATHS.agentDir, '--refuse-config-secrets'], [
    { name: VOLUMES.state, mountPath: PATHS.stateDir },
    { name: VOLUMES.agent, mountPath: PATHS.agentDir },
    { name: VOLUMES.config, mountPath: PATHS.configDir, readOnly: true },
  ]);
}

export function sidecarContainer(s: InjectSettings): Container {
  const probe = (path: string, extra: Obj) => ({ httpGet: { path, port: s.ports.admin, scheme: 'HTTP' }, ...extra });
  const c = base(s, SIDECAR_NAME, ['serve'], [
    { name: VOLUMES.state, mountPath: PATHS.stateDir },
    { name: VOLUMES.identity, mountPath: PATHS.identityDir, readOnly: true },
    ...(s.sebWebIdentity ? [{ name: VOLUMES.awsIdentity, mountPath: PATHS.awsIdentityDir, readOnly: true }] : []),
    { name: VOLUMES.config, mountPath: PATHS.configDir, readOnly: true },
  ]);
  return {
    ...c,
    env: [...c.env!, ...sebSecretVariables(s) as Named[]],
    // A native sidecar: the agent starts only once this has passed its startup probe.
    restartPolicy: 'Always',
    ports: [{ name: 'seb-admin', containerPort: s.ports.admin, protocol: 'TCP' }],
    startupProbe: probe('/readyz', { periodSeconds: 1, failureThreshold: 120 }),
    readinessProbe: probe('/readyz', { periodSeconds: 10, failureThreshold: 3 }),
    livenessProbe: probe('/healthz', { periodSeconds: 20, failureThreshold: 3 }),
  };
}
