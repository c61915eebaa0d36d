// The SAB certificate v1 as TypeScript types. Each type is shaped so that a state the format forbids cannot be
// written down: a contract is either AWS (ARN targets, IAM action) or Kubernetes (object targets, API verb), never
// a mix; the admitted state is either per-path digests with their drift tolerance or an explicit waiver with a reason, never
// neither and never both; a range bound names at least one end. What types cannot say (exp > nbf, min <= max,
// string formats) schema.ts enforces.

/** Constants of the wire format. Changing any of them is a new format version. */
export const CERT_VERSION = 1;
/** Prefix of the signed bytes, so a signature made for anything else (decision records, other protocols) never
 * verifies as a certificate, and a v1 signature never verifies under a future v2. */
export const SIGNING_DOMAIN = 'seb-certificate-v1\n';
export const CERT_ALG = 'Ed25519';
/** The HTTP request header that carries a certificate. */
export const CERT_HEADER = 'seb-certificate';
/** Largest accepted encoded certificate, in characters of the header value, checked before any decoding. */
export const MAX_ENCODED_LENGTH = 16 * 1024;
/** Deepest accepted JSON nesting (envelope included); deep enough for Kubernetes patch bodies. */
export const MAX_JSON_DEPTH = 64;

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** An RFC 6901 JSON Pointer into the request parameters or the observed target state, e.g. "/spec/replicas". */
export type FieldPath = string;

export type Risk = 'low' | 'medium' | 'high' | 'critical';

/** The value at the path must lie in [min, max]; either end may be open, not both. */
export type RangeBound =
  | { readonly min: number; readonly max?: number; readonly oneOf?: never }
  | { readonly min?: never; readonly max: number; readonly oneOf?: never };

/** The value at the path must equal one of these (JSON equality). */
export interface OneOfBound {
  readonly oneOf: readonly JsonValue[];
  readonly min?: never;
  readonly max?: never;
}

export type Bound = RangeBound | OneOfBound;

/** Declared bounds by field path: at these paths the request may differ from `params` within the bound. */
export type Bounds = Readonly<Record<FieldPath, Bound>>;

/** An IAM action, `service:Action`, e.g. "ec2:AuthorizeSecurityGroupIngress" (it becomes the session policy). */
export type AwsAction = string;
/** An ARN, e.g. "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc". */
export type Arn = string;

export interface AwsContract {
  readonly platform: 'aws';
  readonly operation: AwsAction;
  readonly targets: readonly Arn[];
  readonly params: JsonValue;
  readonly bounds?: Bounds;
  readonly risk: Risk;
}

/** The Kubernetes API verbs that mutate one named object. deletecollection is not certifiable in v1. */
export type KubeVerb = 'create' | 'update' | 'patch' | 'delete';

/** One Kubernetes object, addressed the way the API path addresses it; group "" is the core group. */
export interface KubeTarget {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name: string;
  readonly subresource?: string;
}

export interface KubeContract {
  readonly platform: 'kube';
  readonly operation: KubeVerb;
  readonly targets: readonly KubeTarget[];
  readonly params: JsonValue;
  readonly bounds?: Bounds;
  readonly risk: Risk;
}

export type Contract = AwsContract | KubeContract;

export type StateDigest = `sha256:${string}`;

/** The SAB observed the target. `state` maps each covered field path (RFC 6901, into the target as the platform
 * adapter observes it) to the SHA-256 of the RFC 8785 JSON of the value there, or to ABSENT_DIGEST when the path
 * does not exist. Digests rather than values: the certificate never carries the target's data. Before executing,
 * the broker re-observes the same paths; drift is the fraction of paths whose digest changed, and epsilon (ε_C,
 * 0 ≤ ε < 1) is the largest tolerated drift: 0 means any change forces re-certification. */
export interface DriftCheck {
  readonly waived: false;
  readonly state: Readonly<Record<FieldPath, StateDigest>>;
  readonly epsilon: number;
}

/** The digest recorded for a path that does not exist: SHA-256 of zero bytes (no JSON text is empty). */
export const ABSENT_DIGEST: StateDigest = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The SAB deliberately skipped the drift check (e.g. creating an object that does not exist yet). */
export interface DriftWaiver {
  readonly waived: true;
  readonly reason: string;
}

export type Admitted = DriftCheck | DriftWaiver;

export interface CertificatePayload {
  readonly v: typeof CERT_VERSION;
  /** Certificate id, a lowercase RFC 9562 UUID. */
  readonly cid: string;
  /** The SAB that issued it. */
  readonly iss: string;
  /** The agent identity it was issued to. */
  readonly sub: string;
  readonly contract: Contract;
  readonly admitted: Admitted;
  /** Validity window, integer seconds since the Unix epoch; exp > nbf. */
  readonly nbf: number;
  readonly exp: number;
  readonly policyEpoch: number;
  readonly revocationEpoch: number;
  /** Single-use nonce, base64url without padding, 16 to 64 random bytes. */
  readonly nonce: string;
}

/** What travels (base64url of its JSON) in the Seb-Certificate header. Only `payload` is signed: `kid` is a lookup
 * hint (a wrong one simply fails to verify) and `alg` admits a single value. */
export interface Envelope {
  readonly payload: CertificatePayload;
  readonly kid: string;
  readonly alg: typeof CERT_ALG;
  readonly sig: string;
}
