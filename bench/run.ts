// `npm run bench`: runs every benchmark and writes machine-readable results to bench/results/<name>.json
// (and prints them). Figures depend on the machine: compare ratios measured in the same run, not across runs.
// `npm run bench -- NAME` runs one of them.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchConfig, benchPassthrough } from './passthrough.ts';
import { benchPipeline } from './pipeline.ts';
import { benchKube } from './kube.ts';
import { benchAws } from './aws.ts';
import { createBenchDatabase } from './database.ts';
import { benchAudit } from './audit.ts';
import { benchRevocation } from './revocation.ts';

/** A benchmark that wants a throwaway PostgreSQL database gets its URL (undefined when none is reachable). */
async function withDatabase(run: (url: string | undefined) => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const db = await createBenchDatabase();
  try {
    return await run(db?.url);
  } finally {
    await db?.drop();
  }
}

const BENCHMARKS: Record<string, () => Promise<Record<string, unknown>>> = {
  pipeline: () => withDatabase(benchPipeline),
  kube: benchKube,
  audit: () => withDatabase(benchAudit),
  aws: benchAws,
  revocation: benchRevocation,
  passthrough: async () => ({ description: 'GET through seb (CONNECT + TLS interception + forwarding) vs direct to the same local HTTPS upstream', config: benchConfig, ...(await benchPassthrough()) }),
};

const only = process.argv[2];
if (only && !(only in BENCHMARKS)) {
  process.stderr.write(`bench: unknown benchmark ${JSON.stringify(only)}; one of ${Object.keys(BENCHMARKS).join(', ')}\n`);
  process.exit(2);
}
const out = path.resolve(import.meta.dirname, 'results');
await mkdir(out, { recursive: true });
const environment = { node: process.version, platform: `${os.platform()} ${os.release()}`, cpu: os.cpus()[0]?.model, cpus: os.cpus().length, date: new Date().toISOString() };
for (const [name, run] of Object.entries(BENCHMARKS)) {
  if (only && only !== name) continue;
  const result = { benchmark: name, environment, ...(await run()) };
  await writeFile(path.join(out, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
process.exit(0);
