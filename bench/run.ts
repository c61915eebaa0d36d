// `npm run bench`: runs every benchmark and writes machine-readable results to bench/results/<name>.json
// (and prints them). Figures depend on the machine: compare ratios measured in the same run, not across runs.
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

const out = path.resolve(import.meta.dirname, 'results');
await mkdir(out, { recursive: true });
const environment = { node: process.version, platform: `${os.platform()} ${os.release()}`, cpu: os.cpus()[0]?.model, cpus: os.cpus().length, date: new Date().toISOString() };

const only = process.argv[2]; // `npm run bench -- pipeline` runs one benchmark

if (!only || only === 'pipeline') {
  const db = await createBenchDatabase();
  try {
    const pipeline = await benchPipeline(db?.url);
    const result = { benchmark: 'pipeline', environment, ...pipeline };
    await writeFile(path.join(out, 'pipeline.json'), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await db?.drop();
  }
}
if (!only || only === 'kube') {
  const kube = await benchKube();
  const result = { benchmark: 'kube', environment, ...kube };
  await writeFile(path.join(out, 'kube.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
if (!only || only === 'audit') {
  const db = await createBenchDatabase();
  try {
    const result = { benchmark: 'audit', environment, ...(await benchAudit(db?.url)) };
    await writeFile(path.join(out, 'audit.json'), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await db?.drop();
  }
}
if (!only || only === 'aws') {
  const aws = await benchAws();
  const result = { benchmark: 'aws', environment, ...aws };
  await writeFile(path.join(out, 'aws.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
if (!only || only === 'revocation') {
  const result = { benchmark: 'revocation', environment, ...(await benchRevocation()) };
  await writeFile(path.join(out, 'revocation.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
if (only && only !== 'passthrough') process.exit(0);

const passthrough = await benchPassthrough();
const result = { benchmark: 'passthrough', description: 'GET through seb (CONNECT + TLS interception + forwarding) vs direct to the same local HTTPS upstream', environment, config: benchConfig, ...passthrough };
await writeFile(path.join(out, 'passthrough.json'), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
