// pods/exec, pods/attach, pods/portforward (connect subresources). As recorded (no kubelet), every attempt ends in
// 400 "pod NAME does not have a host assigned". Under the `execPods` option, pods run (a kubelet status is written
// when they are created) and exec over WebSocket follows the Kubernetes remotecommand protocol: binary frames whose
// first byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize); v5.channel.k8s.io (what
// kubectl 1.33 asks for; the apiserver's stream translator) adds the CLOSE signal [255, channel]; v4.channel.k8s.io
// and channel.k8s.io (and their base64 variants) are the kubelet's protocols. The status on channel 3 is a JSON
// metav1.Status for v4/v5 (Success, or Failure NonZeroExitCode with an ExitCode cause), plain text for v1.
import { randomBytes, randomUUID } from 'node:crypto';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { StatusError, badRequest, failure, notFound } from './status.ts';
import { getObject, putObject, type Obj } from './store.ts';
import { admit } from './admission.ts';
import { nowRfc3339, orderMetadata } from './objects.ts';
import { recordManagedFields } from './managed.ts';
import { startCommand } from './exec-commands.ts';
import type { Ctx, ServerState, Target } from './types.ts';

const V5 = 'v5.channel.k8s.io';
const KUBELET_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'];
const BOOLS = ['stdin', 'stdout', 'stderr', 'tty'] as const;

/** PodExecOptions / PodAttachOptions / PodPortForwardOptions from the query (what admission sees as `object`). */
function connectOptions(ctx: Ctx, sub: string): Obj {
  const kind = sub === 'exec' ? 'PodExecOptions' : sub === 'attach' ? 'PodAttachOptions' : 'PodPortForwardOptions';
  const o: Obj = { kind, apiVersion: 'v1' };
  if (sub === 'portforward') {
    const ports = ctx.query.getAll('ports').flatMap((p) => p.split(',')).map(Number);
    if (ports.length) o.ports = ports;
    return o;
  }
  for (const k of BOOLS) {
    const v = ctx.query.get(k);
    if (v === null) continue;
    if (!/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(v)) throw new StatusError(badRequest(`strconv.ParseBool: parsing "${v}": invalid syntax`));
    if (/^(1|t|T|TRUE|true|True)$/.test(v)) o[k] = true;
  }
  const container = ctx.query.get('container');
  if (container) o.container = container;
  if (sub === 'exec') o.command = ctx.query.getAll('command');
  return o;
}

