// zod schemas for the v1 payload. Every object is strict (an unknown field is an error, never ignored: a field the
// broker does not understand might be a restriction the SAB meant to impose), and every format error says what
// the field must look like. The schema only checks shape; whether a request matches is the pipeline's business.
import { z } from 'zod';
import canonicalize from 'canonicalize';
import type { Admitted, Bound, CertificatePayload, Contract, JsonValue, KubeTarget } from './types.ts';
import { CERT_VERSION } from './types.ts';

const CONTROL = /\p{Cc}/u;
// Format characters (bidi overrides, zero-width) make two identities look alike; identifiers may not carry them.
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const AWS_ACTION = /^[a-z0-9-]+:[A-Za-z0-9]+$/;
const ARN = /^arn:[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]*:[a-z0-9-]*:[^\s\p{Cc}]+$/u;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KUBE_NAME = /^[^/%\s\p{Cc}]+$/u;
const POINTER = /^(\/([^~/]|~[01])*)*$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Human-readable text: no control characters, which could forge log lines. */
const text = (max: number, forbidden: RegExp, what: string) =>
  z.string().min(1, { error: 'must not be empty' }).max(max, { error: `must be at most ${max} characters` })
    .refine((s) => !forbidden.test(s), { error: `must not contain ${what}` });
const identifier = () => text(256, CONTROL_OR_FORMAT, 'control or format characters');

const epoch = z.int({ error: (issue) => (issue.code === 'too_big' ? 'must be at most 2^53 - 1' : 'must be an integer') })
  .min(0, { error: 'must not be negative' });

export const FieldPathSchema = z.string().max(512, { error: 'must be at most 512 characters' })
  .regex(POINTER, { error: 'must be an RFC 6901 JSON Pointer such as "/spec/replicas"' });

const unique = (items: readonly unknown[]) => new Set(items.map((item) => canonicalize(item))).size === items.length;

const JsonSchema: z.ZodType<JsonValue> = z.json();

const BoundSchema: z.ZodType<Bound> = z.union([
  z.strictObject({ min: z.number(), max: z.number().optional() }),
  z.strictObject({ max: z.number() }),
  z.strictObject({ oneOf: z.array(JsonSchema).min(1, { error: 'oneOf must list at least one value' }) }),
], { error: 'must be {"min":n,"max":n} (one end may be left out) or {"oneOf":[...]}' })
  // Checked after the union so the message is this one, not the union's generic one.
  .refine((b: Bound) => b.min === undefined || b.max === undefined || b.min <= b.max, { error: 'min must not exceed max' });

const BoundsSchema = z.record(FieldPathSchema, BoundSchema)
  .refine((b) => Object.keys(b).length > 0, { error: 'must not be empty (leave bounds out instead)' });

const RiskSchema = z.enum(['low', 'medium', 'high', 'critical'], {
  error: "must be one of 'low', 'medium', 'high', 'critical'",
});

const AwsContractSchema = z.strictObject({
  platform: z.literal('aws'),
  operation: z.string().max(128).regex(AWS_ACTION, { error: 'must be an IAM action such as "ec2:RunInstances"' }),
  targets: z.array(
    z.string().max(2048).regex(ARN, { error: 'must be an ARN such as "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"' }),
  ).min(1, { error: 'must list at least one target' }).refine(unique, { error: 'must not list a target twice' }),
  params: JsonSchema,
  bounds: BoundsSchema.optional(),
  risk: RiskSchema,
});

const KubeTargetSchema: z.ZodType<KubeTarget> = z.strictObject({
  group: z.string().max(253).refine((g) => g === '' || DNS_SUBDOMAIN.test(g), {
    error: 'must be "" (core) or an API group such as "apps"',
  }),
  version: z.string().max(63).regex(DNS_LABEL, { error: 'must be an API version such as "v1"' }),
  resource: z.string().max(63).regex(DNS_LABEL, { error: 'must be a lowercase plural resource such as "deployments"' }),
  namespace: z.string().max(63).regex(DNS_LABEL, { error: 'must be a namespace name (DNS label)' }).optional(),
  name: z.string().max(253).regex(KUBE_NAME, { error: 'must be an object name (no "/", "%", spaces or controls)' })
    .refine((n) => n !== '.' && n !== '..', { error: 'must not be "." or ".."' }),
  subresource: z.string().max(63).regex(DNS_LABEL, { error: 'must be a subresource such as "scale"' }).optional(),
});

const KubeContractSchema = z.strictObject({
  platform: z.literal('kube'),
  operation: z.enum(['create', 'update', 'patch', 'delete'], {
    error: "must be one of 'create', 'update', 'patch', 'delete'",
  }),
  targets: z.array(KubeTargetSchema).min(1, { error: 'must list at least one target' })
    .refine(unique, { error: 'must not list a target twice' }),
  params: JsonSchema,
  bounds: BoundsSchema.optional(),
  risk: RiskSchema,
});

export const ContractSchema: z.ZodType<Contract> = z.discriminatedUnion('platform', [AwsContractSchema, KubeContractSchema], {
  error: "platform must be 'aws' or 'kube'",
});

export const AdmittedSchema: z.ZodType<Admitted> = z.discriminatedUnion('waived', [
  z.strictObject({
    waived: z.literal(false),
    state: z.record(FieldPathSchema, z.custom<`sha256:${string}`>((d) => typeof d === 'string' && DIGEST.test(d), {
      error: 'must be "sha256:" followed by 64 lowercase hex digits',
    })).refine((r) => Object.keys(r).length > 0, { error: 'must cover at least one field path' }),
    epsilon: z.number({ error: 'must be a number' }).min(0, { error: 'must not be negative' })
      .lt(1, { error: 'must be below 1 (the tolerated fraction of changed paths)' }),
  }),
  z.strictObject({ waived: z.literal(true), reason: text(1024, CONTROL, 'control characters') }),
], { error: 'waived must be false (with state, epsilon) or true (with reason)' });

export const NonceSchema = z.string().regex(BASE64URL, { error: 'must be unpadded base64url' })
  // 22 characters carry 16 bytes (128 bits), 86 carry 64; a length of 4n+1 decodes to nothing.
  .min(22, { error: 'must carry at least 16 bytes (22 base64url characters)' })
  .max(86, { error: 'must carry at most 64 bytes (86 base64url characters)' })
  .refine((n) => n.length % 4 !== 1 && Buffer.from(n, 'base64url').toString('base64url') === n, {
    error: 'must be canonical unpadded base64url',
  });

export const PayloadSchema: z.ZodType<CertificatePayload> = z.strictObject({
  v: z.literal(CERT_VERSION),
  cid: z.string().regex(UUID, { error: 'must be a lowercase RFC 9562 UUID' }),
  iss: identifier(),
  sub: identifier(),
  contract: ContractSchema,
  admitted: AdmittedSchema,
  nbf: epoch,
  exp: epoch,
  policyEpoch: epoch,
  revocationEpoch: epoch,
  nonce: NonceSchema,
}).refine((p) => p.exp > p.nbf, { error: 'must be later than nbf', path: ['exp'] });

export const KeyIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, {
  error: 'must be 1-128 characters of A-Z a-z 0-9 . _ : -',
});
