// `npm run bench`: runs every benchmark and writes machine-readable results to bench/results/<name>.json
// (and prints them). Figures depend on the machine: compare ratios measured in the same run, not across runs.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchConfig, benchPassthrough } from './passthrough.ts';

const out = path.resolve(import.meta.dirname, 'results');
await mkdir(out, { recursive: true });
const environment = { node: process.version, platform: `${os.platform()} ${os.release()}`, cpu: os.cpus()[0]?.model, cpus: os.cpus().length, date: new Date().toISOString() };

const passthrough = await benchPassthrough();
const result = { benchmark: 'passthrough', description: 'GET through seb (CONNECT + TLS interception + forwarding) vs direct to the same local HTTPS upstream', environment, config: benchConfig, ...passthrough };
await writeFile(path.join(out, 'passthrough.json'), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