function containerOf(pod: Obj, name: string, wanted: string | undefined): string {
  const names = ((pod.spec?.containers ?? []) as Obj[]).map((c) => String(c.name));
  const inits = ((pod.spec?.initContainers ?? []) as Obj[]).map((c) => String(c.name));
  if (wanted) {
    if (!names.includes(wanted) && !inits.includes(wanted)) throw new StatusError(badRequest(`container ${wanted} is not valid for pod ${name}`));
    return wanted;
  }
  if (names.length === 1) return names[0]!;
  if (!names.length) throw new StatusError(badRequest(`a container name must be specified for pod ${name}`));
  throw new StatusError(badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]${inits.length ? ` or one of the init containers: [${inits.join(' ')}]` : ''}`));
}

/** Handles a connect request after RBAC: CONNECT admission, the pod lookup, then the stream (or the recorded 400). */
export async function connectPod(ctx: Ctx, t: Target): Promise<void> {
  const opts = connectOptions(ctx, t.subresource);
  const sub = t.info.subresources.get(t.subresource)!;
  await admit(ctx, {
    operation: 'CONNECT', info: t.info, subresource: t.subresource, kind: { group: sub.group, version: sub.version, kind: sub.kind },
    name: t.name, namespace: t.namespace, object: opts, oldObject: null, options: null, dryRun: false,
  });
  const pod = getObject(ctx.state.store, '', 'pods', t.namespace, t.name);
  if (!pod) throw new StatusError(notFound({ group: '', resource: 'pods' }, t.name));
  if (!ctx.state.opts.execPods) throw new StatusError(badRequest(`pod ${t.name} does not have a host assigned`));
  if (t.subresource !== 'portforward') containerOf(pod, t.name, opts.container);
  if (!pod.spec?.nodeName) throw new StatusError(badRequest(`pod ${t.name} does not have a host assigned`));
  if (t.subresource !== 'exec') throw new StatusError(badRequest(`${t.subresource} is not implemented by this test server (execPods runs exec only)`));
  const up = ctx.upgrade;
  const upgradeTo = String(ctx.req.headers.upgrade ?? '').toLowerCase();
  if (!up || !upgradeTo) throw new StatusError(badRequest('Upgrade request required'));
  if (upgradeTo !== 'websocket') throw new StatusError(badRequest(`${ctx.req.headers.upgrade} streaming is not implemented by this test server; use WebSocket (${V5})`));
  if (!opts.stdin && !opts.stdout && !opts.stderr) throw new StatusError(badRequest('you must specify at least 1 of stdin, stdout, stderr'));
  const offered = String(ctx.req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const protocol = offered.includes(V5) ? V5 : offered.length ? offered.find((p) => KUBELET_PROTOCOLS.includes(p)) : '';
  if (protocol === undefined) {
    // golang.org/x/net/websocket refuses a handshake without a common subprotocol with a bare 403.
    up.socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    return;
  }
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => protocol || false });
  wss.once('headers', (h) => h.push(`Audit-Id: ${randomUUID()}`));
  up.upgraded();
  wss.handleUpgrade(ctx.req, up.socket, up.head, (ws) => runSession(ctx.state, ws, protocol, opts));
}

function exitStatus(protocol: string, command: string[], o: { exit: number } | { startError: string }): string | undefined {
  const json = protocol === V5 || protocol.startsWith('v4.');
  let status: Obj;
  if ('startError' in o) {
    // The kubelet's InternalError; the v5 stream translator wraps the error it decoded from the kubelet once more.
    const inner = `error executing command in container: ${o.startError}`;
    const m = protocol === V5 ? `Internal error occurred: ${inner}` : inner;
    status = failure(500, 'InternalError', `Internal error occurred: ${m}`, { causes: [{ message: m }] });
    delete status.kind; delete status.apiVersion;
  } else if (o.exit === 0) status = { metadata: {}, status: 'Success' };
  else {
    const why = protocol === V5 ? `command terminated with exit code ${o.exit}` : `error executing command [${command.join(' ')}], exit code ${o.exit}`;
    status = { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: ${why}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(o.exit) }] } };
  }
  if (json) return JSON.stringify(status);
  return status.status === 'Success' ? undefined : String(status.message);
}

function runSession(state: ServerState, ws: WebSocket, protocol: string, opts: Obj): void {
  const base64 = protocol.includes('base64');
  const send = (ch: number, data: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (base64) ws.send(`${String.fromCharCode(48 + ch)}${data.toString('base64')}`);
    else ws.send(Buffer.concat([Buffer.from([ch]), data]));
  };
  const tty = opts.tty === true;
  const out = (ch: number) => (d: Buffer): void => {
    if (!(ch === 1 ? opts.stdout : opts.stderr && !tty)) return;
    send(tty ? 1 : ch, tty ? Buffer.from(d.toString('utf8').replace(/\r?\n/g, '\r\n')) : d);
  };
  const closer = (): void => ws.terminate();
  state.closers.add(closer);
  // An empty message on the lowest writable channel tells the client the streams are set up.
  send(opts.stdout ? 1 : opts.stderr && !tty ? 2 : 3, Buffer.alloc(0));
  const proc = startCommand(opts.command as string[], { stdout: out(1), stderr: out(2) });
  if (!opts.stdin) proc.closeStdin();
  ws.on('message', (raw: RawData, isBinary: boolean) => {
    let buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (!buf.length) return;
    let ch = buf[0]!;
    if (base64 && !isBinary) { ch -= 48; buf = Buffer.concat([Buffer.from([ch]), Buffer.from(buf.subarray(1).toString('utf8'), 'base64')]); }
    if (ch === 255 && protocol === V5) { if (buf[1] === 0) proc.closeStdin(); return; }
    if (ch === 0 && opts.stdin) proc.stdin(buf.subarray(1));
    // channel 4 (resize) carries {"Width":…,"Height":…}: nothing to resize here.
  });
  ws.on('close', () => { state.closers.delete(closer); proc.kill(); });
  ws.on('error', () => ws.terminate());
  void proc.done.then((o) => {
    const s = exitStatus(protocol, opts.command as string[], o);
    if (s !== undefined) send(3, Buffer.from(s));
    if (ws.readyState === ws.OPEN) ws.close(1000);
  });
}

/** What the scheduler and the kubelet do to a new pod under `execPods`: bind it to a node and report it Running. */
export function startPod(state: ServerState, pod: Obj): void {
  const cur = getObject(state.store, '', 'pods', pod.metadata.namespace, pod.metadata.name);
  if (!cur || cur.status?.phase !== 'Pending') return;
  const t = nowRfc3339();
  const next = structuredClone(cur);
  next.spec.nodeName ??= 'har-node';
  const cond = (type: string): Obj => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t });
  const ip = `10.244.0.${(Number(cur.metadata.resourceVersion) % 250) + 2}`;
  next.status = {
    phase: 'Running', conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(cond),
    hostIP: '10.0.0.10', hostIPs: [{ ip: '10.0.0.10' }], podIP: ip, podIPs: [{ ip }], startTime: t,
    containerStatuses: ((cur.spec?.containers ?? []) as Obj[]).map((c) => ({
      name: c.name, state: { running: { startedAt: t } }, lastState: {}, ready: true, restartCount: 0, image: c.image, imageID: '',
      containerID: `containerd://${randomBytes(32).toString('hex')}`, started: true,
    })),
    qosClass: cur.status?.qosClass ?? 'BestEffort',
  };
  recordManagedFields(cur, next, 'kubelet', 'Update', 'v1', 'status');
  putObject(state.store, '', 'pods', orderMetadata(next));
}
