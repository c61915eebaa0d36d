// Reads the SigV4 credential scope (access key, date, region, service) from an Authorization header or a
// presigned query. Parsing only: verification and re-signing come with the AWS platform adapter.
export interface CredentialScope {
  readonly accessKeyId: string;
  readonly date: string; // YYYYMMDD
  readonly region: string;
  readonly service: string;
}

const SCOPE = /^([A-Za-z0-9]{1,128})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,64})\/aws4_request$/;

export function parseCredential(credential: string): CredentialScope | undefined {
  const m = SCOPE.exec(credential);
  if (!m) return undefined;
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]! };
}

/** The credential scope from `Authorization: AWS4-HMAC-SHA256 Credential=...` or `X-Amz-Credential=` in the query. */
export function credentialScopeOf(authorization: string | undefined, query: URLSearchParams): CredentialScope | undefined {
  if (authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
    const m = /(?:^|[\s,])Credential=([^,\s]+)/.exec(authorization.slice('AWS4-HMAC-SHA256 '.length));
    return m ? parseCredential(m[1]!) : undefined;
  }
  const presigned = query.get('X-Amz-Credential');
  return presigned ? parseCredential(presigned) : undefined;
}

export function isAwsSigned(authorization: string | undefined, query: URLSearchParams): boolean {
  return Boolean(authorization?.startsWith('AWS4-') || query.has('X-Amz-Algorithm') || query.has('X-Amz-Credential'));
}
