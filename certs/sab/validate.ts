// Turns a parsed JSON value into a typed payload, or into one SEB_CERT_MALFORMED error whose message names the
// offending field: "missing field payload.nonce", "unknown field payload.contract.region",
// "payload.contract.targets[0]: must be an ARN ...". Only the first problem is reported; one is enough to deny.
import type { z } from 'zod';
import { sebError } from '../../errors/codes.ts';
import type { CertificatePayload } from './types.ts';
import { CERT_VERSION } from './types.ts';
import { PayloadSchema } from './schema.ts';
import { formatPath, preview } from './path.ts';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';

/** Validates `raw` (found at `prefix` in the envelope) as a v1 payload. */
export function validatePayload(raw: unknown, prefix: readonly PropertyKey[] = ['payload']): Result<CertificatePayload> {
  if (!isObject(raw)) return malformed(`${formatPath(prefix)}: must be a JSON object`);
  // The version decides which schema applies, so it is checked first and on its own: a v2 certificate should say
  // "unsupported version", not "unknown field" about whatever v2 added.
  if (!('v' in raw)) return malformed(`missing field ${formatPath([...prefix, 'v'])}`);
  if (raw.v !== CERT_VERSION) {
    return malformed(`unsupported certificate version ${preview(raw.v)} at ${formatPath([...prefix, 'v'])}; this seb reads v${CERT_VERSION}`);
  }
  const parsed = PayloadSchema.safeParse(raw);
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  return malformed(issue === undefined ? 'invalid payload' : describeIssue(issue, raw, prefix));
}

export function describeIssue(issue: z.core.$ZodIssue, root: unknown, prefix: readonly PropertyKey[]): string {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const fields = issue.keys.map((key) => formatPath([...path, key]));
    return `unknown field${fields.length > 1 ? 's' : ''} ${fields.join(', ')}`;
  }
  if (issue.code === 'invalid_key') {
    const key = path.at(-1);
    return `${formatPath(path.slice(0, -1))}: key ${preview(String(key))} ${issue.issues[0]?.message ?? 'is not allowed'}`;
  }
  const found = lookup(root, issue.path);
  if (!found.present) return `missing field ${formatPath(path)}`;
  if (issue.code === 'invalid_type') return `${formatPath(path)}: expected ${issue.expected}, got ${typeName(found.value)}`;
  return `${formatPath(path)}: ${issue.message}`;
}

function lookup(root: unknown, path: readonly PropertyKey[]): { present: boolean; value?: unknown } {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return { present: false };
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return { present: true, value };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return `non-integer number ${value}`;
  return typeof value === 'object' ? 'object' : `${typeof value} ${preview(value)}`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function malformed(message: string): Result<never> {
  return fail(sebError('SEB_CERT_MALFORMED', message));
}
