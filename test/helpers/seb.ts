// Starts seb in-process on ephemeral ports with a temporary state directory and captures its JSON log lines.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../config/load.ts';
import type { SebConfig } from '../../config/schema.ts';
import { createLogger } from '../../ops/logger.ts';
import { startSeb, type RunningSeb } from '../../runtime/start.ts';

export interface TestSeb {
  readonly seb: RunningSeb;
  readonly config: SebConfig;
  readonly stateDir: string;
  readonly caPem: string;
  readonly proxyUrl: string;
  readonly proxyPort: number;
  readonly endpointPort: number;
  readonly adminUrl: string;
  readonly logs: Array<Record<string, unknown>>;
  /** The signed audit records this seb streamed (parsed JSON lines). */
  readonly audit: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export type ConfigOverrides = Record<string, unknown>;

/** A fresh temporary directory, for files a test writes before seb starts (trust stores ...). */
export function tempDir(prefix = 'seb-test-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export async function startTestSeb(overrides: ConfigOverrides = {}): Promise<TestSeb> {
  const stateDir = await tempDir();
  const file = path.join(stateDir, 'config.json');
  const { writeFile } = await import('node:fs/promises');
  const base = {
    stateDir,
    listen: { proxy: '127.0.0.1:0', endpoint: '127.0.0.1:0', admin: '127.0.0.1:0' },
    log: { level: 'info' },
  };
  await writeFile(file, JSON.stringify(deepMerge(base, overrides)));
  const loaded = loadConfig({ config: file }, {});
  if (!loaded.ok) throw new Error(loaded.error);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const audit: Array<Record<string, unknown>> = [];
  const seb = await startSeb(loaded.value, { logger: createLogger(loaded.value.log.level, sink), auditSink: (line) => audit.push(JSON.parse(line) as Record<string, unknown>) });
  const port = (hp: string | undefined) => Number(hp?.slice(hp.lastIndexOf(':') + 1));
  return {
    seb,
    config: loaded.value,
    stateDir,
    caPem: await readFile(seb.caCertFile, 'utf8'),
    proxyUrl: `http://${seb.addresses.proxy}`,
    proxyPort: port(seb.addresses.proxy),
    endpointPort: port(seb.addresses.endpoint),
    adminUrl: `http://${seb.addresses.admin}`,
    logs,
    audit,
    async stop() {
      await seb.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const existing = out[k];
    out[k] = isObject(v) && isObject(existing) ? deepMerge(existing, v) : v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface SebProcess {
  readonly stateDir: string;
  readonly proxyPort: number;
  readonly caPem: string;
  readonly instanceId: string;
  /** Everything the process wrote to stdout and stderr so far (JSON logs and audit lines). */
  output(): string;
  /** SIGTERM (graceful) unless another signal is given; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** seb as a separate OS process (`seb serve --config FILE`), for tests about several processes. */
export async function spawnSeb(overrides: ConfigOverrides = {}, opts: { stateDir?: string } = {}): Promise<SebProcess> {
  const { spawn } = await import('node:child_process');
  const { writeFile } = await import('node:fs/promises');
  const { SEB_BIN } = await import('./run.ts');
  const stateDir = opts.stateDir ?? await tempDir('seb-proc-');
  const file = path.join(stateDir, 'config.json');
  await writeFile(file, JSON.stringify(deepMerge({ stateDir, listen: { proxy: '127.0.0.1:0', endpoint: 'off', admin: 'off' } }, overrides)));
  const child = spawn(process.execPath, [SEB_BIN, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"event":"started"'));
      if (line) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    child.once('exit', (code) => reject(new Error(`seb exited ${code}: ${out}`)));
  });
  const proxy = String(started.proxy);
  return {
    stateDir,
    proxyPort: Number(proxy.slice(proxy.lastIndexOf(':') + 1)),
    caPem: await readFile(path.join(stateDir, 'ca', 'ca.crt'), 'utf8'),
    instanceId: String(started.instanceId),
    output: () => out,
    stop: (signal = 'SIGTERM') => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    }),
  };
}
