// seb's configuration: one schema, strict (unknown or mistyped keys are errors, never coerced or dropped),
// defaults with units in the comments. The validated object is deeply frozen by the loader.
import { z } from 'zod';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, {
  error: 'expected "host:port", for example "127.0.0.1:7080"', abort: true,
}).refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, { error: 'port must be 0-65535' });

const listenAddress = z.union([hostPort, z.literal('off')], {
  error: 'expected "host:port" (for example "127.0.0.1:7080") or "off"',
});

/** The admin listener may also be a unix socket, "unix:/absolute/path" (created with mode 0600). */
const adminAddress = z.union([hostPort, z.literal('off'), z.string().regex(/^unix:\/[^\0]+$/)], {
  error: 'expected "host:port", "unix:/absolute/path" or "off"',
});

/** Host patterns: "example.com", "*.example.com" (any subdomain), optionally with ":port" (default 443). */
const hostPattern = z.string().regex(/^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:.]+\](:\d{1,5})?$/, {
  error: 'expected a host pattern such as "api.example.com", "*.example.com" or "10.0.0.1:6443"',
});

const upstreamUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL', abort: true })
  .refine((v) => { const u = new URL(v); return (u.pathname === '/' || u.pathname === '') && !u.search; },
    { error: 'expected an origin only (scheme://host:port), without path or query' });

const positiveMs = z.number().int().positive();

