// `seb cert ...`: look inside a certificate, and stage certificates in a running seb for agents that cannot add
// the Seb-Certificate header.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Agent, request } from 'undici';
import { decodeCertificate, explain, verifyCertificate } from '../certs/sab/index.ts';
import type { SebConfig } from '../config/schema.ts';
import { loadTrust, adminTokenPath } from '../runtime/local-state.ts';
import { CliError } from './sab.ts';

export function registerCertCommands(program: Command, withConfig: (cmd: Command) => Command, configFrom: (flags: object) => SebConfig): void {
  const cert = program.command('cert').description('inspect and stage SAB certificates');

  withConfig(cert.command('inspect [file]').description('decode a certificate (file, or - for stdin), verify it against trust.file and explain every field'))
    .action(async (file: string | undefined, flags: object) => {
      const config = configFrom(flags);
      const text = (await readInput(file)).trim();
      const decoded = decodeCertificate(text);
      if (!decoded.ok) throw new CliError(`${decoded.error.code}: ${decoded.error.message}`);
      process.stdout.write(explain(decoded.value.payload).join('\n') + '\n');
      const { trust, source } = await loadTrust(config);
      const verified = verifyCertificate(decoded.value, trust);
      if (!verified.ok) {
        process.stdout.write(`signature: NOT VERIFIED (${verified.error.code}: ${verified.error.message}; trust store: ${source})\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write(`signature: verified with trusted key ${verified.value.kid} (${source})\n`);
      }
    });

  withConfig(cert.command('stage <file>').description('stage a certificate in the running seb (for clients that cannot send headers)'))
    .action(async (file: string, flags: object) => {
      const body = await call(configFrom(flags), 'POST', '/v1/certificates', (await readInput(file)).trim());
      process.stdout.write(`staged ${body.cid} (${body.platform} ${body.operation}, expires ${new Date(Number(body.exp) * 1000).toISOString()})\n`);
    });

  withConfig(cert.command('list').description('list the certificates staged in the running seb'))
    .action(async (flags: object) => {
      const body = await call(configFrom(flags), 'GET', '/v1/certificates');
      process.stdout.write(JSON.stringify(body.certificates, null, 2) + '\n');
    });

  withConfig(cert.command('withdraw <cid>').description('withdraw a staged certificate'))
    .action(async (cid: string, flags: object) => {
      await call(configFrom(flags), 'DELETE', `/v1/certificates/${cid}`);
      process.stdout.write(`withdrew ${cid}\n`);
    });
}

async function readInput(file: string | undefined): Promise<string> {
  if (file === undefined || file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  return readFile(file, 'utf8');
}

async function call(config: SebConfig, method: string, path: string, body?: string): Promise<Record<string, unknown>> {
  if (config.listen.admin === 'off') throw new CliError('the admin listener is off (listen.admin); the local API is not reachable');
  const token = (await readFile(adminTokenPath(config), 'utf8').catch(() => {
    throw new CliError(`cannot read the admin token at ${adminTokenPath(config)}; is seb running with this state directory?`);
  })).trim();
  const admin = config.listen.admin;
  const socketPath = admin.startsWith('unix:') ? admin.slice('unix:'.length) : undefined;
  const host = socketPath ? 'localhost' : admin.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
  const dispatcher = new Agent(socketPath ? { connect: { socketPath } } : {});
  try {
    const res = await request(`http://${host}${path}`, {
      dispatcher, method: method as 'GET' | 'POST' | 'DELETE',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, ...(body !== undefined ? { body } : {}),
    });
    const text = await res.body.text();
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (res.statusCode >= 300) throw new CliError(`${String(parsed.code ?? res.statusCode)}: ${String(parsed.message ?? text)}`);
    return parsed;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot reach seb's admin listener at ${admin}: ${(err as Error).message}`);
  } finally {
    await dispatcher.close();
  }
}
