// Where the audit writer streams its records besides the ledger (config `audit`): stdout, a file, or nowhere.
// Streaming is a copy for log shippers; the ledger row is the record of truth, so a failing stream is reported,
// never a reason to deny.
import { createWriteStream } from 'node:fs';
import type { SebConfig } from '../config/schema.ts';

export interface AuditSink {
  /** undefined when streaming is off. */
  readonly sink: ((line: string) => void) | undefined;
  close(): Promise<void>;
}

export function openAuditSink(config: SebConfig['audit'], onError: (message: string) => void,
                              stdout: NodeJS.WritableStream = process.stdout): AuditSink {
  if (config.stream === 'off') return { sink: undefined, close: async () => {} };
  if (config.stream === 'stdout') return { sink: (line) => { stdout.write(`${line}\n`); }, close: async () => {} };
  const file = config.file!;
  const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  let failed = false;
  stream.on('error', (err) => {
    if (!failed) onError(`cannot append audit records to ${file} (audit.file): ${err.message}; they are still written to the ledger`);
    failed = true;
  });
  return {
    sink: (line) => { if (!failed) stream.write(`${line}\n`); },
    close: () => new Promise((resolve) => { if (stream.closed) resolve(); else { stream.once('close', () => resolve()); stream.end(); } }),
  };
}
