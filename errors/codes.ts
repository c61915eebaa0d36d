// One registry of seb's stable machine codes. Every denial or refusal names one of these; the code never changes
// meaning once released, the message may improve. `status` is the HTTP status a plain-HTTP client sees when no
// platform adapter renders the denial in its own error shape.

export interface CodeInfo {
  readonly status: number;
  /** What happened, in words an operator can act on. */
  readonly summary: string;
}

export const CODES = {
  // proxy / transport
  SEB_HOST_NOT_ALLOWED: { status: 403, summary: 'the destination host is neither intercepted nor tunnelled' },
  SEB_BAD_REQUEST: { status: 400, summary: 'the request is malformed' },
  SEB_HOST_MISMATCH: { status: 421, summary: 'the Host header or TLS server name differs from the CONNECT destination' },
  SEB_HEADERS_TOO_LARGE: { status: 431, summary: 'the request headers exceed limits.maxHeaderBytes' },
  SEB_BODY_TOO_LARGE: { status: 413, summary: 'the request body exceeds limits.maxBodyBytes' },
  SEB_TIMEOUT: { status: 408, summary: 'the client was too slow to send its request' },
  SEB_NO_UPSTREAM: { status: 502, summary: 'seb does not know where to forward this request' },
  SEB_UPSTREAM_UNAVAILABLE: { status: 502, summary: 'the upstream API could not be reached' },
  SEB_AGENT_AUTH: { status: 403, summary: 'the request is not signed with the AWS credentials seb issued to this agent' },
  SEB_PRESIGNED_UNSUPPORTED: { status: 400, summary: 'presigned requests (signature in the query string) are not accepted; sign with an Authorization header' },
  SEB_STREAMING_UNSUPPORTED: { status: 400, summary: 'chunk-signed uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are not supported; disable chunked signing in the client' },
  SEB_SIGV4A_UNSUPPORTED: { status: 400, summary: 'SigV4a (AWS4-ECDSA-P256-SHA256, multi-region) signatures are not supported; use a regional endpoint and SigV4' },
  SEB_UNAUTHORISED: { status: 401, summary: 'the local API call lacks the admin bearer token' },
  SEB_INTERNAL: { status: 500, summary: 'seb failed while handling the request and refused it' },
  SEB_SHUTTING_DOWN: { status: 503, summary: 'seb is shutting down and accepts no new requests' },

  // certificates and the verification pipeline
  SEB_REQUEST_UNSUPPORTED: { status: 403, summary: 'seb cannot express this mutation as a contract, so no certificate can authorise it' },
  SEB_CERT_MISSING: { status: 403, summary: 'the mutation carries no SAB certificate' },
  SEB_CERT_AMBIGUOUS: { status: 403, summary: 'more than one staged certificate matches the request' },
  SEB_CERT_MALFORMED: { status: 403, summary: 'the SAB certificate cannot be decoded' },
  SEB_UNKNOWN_KEY: { status: 403, summary: 'the certificate is signed with a key id that is not trusted' },
  SEB_SIGNATURE: { status: 403, summary: 'the certificate signature does not verify' },
  SEB_SUBJECT_MISMATCH: { status: 403, summary: 'the certificate was issued for another agent' },
  SEB_CONTRACT_MISMATCH: { status: 403, summary: 'the request is not the change the certificate authorises' },
  SEB_NOT_YET_VALID: { status: 403, summary: 'the certificate is not valid yet' },
  SEB_EXPIRED: { status: 403, summary: 'the certificate has expired' },
  SEB_POLICY_EPOCH: { status: 403, summary: 'the certificate was issued under another policy epoch' },
  SEB_REVOKED: { status: 403, summary: 'the certificate has been revoked' },
  SEB_REVOCATION_UNKNOWN: { status: 403, summary: 'the revocation state is not known fresh enough' },
  SEB_REPLAY: { status: 403, summary: 'the certificate nonce has already been used' },
  SEB_DRIFT: { status: 403, summary: 'the target changed since the SAB certified it' },
  SEB_DRIFT_UNOBSERVABLE: { status: 403, summary: 'the target state cannot be observed' },
  SEB_MINT_FAILED: { status: 502, summary: 'seb could not mint an executor identity' },
  SEB_POLICY_TOO_LARGE: { status: 403, summary: 'the executor session for this certificate would exceed STS\'s size limits (session policy, tags); certify fewer resources per certificate' },
  SEB_LEDGER_UNAVAILABLE: { status: 503, summary: 'the ledger (nonces, epochs, revocations) is unavailable' },

  // the validating admission webhook (seb webhook serve)
  SEB_ADMISSION_MALFORMED: { status: 400, summary: 'the AdmissionReview sent to the webhook is malformed' },
  SEB_ADMISSION_UNBROKERED: { status: 403, summary: 'the change in a protected namespace was not made by an executor identity seb minted for a recorded execution' },
  SEB_ADMISSION_EXPIRED: { status: 403, summary: 'the executor identity belongs to an execution whose certificate or token has expired' },
  SEB_ADMISSION_PRINCIPAL_MISMATCH: { status: 403, summary: 'the executor credential is used by another user than the one seb minted it for' },
  SEB_ADMISSION_ATTESTATION_MISSING: { status: 403, summary: 'the object lacks the seb.openkedge.io/cid and /nonce annotations of its execution' },
  SEB_ADMISSION_ATTESTATION_FORGED: { status: 403, summary: 'the object carries seb attestation annotations that do not belong to the execution of its credential' },
  SEB_ADMISSION_EXECUTION_FINISHED: { status: 403, summary: 'the executor identity belongs to an execution that has finished (its outcome is recorded), so its credential serves no further request' },
  SEB_ADMISSION_IMPERSONATED: { status: 403, summary: 'the request claims an execution\'s credential id through impersonation instead of presenting the token seb minted' },

  // sidecar injection (the mutating webhook, seb inject)
  SEB_INJECT_REFUSED: { status: 403, summary: 'a pod that opted in to seb\'s sidecar cannot be given it as it is (the message says what to change)' },
  SEB_INJECT_REQUIRED: { status: 403, summary: 'a pod running as seb\'s identity (a broker ServiceAccount) lacks seb\'s sidecar or would let another container reach seb\'s token (ValidatingAdmissionPolicy seb-broker-pods)' },
} as const satisfies Record<string, CodeInfo>;

export type SebCode = keyof typeof CODES;

/** An error as a value: a stable code, a message for the operator, and optionally what caused it. */
export interface SebError {
  readonly code: SebCode;
  readonly message: string;
  readonly cause?: unknown;
}

export function sebError(code: SebCode, message: string, cause?: unknown): SebError {
  return cause === undefined ? { code, message } : { code, message, cause };
}

export function statusOf(code: SebCode): number {
  return CODES[code].status;
}
