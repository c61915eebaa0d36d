// Sidecar injection: a pure function from a pod template (a Pod, or a workload's spec.template: both are
// {metadata, spec}) to the same template with seb beside the agent. The mutating webhook and `seb inject` both call
// it, so a cluster with the webhook and a user running `seb inject -f` get identical pods.
//
// What an injected pod looks like:
// - initContainers[0] `seb-init` (runs once): creates seb's CA in seb's private state volume and writes what the
//   agent needs into the shared volume /var/run/seb (`seb agent-files`: ca.crt, bundle.pem, kubeconfig, and a
//   ServiceAccount directory holding seb's placeholder token and CA).
// - initContainers[1] `seb`, a native sidecar (restartPolicy: Always): started, and ready on /readyz, before any
//   later init container or the agent; stopped after them, so Jobs still complete.
// - every other container (the agent's, init containers included): the environment of `seb agent-env` pointing at
//   /var/run/seb, endpoint-mode variables for clients that ignore HTTPS_PROXY, KUBECONFIG, and the placeholder AWS
//   keys when configured; the pod's own ServiceAccount token is removed (automountServiceAccountToken: false, and
//   the kube-api-access-* volume the API server added before webhooks run is dropped). Its place is taken by seb's
//   placeholder files, so in-cluster clients (client-go, client-node loadFromCluster) talk to seb.
// - the pod's ServiceAccount token now reaches seb alone (projected volume seb-identity): it is seb's identity for
//   this agent (reads, drift checks, minting executor tokens). The agent process never holds a credential. The
//   ledger URL and seb's AWS identity reach seb's container alone too (Secrets, a projected web-identity token),
//   never through the ConfigMap, which the agent can read.
// - refused (the message says what to change): pods through which the agent could reach seb's credentials
//   (admission/inject-guard.ts: host namespaces, privileged, hostPath, seb's Secrets ...), and any pod while no
//   shared ledger is configured, unless inject.allowEmbeddedLedger says a per-pod ledger is wanted (demos).
//
// The function converges rather than appends: existing seb containers, volumes, variables and mounts are kept when
// they already hold what it would write (fields the API server defaults are tolerated), so injecting twice
// changes nothing, also when the API server reinvokes the webhook.
import { isPlainObject, jsonEqual } from './inject-patch.ts';
import { podRefusal } from './inject-guard.ts';
import { INIT_NAME, INJECT_LABEL, PRIVATE_VOLUMES, SIDECAR_NAME, VOLUMES, agentMounts, agentVariables, initContainer, sebVolumes, sidecarContainer, type Container, type InjectSettings, type Named } from './inject-sidecar.ts';

export { INIT_NAME, INJECT_LABEL, PATHS, SIDECAR_NAME, VOLUMES, type InjectSettings } from './inject-sidecar.ts';

type Obj = Record<string, unknown>;
interface PodSpec extends Obj { containers: Container[]; initContainers?: Container[]; volumes?: Named[] }
export interface PodTemplate extends Obj { metadata?: Obj; spec: PodSpec }

export type InjectResult =
  /** notes: where injection overrode something the pod itself set (never values: they may be secrets). */
  | { readonly ok: true; readonly template: PodTemplate; readonly notes: readonly string[] }
  | { readonly ok: false; readonly message: string };

export function optsIn(template: unknown): boolean {
  const labels = isPlainObject(template) && isPlainObject(template.metadata) ? template.metadata.labels : undefined;
  return isPlainObject(labels) && labels[INJECT_LABEL] === 'true';
}

