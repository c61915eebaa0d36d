// The tiny command set `exec` runs in a pod under the `execPods` option, without a real process: echo, cat (stdin to
// stdout until stdin closes), true, false, and `sh -c` with `exit N` / echo / true / false. Anything else fails to
// start the way containerd + runc report a missing executable.
import { randomBytes } from 'node:crypto';

export interface Io { stdout(d: Buffer): void; stderr(d: Buffer): void }
export type Outcome = { exit: number } | { startError: string };
export interface Running {
  /** Data the client sent on stdin. */
  stdin(d: Buffer): void;
  /** The client closed stdin (v5 CLOSE signal for channel 0). */
  closeStdin(): void;
  /** The connection went away. */
  kill(): void;
  done: Promise<Outcome>;
}

const KNOWN = new Set(['echo', 'cat', 'true', 'false', 'sh']);
const base = (cmd: string): string => (/^\/(usr\/)?bin\/[^/]+$/.test(cmd) ? cmd.slice(cmd.lastIndexOf('/') + 1) : cmd);

function echo(args: string[], io: Io): number {
  const noNewline = args[0] === '-n';
  io.stdout(Buffer.from(`${(noNewline ? args.slice(1) : args).join(' ')}${noNewline ? '' : '\n'}`));
  return 0;
}

/** `sh -c SCRIPT` for scripts made of `exit N`, `echo ...`, `true`, `false` separated by `;`. */
function shell(script: string, io: Io): number {
  let status = 0;
  for (const part of script.split(';').map((p) => p.trim()).filter(Boolean)) {
    const words = part.match(/'[^']*'|"[^"]*"|\S+/g)!.map((w) => w.replace(/^(['"])(.*)\1$/, '$2'));
    const [cmd, ...args] = words as [string, ...string[]];
    if (cmd === 'exit') return args[0] === undefined ? status : Number(args[0]) & 255;
    if (cmd === 'echo') status = echo(args, io);
    else if (cmd === 'true' || cmd === ':') status = 0;
    else if (cmd === 'false') status = 1;
    else { io.stderr(Buffer.from(`sh: 1: ${cmd}: not found\n`)); status = 127; }
  }
  return status;
}

export function startCommand(command: string[], io: Io): Running {
  const [cmd = '', ...args] = command;
  const name = base(cmd);
  const finished = (o: Outcome): Running => ({ stdin() {}, closeStdin() {}, kill() {}, done: Promise.resolve(o) });
  if (!KNOWN.has(name)) {
    const execId = randomBytes(32).toString('hex');
    return finished({ startError: `failed to exec in container: failed to start exec "${execId}": OCI runtime exec failed: exec failed: unable to start container process: exec: "${cmd}": executable file not found in $PATH: unknown` });
  }
  if (name === 'echo') return finished({ exit: echo(args, io) });
  if (name === 'true') return finished({ exit: 0 });
  if (name === 'false') return finished({ exit: 1 });
  if (name === 'sh') {
    if (args[0] === '-c' && args[1] !== undefined) return finished({ exit: shell(args[1], io) });
    io.stderr(Buffer.from('sh: interactive shells are not supported by this test server\n'));
    return finished({ exit: 2 });
  }
  // cat
  if (args.length) {
    for (const f of args) io.stderr(Buffer.from(`cat: ${f}: No such file or directory\n`));
    return finished({ exit: 1 });
  }
  let resolve!: (o: Outcome) => void;
  const done = new Promise<Outcome>((r) => { resolve = r; });
  return { stdin: (d) => io.stdout(d), closeStdin: () => resolve({ exit: 0 }), kill: () => resolve({ exit: 137 }), done };
}
