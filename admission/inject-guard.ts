// What an opted-in pod may not have, because through it the agent could take seb's credentials: in an injected pod
// seb's container holds the pod's ServiceAccount token (seb's identity, which mints executor tokens), the ledger URL
// and seb's AWS keys, and the agent must reach none of them.
// - host namespaces: hostPID (/proc/<seb>/root/..., /proc/<seb>/environ), hostIPC, hostNetwork (seb's loopback
//   listeners shared with the node), shareProcessNamespace (the same /proc within the pod);
// - the node itself: privileged containers, added capabilities, allowPrivilegeEscalation, Windows hostProcess,
//   hostPath volumes (the kubelet keeps every volume of every pod under /var/lib/kubelet/pods);
// - seb's Secrets (ledger URL, AWS keys) referenced by an agent container (env, envFrom) or by any volume;
// - an ephemeral container targeting seb or seb-init (targetContainerName): it joins that container's process
//   namespace and reads its environment and token through /proc. The API server refuses ephemeral containers on
//   CREATE anyway; refusing them here keeps that true whatever a later webhook or version does.
// seb's own containers are built by the injector and never carry these, so every other container is checked,
// ephemeral ones included.
import { isPlainObject } from './inject-patch.ts';
import { INIT_NAME, SIDECAR_NAME, sebSecrets, type Container, type InjectSettings, type Named } from './inject-sidecar.ts';

type Obj = Record<string, unknown>;

/** A message saying what to change, or undefined when nothing in the pod reaches seb's credentials. */
export function podRefusal(spec: Obj, settings: InjectSettings): string | undefined {
  if (spec.hostNetwork === true) return 'the pod uses hostNetwork: seb\'s loopback listeners would be shared with the node, and the node\'s metadata service with them; run the agent without hostNetwork';
  if (spec.shareProcessNamespace === true) return 'the pod sets shareProcessNamespace: the agent could read seb\'s identity token and CA key through /proc; remove it';
  if (spec.hostPID === true) return 'the pod sets hostPID: the agent could read seb\'s token and environment (the ledger URL, AWS keys) through /proc/<pid>/root and /proc/<pid>/environ; remove it';
  if (spec.hostIPC === true) return 'the pod sets hostIPC: it would share the node\'s IPC namespace; remove it';
  if (hostProcess(spec.securityContext)) return 'the pod sets securityContext.windowsOptions.hostProcess: its containers would run as processes of the node; remove it';
  for (const v of list(spec.volumes)) {
    if (isPlainObject(v.hostPath)) return `volume ${String(v.name)} is a hostPath: through the node's filesystem the agent could read seb's token and state (the kubelet keeps them under /var/lib/kubelet/pods); use an emptyDir, a ConfigMap or a PersistentVolumeClaim instead`;
  }
  for (const c of list(spec.ephemeralContainers)) {
    if (c.targetContainerName === SIDECAR_NAME || c.targetContainerName === INIT_NAME) {
      return `ephemeral container ${String(c.name)} targets ${String(c.targetContainerName)}: it would share seb's process namespace and read its token and environment through /proc; target the agent's container instead`;
    }
  }
  const secrets = sebSecrets(settings);
  for (const v of list(spec.volumes)) {
    const named = volumeSecrets(v).find((s) => secrets.has(s));
    if (named) return `volume ${String(v.name)} holds Secret ${named}, seb's ${secrets.get(named)!}; only seb's container may read it: remove that volume`;
  }
  for (const c of others(spec)) {
    const why = containerRefusal(c, secrets);
    if (why) return `container ${c.name} ${why}`;
  }
  return undefined;
}

function containerRefusal(c: Container & Obj, secrets: Map<string, string>): string | undefined {
  const sc = isPlainObject(c.securityContext) ? c.securityContext : {};
  if (sc.privileged === true) return 'is privileged: it could read seb\'s token and environment from the node; remove securityContext.privileged';
  const added = isPlainObject(sc.capabilities) && Array.isArray(sc.capabilities.add) ? sc.capabilities.add : [];
  if (added.length > 0) return `adds capabilities (${added.map(String).join(', ')}): an agent beside seb may add none; remove securityContext.capabilities.add`;
  if (sc.allowPrivilegeEscalation === true) return 'sets allowPrivilegeEscalation: true; an agent beside seb may not gain privileges: set it false or remove it';
  if (hostProcess(sc)) return 'sets windowsOptions.hostProcess: it would run as a process of the node; remove it';
  for (const e of list(c.env)) {
    const ref = isPlainObject(e.valueFrom) && isPlainObject(e.valueFrom.secretKeyRef) ? e.valueFrom.secretKeyRef.name : undefined;
    if (typeof ref === 'string' && secrets.has(ref)) return `reads Secret ${ref} (variable ${String(e.name)}), seb's ${secrets.get(ref)!}; only seb's container may: remove that variable`;
  }
  for (const from of list(c.envFrom)) {
    const ref = isPlainObject(from.secretRef) ? from.secretRef.name : undefined;
    if (typeof ref === 'string' && secrets.has(ref)) return `reads Secret ${ref} (envFrom), seb's ${secrets.get(ref)!}; only seb's container may: remove that envFrom`;
  }
  return undefined;
}

/** Every container but seb's own two: the agent's containers, its init containers and any ephemeral container. */
function others(spec: Obj): Array<Container & Obj> {
  const init = list(spec.initContainers).filter((c) => c.name !== SIDECAR_NAME && c.name !== INIT_NAME);
  return [...init, ...list(spec.containers), ...list(spec.ephemeralContainers)] as Array<Container & Obj>;
}

/** The names of the Secrets a volume projects (a secret volume, or secret sources of a projected one). */
function volumeSecrets(v: Obj): string[] {
  const names: string[] = [];
  if (isPlainObject(v.secret) && typeof v.secret.secretName === 'string') names.push(v.secret.secretName);
  const sources = isPlainObject(v.projected) ? list(v.projected.sources) : [];
  for (const s of sources) if (isPlainObject(s.secret) && typeof s.secret.name === 'string') names.push(s.secret.name);
  return names;
}

function hostProcess(sc: unknown): boolean {
  return isPlainObject(sc) && isPlainObject(sc.windowsOptions) && sc.windowsOptions.hostProcess === true;
}

function list(v: unknown): Array<Named & Obj> {
  return Array.isArray(v) ? v.filter((x): x is Named & Obj => isPlainObject(x)) : [];
}