export function injectPodTemplate(input: unknown, settings: InjectSettings): InjectResult {
  const shape = checkShape(input);
  if (shape) return { ok: false, message: shape };
  if (!settings.ledgerSecret && !settings.allowEmbeddedLedger) {
    // A ledger per pod: each replica, and each replacement pod, would accept the same certificate once more.
    return refuse('no shared ledger is configured (inject.ledgerSecret), so each pod would keep its own embedded ledger and one certificate could execute once per replica and again after every pod replacement; set inject.ledgerSecret to a Secret whose key url is the PostgreSQL ledger, or inject.allowEmbeddedLedger: true for a demo');
  }
  const template = structuredClone(input) as PodTemplate;
  const spec = template.spec;
  const unsafe = podRefusal(spec, settings);
  if (unsafe) return refuse(unsafe);
  const clash = spec.containers.find((c) => c.name === SIDECAR_NAME || c.name === INIT_NAME);
  if (clash) return refuse(`the container name "${clash.name}" is reserved for seb's sidecar; rename that container`);

  const notes: string[] = [];
  const metadata = (template.metadata ??= {});
  const labels = (metadata.labels ??= {}) as Obj;
  labels[INJECT_LABEL] = 'true';
  spec.automountServiceAccountToken = false;

  const userInit = (spec.initContainers ?? []).filter((c) => c.name !== SIDECAR_NAME && c.name !== INIT_NAME);
  const agents = [...userInit, ...spec.containers];
  const dropped = dropTokenVolumes(spec, agents);
  if (dropped) return refuse(dropped);

  spec.volumes ??= [];
  for (const v of sebVolumes(settings)) upsertByName(spec.volumes, v, notes, 'volume', true);
  const existing = new Map((spec.initContainers ?? []).map((c) => [c.name, c]));
  spec.initContainers = [
    converge(existing.get(INIT_NAME), initContainer(settings), notes),
    converge(existing.get(SIDECAR_NAME), sidecarContainer(settings), notes),
    ...userInit,
  ];
  const env = agentVariables(settings);
  for (const c of agents) {
    c.env ??= [];
    for (const e of env) upsertByName(c.env, e, notes, `container ${c.name}: variable`);
    if (settings.awsAgent) {
      // A real session token or profile would ride along with the placeholder keys (`seb agent-env` unsets them too).
      for (const name of ['AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
        if (c.env.some((e) => e.name === name)) notes.push(`container ${c.name}: removed ${name} (the agent holds seb's placeholder keys)`);
        c.env = c.env.filter((e) => e.name !== name);
      }
    }
    c.volumeMounts ??= [];
    for (const m of agentMounts()) upsertMount(c, m, notes);
  }
  return { ok: true, template, notes };
}

// --- converging ------------------------------------------------------------------------------------------------

/** Removes the pod's ServiceAccount token from the agent: the volume the API server added (kube-api-access-*) is
 * unmounted and dropped; any other token projection mounted into an agent container is refused, because in an
 * injected pod that ServiceAccount is seb's identity. Returns a refusal message, or undefined. */
function dropTokenVolumes(spec: PodSpec, agents: Container[]): string | undefined {
  const tokenVolumes = (spec.volumes ?? []).filter((v) => v.name !== VOLUMES.identity && v.name !== VOLUMES.awsIdentity && projectsToken(v));
  for (const v of tokenVolumes) {
    const auto = v.name.startsWith('kube-api-access-');
    for (const c of agents) {
      if (!(c.volumeMounts ?? []).some((m) => m.name === v.name)) continue;
      if (!auto) return `container ${c.name} mounts a ServiceAccount token (volume ${v.name}); in an injected pod that ServiceAccount is seb's identity, so the agent may not hold it: remove the volume`;
      c.volumeMounts = (c.volumeMounts ?? []).filter((m) => m.name !== v.name);
    }
    if (auto && spec.volumes) spec.volumes = spec.volumes.filter((x) => x !== v);
  }
  for (const c of agents) {
    // seb's private volumes never reach the agent (the CA key and seb's tokens live there).
    const leaked = (c.volumeMounts ?? []).filter((m) => PRIVATE_VOLUMES.includes(m.name));
    if (leaked.length) return `container ${c.name} mounts seb's private volume ${leaked[0]!.name}; only seb's containers may: remove that mount`;
  }
  return undefined;
}

function projectsToken(v: Obj): boolean {
  const sources = isPlainObject(v.projected) ? v.projected.sources : undefined;
  return Array.isArray(sources) && sources.some((s) => isPlainObject(s) && s.serviceAccountToken !== undefined);
}

/** Keeps seb's container `current` when it is exactly `desired` but for the defaults the API server adds: an
 * extra field (a command, an added capability, another mount) would change what runs with seb's identity. */
function converge<T>(current: T | undefined, desired: T, notes: string[]): T {
  if (current === undefined) return desired;
  if (covers(current, desired) && onlyDefaultsBeyond(current, desired)) return current;
  notes.push(`replaced container ${(desired as { name?: string }).name} with the current injection settings`);
  return desired;
}

function upsertByName(list: Named[], desired: Named, notes: string[], what: string, exact = false): void {
  const i = list.findIndex((x) => x.name === desired.name);
  if (i === -1) {
    list.push(desired);
    return;
  }
  if (!covers(list[i], desired) || (exact && !onlyDefaultsBeyond(list[i], desired))) {
    notes.push(`replaced ${what} ${desired.name}`); // never the old value: it may be a secret
    list[i] = desired;
  }
  // A later duplicate would win over ours (the last definition of a variable counts).
  for (let j = list.length - 1; j > i; j--) if (list[j]!.name === desired.name) list.splice(j, 1);
}

function upsertMount(c: Container, desired: Named & { mountPath: string }, notes: string[]): void {
  const mounts = c.volumeMounts!;
  const i = mounts.findIndex((m) => m.mountPath === desired.mountPath);
  if (i === -1) mounts.push(desired);
  else if (!covers(mounts[i], desired)) {
    notes.push(`container ${c.name}: replaced the mount at ${desired.mountPath}`);
    mounts[i] = desired;
  }
}

/** Whether `actual` holds every field of `desired` with the same value; objects may carry extra fields, arrays
 * must match element by element. */
export function covers(actual: unknown, desired: unknown): boolean {
  if (isPlainObject(desired)) {
    return isPlainObject(actual) && Object.entries(desired).every(([k, v]) => covers(actual[k], v));
  }
  if (Array.isArray(desired)) {
    return Array.isArray(actual) && actual.length === desired.length && desired.every((v, i) => covers(actual[i], v));
  }
  return jsonEqual(actual, desired);
}

/** Fields the API server fills in on seb's containers and volumes when it stores a pod. */
const API_DEFAULTS = new Set(['terminationMessagePath', 'terminationMessagePolicy', 'timeoutSeconds', 'successThreshold', 'defaultMode']);

/** Whether `actual` has no field `desired` lacks, other than API_DEFAULTS (at any depth). */
function onlyDefaultsBeyond(actual: unknown, desired: unknown): boolean {
  if (isPlainObject(actual) && isPlainObject(desired)) {
    return Object.entries(actual).every(([k, v]) => (Object.hasOwn(desired, k) ? onlyDefaultsBeyond(v, desired[k]) : API_DEFAULTS.has(k)));
  }
  if (Array.isArray(actual) && Array.isArray(desired)) return actual.every((v, i) => onlyDefaultsBeyond(v, desired[i]));
  return true;
}

// --- input checks ----------------------------------------------------------------------------------------------

function refuse(message: string): InjectResult {
  return { ok: false, message };
}

/** A message naming the first field that is not shaped like a pod template, or undefined. */
function checkShape(t: unknown): string | undefined {
  if (!isPlainObject(t)) return 'the pod is not an object';
  if (t.metadata !== undefined && !isPlainObject(t.metadata)) return 'metadata is not an object';
  const labels = isPlainObject(t.metadata) ? t.metadata.labels : undefined;
  if (labels !== undefined && (!isPlainObject(labels) || Object.values(labels).some((v) => typeof v !== 'string'))) return 'metadata.labels is not a map of strings';
  const spec = t.spec;
  if (!isPlainObject(spec)) return 'spec is missing or not an object';
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) return 'spec.containers must be a non-empty list';
  for (const key of ['initContainers', 'volumes'] as const) {
    if (spec[key] !== undefined && !Array.isArray(spec[key])) return `spec.${key} is not a list`;
  }
  for (const [key, list] of [['containers', spec.containers], ['initContainers', spec.initContainers ?? []]] as const) {
    for (const [i, c] of (list as unknown[]).entries()) {
      const at = `spec.${key}[${i}]`;
      if (!isPlainObject(c) || typeof c.name !== 'string' || c.name === '') return `${at} is not a container with a name`;
      if (c.env !== undefined && (!Array.isArray(c.env) || !c.env.every((e) => isPlainObject(e) && typeof e.name === 'string'))) return `${at}.env is not a list of variables with names`;
      if (c.volumeMounts !== undefined && (!Array.isArray(c.volumeMounts) || !c.volumeMounts.every((m) => isPlainObject(m) && typeof m.name === 'string' && typeof m.mountPath === 'string'))) return `${at}.volumeMounts is not a list of mounts with name and mountPath`;
    }
  }
  if (Array.isArray(spec.volumes) && !spec.volumes.every((v) => isPlainObject(v) && typeof v.name === 'string')) return 'spec.volumes is not a list of volumes with names';
  return undefined;
}
