// The CA bundle agents use: seb's CA plus the system roots. Python (AWS CLI, boto3) and OpenSSL tools replace
// their trust store with the file they are given, and tunnelled hosts (the agent's LLM API) still present their
// real certificates, so the bundle must hold both.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import type { CaPaths } from './ca.ts';

export function bundlePath(paths: CaPaths): string {
  return path.join(path.dirname(paths.certFile), 'bundle.pem');
}

export async function writeAgentBundle(paths: CaPaths): Promise<string> {
  const caPem = await readFile(paths.certFile, 'utf8');
  const file = bundlePath(paths);
  await writeFile(file, [caPem.trim(), ...rootCertificates.map((c) => c.trim())].join('\n') + '\n', { mode: 0o644 });
  return file;
}
