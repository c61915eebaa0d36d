// Where audit records are streamed besides the ledger (config `audit`): stdout, an appended file, or nowhere; a
// broken file is reported once and never throws into the writer.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openAuditSink } from '../../audit/sink.ts';
import { configSchema } from '../../config/schema.ts';
import { tempDir } from '../helpers/seb.ts';

describe('audit sink', () => {
  it('defaults to stdout and needs audit.file for stream "file"', () => {
    expect(configSchema.parse({}).audit).toEqual({ stream: 'stdout' });
    const missing = configSchema.safeParse({ audit: { stream: 'file' } });
    expect(missing.success).toBe(false);
    expect(missing.error?.issues[0]).toMatchObject({ path: ['audit', 'file'], message: 'audit.stream "file" needs audit.file' });
  });

  it('writes one line per record to stdout, appends to a file (mode 0600), or does nothing', async () => {
    const stdout = new PassThrough();
    let written = '';
    stdout.on('data', (d: Buffer) => { written += d.toString(); });
    openAuditSink({ stream: 'stdout' }, () => {}, stdout).sink!('{"type":"seb.audit","seq":1}');
    expect(written).toBe('{"type":"seb.audit","seq":1}\n');

    const file = path.join(await tempDir(), 'audit.jsonl');
    for (const seq of [1, 2]) {
      const s = openAuditSink({ stream: 'file', file }, () => {});
      s.sink!(`{"seq":${seq}}`);
      await s.close();
    }
    expect(await readFile(file, 'utf8')).toBe('{"seq":1}\n{"seq":2}\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(openAuditSink({ stream: 'off' }, () => {}).sink).toBeUndefined();
  });

  it('reports a file it cannot write once, and keeps going', async () => {
    const errors: string[] = [];
    const s = openAuditSink({ stream: 'file', file: path.join(await tempDir(), 'missing-dir', 'audit.jsonl') }, (m) => errors.push(m));
    s.sink!('{"seq":1}');
    await s.close();
    s.sink!('{"seq":2}');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot append audit records to .*audit\.jsonl \(audit\.file\): ENOENT.*; they are still written to the ledger/);
  });
});
