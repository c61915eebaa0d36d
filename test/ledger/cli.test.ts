// `seb epoch show|bump` and `seb revoke` as registered by cli/ledger-commands.ts, run through commander against a
// real embedded ledger (the default when no databaseUrl is configured).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerLedgerCommands, type LoadLedger } from '../../cli/ledger-commands.ts';
import { openLedger } from '../../ledger/open.ts';

let root: string;
beforeAll(async () => { root = await mkdtemp(path.join(tmpdir(), 'seb-ledger-cli-')); });
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

/** Opens the ledger the way cli/main.ts will: from the state directory flag. */
const load: LoadLedger = async (flags) => {
  const result = await openLedger({ dir: path.join(flags.stateDir ?? root, 'ledger'), timeoutMs: 5_000, poolSize: 1 });
  if (!result.ok) throw new Error(result.error.message);
  return { ledger: result.value, close: () => result.value.close() };
};

async function seb(...args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const program = new Command('seb').exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  registerLedgerCommands(program, load, { out: (s) => (out += s) });
  try {
    await program.parseAsync(['node', 'seb', ...args, '--state-dir', root]);
    return { out, err, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, exitCode: e.exitCode };
    throw e;
  }
}

describe('seb epoch / seb revoke', () => {
  it('shows the epochs, bumps each, and shows the new values', async () => {
    expect((await seb('epoch', 'show')).out).toMatch(/^policy epoch: 0\nrevocation epoch: 0\n\(embedded ledger at .*\)\n$/);
    expect((await seb('epoch', 'bump', 'policy')).out).toMatch(/^policy epoch bumped to 1 .*issued under policy epoch 0 or earlier are now rejected/);
    expect((await seb('epoch', 'bump', 'revocation')).out).toMatch(/^revocation epoch bumped to 1 .*revocation epoch below 1 is now rejected/);
    expect(JSON.parse((await seb('epoch', 'show', '--json')).out)).toEqual({ policy: 1, revocation: 1 });
  });

  it('refuses an unknown epoch name', async () => {
    const r = await seb('epoch', 'bump', 'everything');
    expect(r.exitCode).not.toBe(0);
    expect(r.err).toMatch(/Allowed choices are policy, revocation/);
  });

  it('revokes a certificate once and says so; a second revocation keeps the first reason', async () => {
    const cid = '0B6F3C1E-5D2A-4C8E-9F10-3A7B2C4D5E6F';
    const first = await seb('revoke', cid, '--reason', 'agent prompt-injected');
    expect(first.out).toMatch(/^revoked certificate 0b6f3c1e-5d2a-4c8e-9f10-3a7b2c4d5e6f at \d{4}-.*Z: agent prompt-injected\n$/);
    const second = await seb('revoke', cid.toLowerCase(), '--reason', 'other');
    expect(second.out).toMatch(/was already revoked at .* \(agent prompt-injected\); nothing changed/);
  });

  it('rejects a cid that is not a UUID, and a missing reason, as usage errors before touching the ledger', async () => {
    const bad = await seb('revoke', 'cert-123', '--reason', 'x');
    expect(bad.exitCode).toBe(2);
    expect(bad.err).toMatch(/"cert-123" is not a certificate id; expected a UUID/);
    const noReason = await seb('revoke', '0b6f3c1e-5d2a-4c8e-9f10-3a7b2c4d5e6f');
    expect(noReason.exitCode).not.toBe(0);
    expect(noReason.err).toMatch(/--reason/);
  });
});
