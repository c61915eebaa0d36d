// Operator commands on the shared ledger: `seb epoch show`, `seb epoch bump policy|revocation`,
// `seb revoke CID --reason TEXT`. They act on whatever ledger the configuration names (PostgreSQL via
// ledger.databaseUrl / SEB_DATABASE_URL, else the embedded one under the state directory) and print what they did.
// A ledger failure becomes an Error with the ledger's own message (main() prints it and exits 1); a malformed
// argument is a usage error (exit 2).
import { Argument, type Command } from 'commander';
import type { ConfigFlags } from '../config/load.ts';
import type { EpochName, Ledger, LedgerResult } from '../ledger/types.ts';

export interface OpenedLedger {
  readonly ledger: Ledger;
  close(): Promise<void>;
}

export type LoadLedger = (flags: ConfigFlags) => Promise<OpenedLedger>;

export interface LedgerCommandsIo {
  readonly out: (text: string) => void;
}

// Any RFC 9562 UUID; upper case is accepted and lower-cased (certificates carry lower case, the ledger stores uuid).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function valueOf<T>(result: LedgerResult<T>): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

export async function epochShow(ledger: Ledger, format: 'text' | 'json'): Promise<string> {
  const epochs = valueOf(await ledger.epochs());
  if (format === 'json') return `${JSON.stringify(epochs)}\n`;
  return `policy epoch: ${epochs.policy}\nrevocation epoch: ${epochs.revocation}\n(${ledger.where})\n`;
}

export async function epochBump(ledger: Ledger, name: EpochName): Promise<string> {
  const value = valueOf(await ledger.bumpEpoch(name));
  const effect = name === 'policy'
    ? `certificates issued under policy epoch ${value - 1} or earlier are now rejected; the SAB must issue under ${value}`
    : `every certificate carrying a revocation epoch below ${value} is now rejected`;
  return `${name} epoch bumped to ${value} (${ledger.where}): ${effect}\n`;
}

export async function revokeCertificate(ledger: Ledger, cid: string, reason: string): Promise<string> {
  const r = valueOf(await ledger.revoke(cid.toLowerCase(), reason));
  return r.newly
    ? `revoked certificate ${cid.toLowerCase()} at ${r.revokedAt.toISOString()}: ${r.reason}\n`
    : `certificate ${cid.toLowerCase()} was already revoked at ${r.revokedAt.toISOString()} (${r.reason}); nothing changed\n`;
}

function withLedgerFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'configuration file, YAML or JSON (env SEB_CONFIG)')
    .option('--state-dir <dir>', 'state directory holding the embedded ledger (env SEB_STATE_DIR; default .seb)');
}

/** Opens the ledger for one command and always closes it, so the process can exit. */
async function withLedger(load: LoadLedger, flags: ConfigFlags, io: LedgerCommandsIo, fn: (ledger: Ledger) => Promise<string>): Promise<void> {
  const opened = await load({ ...(flags.config ? { config: flags.config } : {}), ...(flags.stateDir ? { stateDir: flags.stateDir } : {}) });
  try {
    io.out(await fn(opened.ledger));
  } finally {
    await opened.close();
  }
}

export function registerLedgerCommands(program: Command, load: LoadLedger, io: LedgerCommandsIo = { out: (t) => process.stdout.write(t) }): void {
  const epoch = program.command('epoch').description('the global policy and revocation epochs in the shared ledger');

  withLedgerFlags(epoch.command('show').description('print the current policy and revocation epochs'))
    .option('--json', 'print {"policy":N,"revocation":N}')
    .action((flags: ConfigFlags & { json?: boolean }) => withLedger(load, flags, io, (l) => epochShow(l, flags.json ? 'json' : 'text')));

  withLedgerFlags(epoch.command('bump').description('increment an epoch: policy rejects certificates issued under the old policy, revocation rejects every certificate issued before now'))
    .addArgument(new Argument('<epoch>', 'which epoch').choices(['policy', 'revocation']))
    .action((name: EpochName, flags: ConfigFlags) => withLedger(load, flags, io, (l) => epochBump(l, name)));

  withLedgerFlags(program.command('revoke').description('revoke one certificate by its id, for every seb sharing the ledger'))
    .argument('<cid>', 'the certificate id (a UUID)')
    .requiredOption('--reason <text>', 'why, recorded with the revocation and shown in denials')
    .action(async (cid: string, flags: ConfigFlags & { reason: string }, cmd: Command) => {
      if (!UUID.test(cid)) cmd.error(`error: "${cid}" is not a certificate id; expected a UUID such as 0b6f3c1e-5d2a-4c8e-9f10-3a7b2c4d5e6f`, { exitCode: 2, code: 'seb.invalidCid' });
      if (!flags.reason.trim()) cmd.error('error: --reason must not be empty; say why the certificate is revoked', { exitCode: 2, code: 'seb.emptyReason' });
      await withLedger(load, flags, io, (l) => revokeCertificate(l, cid, flags.reason));
    });
}
