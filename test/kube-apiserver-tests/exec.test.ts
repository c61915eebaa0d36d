// pods/exec: the recorded refusal (no kubelet: 400 "does not have a host assigned", WebSocket then SPDY fallback),
// and under `execPods` the remotecommand WebSocket protocol driven by the real kubectl 1.33 (v5.channel.k8s.io) and by
// a raw client (v4, base64, the v5 CLOSE signal).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { entryBySeq, startKubeApiServer, type KubeApiServer, type RecordedRequest } from '../kube-apiserver/index.ts';
import { kubectl, request, tempDir, transcriptOutput } from './helpers.ts';

const POD = 'web-5b4c86cd8c-jmd9j';
const podManifest = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] } });
let dir: string;
let recorded: KubeApiServer;
let running: KubeApiServer;
const seen: RecordedRequest[] = [];
const execRequests = (): string[] => seen.filter((r) => r.path.endsWith('/exec')).map((r) => `${r.method} ${r.status} ${r.user}`);

beforeAll(async () => {
  dir = tempDir('kube-exec-test-');
  [recorded, running] = await Promise.all([startKubeApiServer(), startKubeApiServer({ execPods: true, onRequest: (r) => seen.push(r) })]);
  for (const srv of [recorded, running]) {
    const r = await kubectl(srv, srv.tokens.admin!, ['-n', 'har-demo', 'create', '-f', '-'], { dir, stdin: podManifest(POD) });
    expect(r.stdout).toBe(`pod/${POD} created\n`);
  }
});
afterAll(async () => {
  await Promise.all([recorded.close(), running.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('exec on a pod without a kubelet (the recording)', () => {
  it('prints the recorded 400 for exec and exec -i, after the WebSocket and the SPDY attempt', async () => {
    for (const cmd of [['exec', POD, '--', 'echo', 'hello'], ['exec', '-i', POD, '--', 'cat']]) {
      const r = await kubectl(recorded, recorded.tokens.admin!, ['-n', 'har-demo', ...cmd], { dir, stdin: '' });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(transcriptOutput('exec-pending-pod', `kubectl -n har-demo ${cmd.join(' ')}${cmd[1] === '-i' ? ' < /dev/null' : ''}`));
    }
  });

  it('answers the upgrade request like entry 1098: same Status body, no flow-control headers', async () => {
    const e = entryBySeq('exec-pending-pod', 1098);
    const headers = Object.fromEntries(e.request.headers.filter((h) => !/^(host|authorization)$/i.test(h.name)).map((h) => [h.name, h.value]));
    const r = await request(recorded, 'GET', new URL(e.request.url).pathname + new URL(e.request.url).search, { token: recorded.tokens.admin!, headers });
    expect([r.status, r.body]).toEqual([400, e.response.content.text]);
    expect(Object.keys(r.headers).filter((h) => h.startsWith('x-kubernetes-pf'))).toEqual([]);
  });
});

describe('exec with execPods (WebSocket remotecommand)', () => {
  const admin = (args: string[], stdin?: string) => kubectl(running, running.tokens.admin!, ['-n', 'har-demo', ...args], { dir, ...(stdin !== undefined ? { stdin } : {}) });

  it('runs created pods (bound, Running, ready)', async () => {
    const r = await admin(['get', 'pod', POD, '-o', 'jsonpath={.spec.nodeName} {.status.phase} {.status.containerStatuses[0].ready}']);
    expect(r.stdout).toBe('har-node Running true');
  });

  it('kubectl exec -- echo hello: one WebSocket GET upgraded (101), stdout relayed', async () => {
    seen.length = 0;
    const r = await admin(['exec', POD, '--', 'echo', 'hello']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'hello\n', '']);
    expect(execRequests()).toEqual(['GET 101 admin']);
    expect(seen.find((x) => x.path.endsWith('/exec'))!.query).toBe('?command=echo&command=hello&container=pause&stderr=true&stdout=true');
  });

  it('kubectl exec -i -- cat echoes stdin until kubectl closes it (v5 CLOSE signal)', async () => {
    const r = await admin(['exec', '-i', POD, '--', 'cat'], 'line 1\nline 2\n');
    expect([r.code, r.stdout]).toEqual([0, 'line 1\nline 2\n']);
  });

  it('exit codes and a missing executable come back as the Status on the error channel', async () => {
    const exit3 = await admin(['exec', POD, '--', 'sh', '-c', 'exit 3']);
    expect([exit3.code, exit3.stderr]).toEqual([3, 'command terminated with exit code 3\n']);
    const missing = await admin(['exec', POD, '--', 'ls', '/']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: exec: "ls": executable file not found in \$PATH: unknown\n$/);
  });

  it('RBAC: the view role gets 403 on the WebSocket GET (get pods/exec) and on the SPDY POST (create pods/exec)', async () => {
    seen.length = 0;
    const r = await kubectl(running, running.tokens.agent!, ['-n', 'har-demo', 'exec', POD, '--', 'echo', 'hi'], { dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error from server (Forbidden): pods "${POD}" is forbidden: User "system:serviceaccount:har-demo:agent" cannot create resource "pods/exec" in API group "" in the namespace "har-demo"\n`);
    expect(execRequests()).toEqual(['GET 403 system:serviceaccount:har-demo:agent', 'POST 403 system:serviceaccount:har-demo:agent']);
  });

  it('an unknown container is a 400 before the upgrade', async () => {
    const r = await admin(['exec', POD, '-c', 'nope', '--', 'echo']);
    expect(r.stderr).toBe(`Error from server (BadRequest): container nope is not valid for pod ${POD}\n`);
  });
});

interface Session { protocol: string; frames: (Buffer | string)[]; close: number; ws: WebSocket }
function open(srv: KubeApiServer, query: string, protocols: string[], onOpen: (ws: WebSocket) => void = () => {}): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${srv.port}/api/v1/namespaces/har-demo/pods/${POD}/exec?${query}`, protocols, { ca: srv.caPem, headers: { Authorization: `Bearer ${srv.tokens.admin}` } });
    const s: Session = { protocol: '', frames: [], close: 0, ws };
    ws.on('open', () => { s.protocol = ws.protocol; onOpen(ws); });
    ws.on('message', (d: Buffer, binary: boolean) => s.frames.push(binary ? Buffer.from(d) : d.toString('utf8')));
    ws.on('close', (code) => { s.close = code; resolve(s); });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });
}
const q = (cmd: string[], extra = 'stdout=true&stderr=true'): string => `${cmd.map((c) => `command=${encodeURIComponent(c)}`).join('&')}&${extra}`;

describe('remotecommand framing (raw WebSocket client)', () => {
  it('v4.channel.k8s.io: empty stdout frame first, then the kubelet NonZeroExitCode Status on channel 3, close 1000', async () => {
    const s = await open(running, q(['sh', '-c', 'echo out; exit 2']), ['v4.channel.k8s.io']);
    expect(s.protocol).toBe('v4.channel.k8s.io');
    expect(s.frames.map((f) => [...(f as Buffer)].slice(0, 1).concat([(f as Buffer).length - 1]))).toEqual([[1, 0], [1, 4], [3, expect.any(Number)]]);
    expect((s.frames[1] as Buffer).subarray(1).toString()).toBe('out\n');
    expect(JSON.parse((s.frames[2] as Buffer).subarray(1).toString())).toEqual({
      metadata: {}, status: 'Failure', message: 'command terminated with non-zero exit code: error executing command [sh -c echo out; exit 2], exit code 2',
      reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '2' }] },
    });
    expect(s.close).toBe(1000);
  });

  it('v5.channel.k8s.io is preferred; stdin frames feed cat and [255, 0] closes stdin; Success Status', async () => {
    const s = await open(running, q(['cat'], 'stdin=true&stdout=true&stderr=true'), ['v4.channel.k8s.io', 'v5.channel.k8s.io'], (ws) => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('abc')]));
      ws.send(Buffer.from([255, 0]));
    });
    expect(s.protocol).toBe('v5.channel.k8s.io');
    expect(s.frames.map((f) => (f as Buffer).toString('latin1'))).toEqual(['\x01', '\x01abc', '\x03{"metadata":{},"status":"Success"}']);
  });

  it('base64.channel.k8s.io: text frames, channel as an ASCII digit, payload base64; no status text on success', async () => {
    const s = await open(running, q(['echo', 'hi']), ['base64.channel.k8s.io']);
    expect(s.frames).toEqual(['1', `1${Buffer.from('hi\n').toString('base64')}`]);
  });
});
