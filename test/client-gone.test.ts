// An agent that disconnects while seb is deciding: the certified mutation is committed, but nothing is sent on the
// agent's behalf, the execution is closed with a 'not_forwarded' outcome record, and seb does not hang on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsVia } from './helpers/clients.ts';
import { CM_PATH, KUBE_HOST, startKubeWorld, type KubeWorld } from './helpers/kube-world.ts';
import { startRelay, type Relay } from './helpers/relay.ts';
import { startTestSeb, type TestSeb } from './helpers/seb.ts';
import { expectCompleteAuditTrail } from './helpers/audit-trail.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from './helpers/pg.ts';
import { classifyKube } from '../parsers/kube/classify.ts';
import type { Contract } from '../certs/sab/types.ts';

const pgSkip = await postgresSkipReason();

/** The agent goes away while the relay holds seb's decision; then the relay lets it finish. The outcome's body. */
async function leaveThenRelease(socket: { destroy(): void }, relay: Relay, seb: TestSeb): Promise<unknown> {
  await new Promise((r) => setTimeout(r, 300));
  socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  await relay.restore();
  const deadline = Date.now() + 10_000;
  while (!seb.audit.some((r) => r.kind === 'outcome') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return seb.audit.find((r) => r.kind === 'outcome')?.body;
}

describe('the agent leaves while seb decides', () => {
  let world: KubeWorld;
  let relay: Relay;
  let seb: TestSeb;
  beforeAll(async () => {
    world = await startKubeWorld();
    relay = await startRelay({ host: '127.0.0.1', port: Number(new URL(world.kube.url).port) });
    seb = await startTestSeb({ ...world.sebConfig, upstreams: { kube: `https://127.0.0.1:${relay.port}` } });
  });
  afterAll(async () => {
    await seb?.stop();
    await relay?.close();
    await world?.close();
  });

  it('the committed mutation is not sent, its outcome is recorded as not_forwarded, and the request is logged', async () => {
    const cert = await world.patchCertificate('left'); // drift-checked: seb reads the ConfigMap before deciding
    const before = world.executedPatches();
    relay.blackhole(); // hold seb's drift read until the agent has gone
    const socket = await tlsVia(seb.proxyPort, `${KUBE_HOST}:443`, seb.caPem);
    const body = JSON.stringify({ data: { mode: 'left' } });
    socket.write(`PATCH ${CM_PATH}?fieldManager=kubectl-patch HTTP/1.1\r\nHost: ${KUBE_HOST}\r\nAuthorization: Bearer ${world.kube.tokens.executor}\r\n`
      + `Content-Type: application/merge-patch+json\r\nSeb-Certificate: ${cert}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const outcomeBody = await leaveThenRelease(socket, relay, seb);
    expect(outcomeBody).toMatchObject({ result: 'not_forwarded' });
    expect(seb.audit.filter((r) => r.kind === 'decision').map((r) => (r.body as { decision: string }).decision)).toEqual(['allow']);
    expect(world.executedPatches()).toBe(before);
    expect(seb.logs.find((l) => l.msg === 'request' && l.mutation === true)).toMatchObject({ outcome: 'client_gone', sent: false });
    await expectCompleteAuditTrail(seb);
  });
});

describe.skipIf(pgSkip !== undefined)('the agent leaves while seb decides an upgrade (exec)', () => {
  let world: KubeWorld;
  let db: TestDatabase;
  let relay: Relay;
  let seb: TestSeb;
  beforeAll(async () => {
    world = await startKubeWorld();
    db = await createTestDatabase();
    relay = await startRelay(); // between seb and PostgreSQL: holding it holds the decision
    seb = await startTestSeb({ ...world.sebConfig, ledger: { databaseUrl: db.url(relay.port), timeoutMs: 5_000 } });
  });
  afterAll(async () => {
    await seb?.stop();
    await relay?.close();
    await db?.drop();
    await world?.close();
  });

  it('a certified exec whose agent left is not opened upstream; its outcome is not_forwarded', async () => {
    const path = '/api/v1/namespaces/har-demo/pods/web-pod/exec?command=sh&stdin=true&stdout=true&tty=true';
    const classified = classifyKube({ host: KUBE_HOST, method: 'GET', url: new URL(path, 'https://x'), headers: {}, body: Buffer.alloc(0) });
    if (classified.kind !== 'mutation') throw new Error(`exec classified as ${classified.kind}`);
    const cert = world.sab.issue({ ...classified.contract, risk: 'high' } as Contract);
    relay.blackhole();
    const socket = await tlsVia(seb.proxyPort, `${KUBE_HOST}:443`, seb.caPem);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${KUBE_HOST}\r\nAuthorization: Bearer ${world.kube.tokens.executor}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`
      + `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\nSeb-Certificate: ${cert}\r\n\r\n`);
    const outcomeBody = await leaveThenRelease(socket, relay, seb);
    expect(outcomeBody).toMatchObject({ result: 'not_forwarded' });
    expect(seb.logs.find((l) => l.msg === 'upgrade' && l.mutation === true)).toMatchObject({ outcome: 'client_gone', sent: false });
    await expectCompleteAuditTrail(seb);
  });
});
