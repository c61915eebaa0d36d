// Pass-through overhead: the same GET sent directly to a local HTTPS upstream and through seb (CONNECT, TLS
// interception, forwarding on a pooled connection), alternating rounds in one run so both see the same machine.
// seb and the upstream run as child processes; this process is the client.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { mkdtemp, open, readFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import path from 'node:path';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { summarize, type LatencySummary } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 1000); // per round, per path
const CONCURRENT_REQUESTS = Number(process.env.BENCH_CONCURRENT_REQUESTS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const TARGET_HOST = 'ec2.us-east-1.amazonaws.com';

/** Starts a child and resolves once it prints a line `ready` accepts, or once `listenAddress` accepts connections. */
function startChild(args: string[], env: NodeJS.ProcessEnv, ready: (line: string) => boolean, listenAddress?: string, stdoutFd?: number): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', stdoutFd ?? 'pipe', 'inherit'], cwd: ROOT });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) if (ready(line)) return resolve({ child, line });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
    if (listenAddress) void waitForPort(listenAddress).then(() => resolve({ child, line: '' }), reject);
  });
}

async function waitForPort(address: string): Promise<void> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, host, () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${address} after 10 s`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function sequential(dispatcher: Dispatcher, url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await request(url, { dispatcher });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    out.push(performance.now() - t);
  }
  return out;
}

async function concurrent(dispatcher: Dispatcher, url: string, total: number, concurrency: number): Promise<{ rps: number; latency: number[] }> {
  let next = 0;
  const latency: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < total) {
      const t = performance.now();
      const res = await request(url, { dispatcher });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      latency.push(performance.now() - t);
    }
  }));
  return { rps: Math.round((total / (performance.now() - t0)) * 1000), latency };
}

export interface PassthroughResult {
  readonly sequential: { direct: LatencySummary; seb: LatencySummary; p50Ratio: number; p99Ratio: number; addedP50Ms: number; addedP99Ms: number };
  readonly concurrent: { concurrency: number; direct: { rps: number; latency: LatencySummary }; seb: { rps: number; latency: LatencySummary }; rpsRatio: number };
}

export async function benchPassthrough(): Promise<PassthroughResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seb-bench-'));
  const caFile = path.join(dir, 'upstream-ca.pem');
  const upstream = await startChild([path.join(ROOT, 'bench', 'upstream.ts'), caFile], process.env, (l) => l.startsWith('{"port"'));
  const upstreamPort = (JSON.parse(upstream.line) as { port: number }).port;
  // seb logs one JSON line per request at the default level, to a file, as a container runtime would collect it.
  const logFile = await open(path.join(dir, 'seb.log'), 'w');
  const proxy = `127.0.0.1:${await freePort()}`;
  const seb = await startChild([path.join(ROOT, 'bin', 'seb.ts'), 'serve'], {
    ...process.env,
    SEB_STATE_DIR: path.join(dir, 'state'),
    SEB_PROXY_LISTEN: proxy,
    SEB_ENDPOINT_LISTEN: 'off',
    SEB_ADMIN_LISTEN: 'off',
    SEB_UPSTREAM_AWS: `https://127.0.0.1:${upstreamPort}`,
    SEB_UPSTREAM_CA_FILES: caFile,
  }, () => false, proxy, logFile.fd);
  const sebCa = await readFile(path.join(dir, 'state', 'ca', 'ca.crt'), 'utf8');
  const upstreamCa = await readFile(caFile, 'utf8');

  const direct = new Agent({ connect: { ca: upstreamCa }, connections: CONCURRENCY });
  const viaSeb = new ProxyAgent({ uri: `http://${proxy}`, requestTls: { ca: sebCa }, connections: CONCURRENCY });
  const directUrl = `https://127.0.0.1:${upstreamPort}/?Action=DescribeSecurityGroups`;
  const sebUrl = `https://${TARGET_HOST}/?Action=DescribeSecurityGroups`;
  try {
    // Warm-up: connections, TLS sessions, leaf certificate, JIT.
    await sequential(direct, directUrl, 200);
    await sequential(viaSeb, sebUrl, 200);
    const seq = { direct: [] as number[], seb: [] as number[] };
    const conc = { direct: { rps: [] as number[], latency: [] as number[] }, seb: { rps: [] as number[], latency: [] as number[] } };
    for (let round = 0; round < ROUNDS; round++) {
      seq.direct.push(...(await sequential(direct, directUrl, SEQUENTIAL)));
      seq.seb.push(...(await sequential(viaSeb, sebUrl, SEQUENTIAL)));
      const d = await concurrent(direct, directUrl, CONCURRENT_REQUESTS, CONCURRENCY);
      const s = await concurrent(viaSeb, sebUrl, CONCURRENT_REQUESTS, CONCURRENCY);
      conc.direct.rps.push(d.rps);
      conc.direct.latency.push(...d.latency);
      conc.seb.rps.push(s.rps);
      conc.seb.latency.push(...s.latency);
    }
    const sd = summarize(seq.direct);
    const ss = summarize(seq.seb);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const dRps = median(conc.direct.rps);
    const sRps = median(conc.seb.rps);
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    return {
      sequential: { direct: sd, seb: ss, p50Ratio: ratio(ss.p50, sd.p50), p99Ratio: ratio(ss.p99, sd.p99), addedP50Ms: Math.round((ss.p50 - sd.p50) * 1000) / 1000, addedP99Ms: Math.round((ss.p99 - sd.p99) * 1000) / 1000 },
      concurrent: { concurrency: CONCURRENCY, direct: { rps: dRps, latency: summarize(conc.direct.latency) }, seb: { rps: sRps, latency: summarize(conc.seb.latency) }, rpsRatio: ratio(sRps, dRps) },
    };
  } finally {
    await direct.close();
    await viaSeb.close();
    seb.child.kill('SIGTERM');
    await logFile.close();
    upstream.child.kill('SIGTERM');
  }
}

export const benchConfig = { rounds: ROUNDS, sequentialPerRound: SEQUENTIAL, concurrentRequestsPerRound: CONCURRENT_REQUESTS, concurrency: CONCURRENCY, cpus: cpus().length };