export const configSchema = z.strictObject({
  /** Where seb keeps its CA and local state. Relative paths are relative to the working directory. */
  stateDir: z.string().min(1).default('.seb'),
  listen: z.strictObject({
    /** Forward proxy (HTTPS_PROXY) listener. */
    proxy: hostPort.default('127.0.0.1:7080'),
    /** TLS endpoint listener for clients that ignore HTTPS_PROXY (AWS_ENDPOINT_URL, kubeconfig server). */
    endpoint: listenAddress.default('127.0.0.1:7443'),
    /** Admin listener: /healthz, /readyz, /metrics and the local API; host:port or unix:/path. */
    admin: adminAddress.default('127.0.0.1:7090'),
  }).prefault({}),
  intercept: z.strictObject({
    /** AWS API endpoints: TLS is terminated and each request parsed. */
    aws: z.array(hostPattern).default(['*.amazonaws.com', '*.amazonaws.com.cn', '*.api.aws']),
    /** Kubernetes API servers (host or host:port; port defaults to 443). */
    kube: z.array(hostPattern).default(['kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'kubernetes.default']),
  }).prefault({}),
  tunnel: z.strictObject({
    /** Hosts relayed as a blind TCP tunnel (no interception), e.g. the agent's LLM API. */
    allow: z.array(hostPattern).default([]),
  }).prefault({}),
  upstreams: z.strictObject({
    /** Send all AWS traffic to this origin instead of the real endpoint (moto_server, LocalStack). */
    aws: upstreamUrl.optional(),
    /** The Kubernetes API server that intercepted and endpoint-mode Kubernetes requests go to. */
    kube: upstreamUrl.optional(),
  }).prefault({}),
  upstreamTls: z.strictObject({
    /** Extra PEM CA bundles trusted for upstream TLS, in addition to the system roots (e.g. the cluster CA). */
    caFiles: z.array(z.string().min(1)).default([]),
  }).prefault({}),
  endpoint: z.strictObject({
    /** Names (DNS or IP) in the endpoint listener's certificate. */
    hostnames: z.array(z.string().min(1)).min(1).default(['localhost', '127.0.0.1']),
  }).prefault({}),
  limits: z.strictObject({
    /** Largest request head, bytes (larger: 431). */
    maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(32_768),
    /** Largest request body seb reads, bytes (larger: 413). */
    maxBodyBytes: z.number().int().min(1).default(16 * 1_048_576),
    /** Time for a client to send a complete request head, ms (slower: 408). */
    headersTimeoutMs: positiveMs.default(10_000),
    /** Time for a client to send a complete request, head and body, ms. */
    requestTimeoutMs: positiveMs.default(60_000),
    /** Idle keep-alive connections are closed after this long, ms. */
    idleTimeoutMs: positiveMs.default(60_000),
    /** Time for a client to finish the TLS handshake after CONNECT, ms. */
    tlsHandshakeTimeoutMs: positiveMs.default(10_000),
    /** Blind tunnels idle (no bytes either way) this long are closed, ms. */
    tunnelIdleTimeoutMs: positiveMs.default(600_000),
    /** Time to wait for upstream response headers, ms. */
    upstreamHeadersTimeoutMs: positiveMs.default(60_000),
    /** On SIGTERM, how long in-flight requests may take to finish before connections are cut, ms. */
    shutdownGraceMs: positiveMs.default(10_000),
  }).prefault({}),
  aws: z.strictObject({
    /** The AWS account the agent operates in: certified targets are ARNs in it. */
    accountId: z.string().regex(/^\d{12}$/, { error: 'expected a 12-digit AWS account id' }).optional(),
    /** Placeholder credentials seb issues to the agent (`seb agent-env` prints them). Set: every AWS request must be
     * SigV4-signed with them (seb verifies), reads are re-signed with seb's credentials, and mutations execute
     * only under aws.executorRoleArn. Unset: requests go upstream with the agent's own signature. */
    agentAccessKeyId: z.string().regex(/^[A-Za-z0-9]{16,128}$/, { error: 'expected 16-128 letters and digits, like an AWS access key id' }).optional(),
    agentSecretAccessKey: z.string().min(16, { error: 'expected at least 16 characters' }).max(128).optional(),
    /** The role seb assumes (STS AssumeRole) for each certified mutation, scoped by a session policy to exactly
     * the certified action and resources until the certificate expires. Unset: mutations carry the agent's own
     * signature (adoption mode). */
    executorRoleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/, { error: 'expected an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME' }).optional(),
    /** seb's own credentials, for STS AssumeRole and for re-signed reads; unset: the AWS SDK's default chain
     * (environment, web identity / IRSA, container or instance metadata). */
    sebAccessKeyId: z.string().regex(/^[A-Za-z0-9]{16,128}$/, { error: 'expected an AWS access key id' }).optional(),
    sebSecretAccessKey: z.string().min(16, { error: 'expected at least 16 characters' }).max(128).optional(),
    /** Reads go upstream with the agent's own signature: the agent credentials above are then real read-only
     * credentials, which seb verifies and passes through instead of re-signing reads with its own. */
    readWithAgentCredentials: z.boolean().default(false),
  }).superRefine((v, ctx) => {
    for (const [id, secret] of [['agentAccessKeyId', 'agentSecretAccessKey'], ['sebAccessKeyId', 'sebSecretAccessKey']] as const) {
      if ((v[id] === undefined) !== (v[secret] === undefined)) ctx.addIssue({ code: 'custom', path: [v[id] === undefined ? id : secret], message: `${id} and ${secret} are set together or not at all` });
    }
  }).prefault({}),
  kube: z.strictObject({
    /** seb's own Kubernetes identity, a bearer token file (in a pod: its ServiceAccount token). With it seb mints an
     * executor token per mutation (TokenRequest, bound to a per-execution Secret it deletes after the call) and reads
     * targets for drift checks. Unset: certified mutations execute with the agent's own credentials. */
    identityTokenFile: z.string().min(1).optional(),
    /** The executor ServiceAccount, in the target's namespace, whose tokens seb mints. */
    executorServiceAccount: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).default('seb-executor'),
    /** Where the executor lives for cluster-scoped targets (and their per-execution Secrets). */
    executorNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).default('seb-system'),
    /** A token with no power at the API server that agents may hold instead of a real one (`seb kubeconfig
     * --placeholder`): seb reads with its own identity for it, and mints executor tokens for certified mutations. */
    placeholderToken: z.string().min(16).default('seb-placeholder-token-for-agents'),
    /** Requested executor token lifetime, s (the API minimum is 600; the bound Secret's deletion ends it sooner). */
    tokenSeconds: z.number().int().min(600).max(86_400).default(600),
  }).prefault({}),
  agent: z.strictObject({
    /** The agent identity this sidecar serves: certificates must name it as their subject (sub). */
    subject: z.string().min(1).max(256).default('agent'),
  }).prefault({}),
  trust: z.strictObject({
    /** SAB trust store (JSON: {"keys":[{kid?, publicKey | publicKeyPem, notAfter?, iss?}]}); unset: no SAB is
     * trusted and every mutation is denied. */
    file: z.string().min(1).optional(),
    /** Tolerated clock skew on a certificate's nbf, seconds. */
    clockSkewSeconds: z.number().int().min(0).max(300).default(5),
  }).prefault({}),
  admin: z.strictObject({
    /** Bearer token file for the local API (/v1/...); created with mode 0600 under <stateDir> when unset. */
    tokenFile: z.string().min(1).optional(),
  }).prefault({}),
  ledger: z.strictObject({
    /** PostgreSQL URL (postgres://...) shared by a fleet of seb; unset: embedded PGlite under <stateDir>/ledger. */
    databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, { error: 'expected a postgres:// or postgresql:// URL' }).optional(),
    /** Upper bound on one ledger operation, ms; slower counts as unavailable (mutations denied, never hung). */
    timeoutMs: positiveMs.default(2_000),
    /** PostgreSQL connections per seb process. */
    poolSize: z.number().int().min(1).max(100).default(10),
    /** Reconnection backoff of the epoch notification connection: doubles from reconnectMinMs to reconnectMaxMs. */
    reconnectMinMs: positiveMs.default(100),
    reconnectMaxMs: positiveMs.default(5_000),
    /** Crash recovery across the fleet: each seb refreshes its row in seb_instances every few seconds (a sixth of
     * this, at most 5 s); an execution left without an outcome by an instance silent for longer than this, ms, is
     * recorded as uncertain by another seb. Keep it well above the refresh interval and ledger.timeoutMs. */
    instanceDeadAfterMs: z.number().int().min(1_000).default(60_000),
  }).prefault({}),
  pipeline: z.strictObject({
    /** Run nonce reservation, drift observation and minting concurrently (overhead = the slowest, not the sum).
     * false runs them one after another, as the paper's brokers do: for comparison benchmarks. */
    concurrentStages: z.boolean().default(true),
    /** How long seb may go without confirming the policy/revocation epochs before it denies mutations with
     * SEB_REVOCATION_UNKNOWN (reads go on), ms. */
    maxStalenessMs: positiveMs.default(2_000),
  }).prefault({}),
  webhook: z.strictObject({
    /** Where `seb webhook serve` listens (TLS, /validate, /mutate, /healthz, /readyz). In a pod: all interfaces on
     * the Service's target port. */
    listen: hostPort.default('0.0.0.0:8443'),
    /** Serving certificate chain and private key, PEM files (cert-manager's Secret mounted as tls.crt / tls.key);
     * re-read when they change on disk. Required by `seb webhook serve`. */
    tlsCertFile: z.string().min(1).optional(),
    tlsKeyFile: z.string().min(1).optional(),
    /** seb's own Kubernetes identities (usernames such as "system:serviceaccount:seb-system:seb"). In protected
     * namespaces they may do exactly the housekeeping of minting: create and delete the empty per-execution Secrets
     * (seb-exec-*) and request executor tokens; everything else they ask is denied like anyone else's. */
    brokerIdentities: z.array(z.string().min(1)).default([]),
    /** Largest AdmissionReview accepted, bytes (larger: 413). An object is at most ~1.5 MiB and a review can carry two. */
    maxBodyBytes: z.number().int().min(1024).max(64 * 1_048_576).default(8 * 1_048_576),
    /** Time for the API server to send a whole review, head and body, ms. */
    requestTimeoutMs: positiveMs.default(10_000),
    /** Bound on one decision (the ledger lookup), ms; slower is a denial. Keep it below the webhook
     * configuration's timeoutSeconds so the API server reports seb's reason rather than its own deadline. */
    decisionTimeoutMs: positiveMs.default(3_000),
  }).prefault({}),
  inject: z.strictObject({
    /** The sidecar image `seb inject` and the mutating webhook put beside agents. */
    image: z.string().regex(/^[^\s]+$/, { error: 'expected an image reference such as "ghcr.io/openkedge/seb:0.1.0"' }).default('ghcr.io/openkedge/seb:0.1.0'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
    /** ConfigMap in the agent pod's namespace with the sidecar's `seb.yaml` (and what it names, e.g. trust.json),
     * mounted at /etc/seb. A pod whose namespace lacks it does not start (fail closed). */
    configMap: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).max(253).default('seb-sidecar'),
    /** Secret in the agent pod's namespace whose key `url` is the shared PostgreSQL ledger URL, given to seb's
     * container only. Unset: injection is refused unless allowEmbeddedLedger is true. */
    ledgerSecret: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).max(253).optional(),
    /** Without ledgerSecret, inject anyway with an embedded ledger per pod (demos only): neither other replicas, a
     * replacement pod, nor the validating webhook see its nonces, so one certificate can execute once per pod. */
    allowEmbeddedLedger: z.boolean().default(false),
    /** Secret in the agent pod's namespace with seb's own AWS keys (keys `accessKeyId`, `secretAccessKey`), given to
     * seb's container only (never in the ConfigMap: the agent can read ConfigMaps through seb). */
    sebCredentialsSecret: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).max(253).optional(),
    /** Or seb's AWS identity by web identity: a ServiceAccount token with this audience, projected into seb's
     * container only, exchanged for the role (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE). */
    sebWebIdentity: z.strictObject({
      roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/, { error: 'expected an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME' }),
      audience: z.string().min(1).max(256).default('sts.amazonaws.com'),
      /** Token lifetime, s (the kubelet renews it at 80%). */
      expirationSeconds: z.number().int().min(600).max(86_400).default(3600),
    }).optional(),
    /** The sidecar's ports: proxy and endpoint bind to loopback, admin (probes, metrics) to the pod's addresses. */
    ports: z.strictObject({
      proxy: z.number().int().min(1).max(65535).default(7080),
      endpoint: z.number().int().min(1).max(65535).default(7443),
      admin: z.number().int().min(1).max(65535).default(7090),
    }).refine((p) => new Set([p.proxy, p.endpoint, p.admin]).size === 3, { error: 'the proxy, endpoint and admin ports must differ' }).prefault({}),
    /** UID and GID the sidecar runs as (the image's `node` user); never 0. */
    runAsUser: z.number().int().min(1).max(2_147_483_647).default(1000),
    /** The sidecar's resources, as Kubernetes quantities. Measured resident memory once ready: ~220 MB with a
     * PostgreSQL ledger, 500-730 MB with the embedded one (PGlite), hence the 1Gi limit. */
    resources: z.strictObject({
      requests: z.strictObject({ cpu: z.string().regex(/^\d+(\.\d+)?m?$/).default('50m'), memory: z.string().regex(/^\d+(Ki|Mi|Gi)?$/).default('256Mi') }).prefault({}),
      limits: z.strictObject({ cpu: z.string().regex(/^\d+(\.\d+)?m?$/).optional(), memory: z.string().regex(/^\d+(Ki|Mi|Gi)?$/).default('1Gi') }).prefault({}),
    }).prefault({}),
  }).refine((v) => !(v.sebCredentialsSecret && v.sebWebIdentity), { error: 'inject.sebCredentialsSecret and inject.sebWebIdentity are alternatives: set one', path: ['sebWebIdentity'] }).prefault({}),
  audit: z.strictObject({
    /** Besides the ledger, each signed audit record is streamed as one JSON line ("type":"seb.audit") for log
     * shippers: to stdout (beside the JSON logs), appended to audit.file, or not at all. */
    stream: z.enum(['stdout', 'file', 'off']).default('stdout'),
    /** With stream "file": the file records are appended to (created with mode 0600). */
    file: z.string().min(1).optional(),
  }).refine((v) => v.stream !== 'file' || v.file !== undefined, { error: 'audit.stream "file" needs audit.file', path: ['file'] }).prefault({}),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).prefault({}),
});

export type SebConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
