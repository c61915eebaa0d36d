// The executor identity for one certified AWS mutation: STS AssumeRole on the executor role, narrowed by a session
// policy to exactly the certified action on exactly the certified resources, and only until the certificate
// expires (STS cannot issue a session shorter than 900 s; the aws:CurrentTime condition ends its power sooner).
// The session carries the cid as SourceIdentity (kept in CloudTrail through any role chaining) and cid and nonce
// as session tags. A request over STS's documented size limits is refused before STS is called.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { sebError } from '../../errors/codes.ts';
import type { VerifiedCertificate } from '../../certs/sab/verify.ts';
import type { ExecutorIdentity, Result } from '../../pipeline/types.ts';
import type { AwsCredentials } from './sigv4.ts';

export const SESSION_SECONDS = 900; // the STS minimum

export interface StsConfig {
  /** seb's own credentials for STS (and for reads); undefined: the SDK's default credential chain. */
  readonly credentials?: AwsCredentials | undefined;
  /** Where STS is reached (upstreams.aws when set: moto, LocalStack); undefined: the regional STS endpoint. */
  readonly endpoint?: string | undefined;
}

/** One STS client per region, with seb's credentials; also the source of those credentials for re-signed reads. */
export interface Sts {
  client(region: string): STSClient;
  credentials(region: string): Promise<AwsCredentials>;
}

export function createSts(config: StsConfig): Sts {
  const clients = new Map<string, STSClient>();
  const client = (region: string) => {
    let c = clients.get(region);
    if (!c) {
      c = new STSClient({
        region,
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        ...(config.credentials ? { credentials: { accessKeyId: config.credentials.accessKeyId, secretAccessKey: config.credentials.secretAccessKey, ...(config.credentials.sessionToken ? { sessionToken: config.credentials.sessionToken } : {}) } } : {}),
        maxAttempts: 2,
      });
      clients.set(region, c);
    }
    return c;
  };
  return {
    client,
    async credentials(region) {
      if (config.credentials) return config.credentials;
      const c = await client(region).config.credentials();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
    },
  };
}

/** The session policy: the certified action on the certified resources, until the certificate's expiry. */
export function sessionPolicy(cert: VerifiedCertificate): string {
  const { contract, exp } = cert.payload;
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{
      Sid: 'SebCertifiedChange',
      Effect: 'Allow',
      Action: contract.operation,
      Resource: [...contract.targets],
      Condition: { DateLessThan: { 'aws:CurrentTime': new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') } },
    }],
  });
}

/** RoleSessionName and SourceIdentity: [\w+=,.@-], 2 to 64 characters; a cid of other characters is hex-encoded. */
export function sessionName(cid: string): string {
  const safe = /^[\w+=,.@-]+$/.test(cid) ? cid : Buffer.from(cid, 'utf8').toString('hex');
  return `seb-${safe}`.slice(0, 64);
}

/** Session tag values: letters, digits, spaces and _.:/=+-@, up to 256 characters; anything else is hex-encoded. */
export function tagValue(value: string): string {
  if (/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u.test(value)) return value;
  const hex = `hex:${Buffer.from(value, 'utf8').toString('hex')}`;
  return hex.slice(0, 256);
}

/** AssumeRole's documented limits (STS API reference, AssumeRole and Tag): the plaintext of the inline session
 * policy, the session tags, and the SourceIdentity / RoleSessionName. STS also packs policy and tags into a binary
 * form with its own, undocumented limit (PackedPolicyTooLargeException), which only STS can judge. */
export const STS_LIMITS = { policyChars: 2048, tags: 50, tagKeyChars: 128, tagValueChars: 256, nameMinChars: 2, nameMaxChars: 64 } as const;

export interface AssumeRoleSizes {
  readonly policy: string;
  readonly tags: ReadonlyArray<{ readonly Key: string; readonly Value: string }>;
  readonly sourceIdentity: string;
  readonly roleSessionName: string;
}

/** Why STS would refuse this AssumeRole for its size; undefined when it fits the documented limits. */
export function stsSizeProblem(req: AssumeRoleSizes): string | undefined {
  const L = STS_LIMITS;
  if (req.policy.length > L.policyChars) return `the session policy is ${req.policy.length} characters, over STS's limit of ${L.policyChars} for an inline session policy`;
  if (req.tags.length > L.tags) return `${req.tags.length} session tags, over STS's limit of ${L.tags}`;
  for (const t of req.tags) {
    if (t.Key.length < 1 || t.Key.length > L.tagKeyChars) return `session tag key ${JSON.stringify(t.Key.slice(0, 40))} is ${t.Key.length} characters, STS allows 1 to ${L.tagKeyChars}`;
    if (t.Value.length > L.tagValueChars) return `session tag ${t.Key} has a value of ${t.Value.length} characters, over STS's limit of ${L.tagValueChars}`;
  }
  for (const [field, value] of [['SourceIdentity', req.sourceIdentity], ['RoleSessionName', req.roleSessionName]] as const) {
    if (value.length < L.nameMinChars || value.length > L.nameMaxChars) return `${field} is ${value.length} characters, STS allows ${L.nameMinChars} to ${L.nameMaxChars}`;
  }
  return undefined;
}

export async function assumeExecutorRole(sts: Sts, roleArn: string, cert: VerifiedCertificate, region: string): Promise<Result<ExecutorIdentity>> {
  const { contract, cid, nonce, exp } = cert.payload;
  if (contract.platform !== 'aws') return fail('not an AWS certificate');
  const name = sessionName(cid);
  const request = {
    policy: sessionPolicy(cert),
    tags: [{ Key: 'seb:cid', Value: tagValue(cid) }, { Key: 'seb:nonce', Value: tagValue(nonce) }],
    sourceIdentity: name,
    roleSessionName: name,
  };
  const tooLarge = (why: string): Result<ExecutorIdentity> => ({
    ok: false,
    error: sebError('SEB_POLICY_TOO_LARGE', `AssumeRole on ${roleArn} for certificate ${cid} (${contract.operation} on ${contract.targets.length} resource(s)): ${why}; certify fewer resources per certificate (split the change into several certificates)`),
  });
  const problem = stsSizeProblem(request);
  if (problem) return tooLarge(problem);
  let out;
  try {
    out = await sts.client(region).send(new AssumeRoleCommand({
      RoleArn: roleArn,
      RoleSessionName: request.roleSessionName,
      SourceIdentity: request.sourceIdentity,
      DurationSeconds: SESSION_SECONDS,
      Policy: request.policy,
      Tags: request.tags,
    }));
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (e.name === 'PackedPolicyTooLargeException') return tooLarge(`the session policy and tags exceed STS's packed size limit (${e.message ?? 'PackedPolicyTooLargeException'})`);
    return fail(`AssumeRole on ${roleArn} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
  }
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) return fail(`AssumeRole on ${roleArn} returned no credentials`);
  const expiresAt = Math.min(exp, c.Expiration ? Math.floor(c.Expiration.getTime() / 1000) : exp);
  const credentials: AwsCredentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  return {
    ok: true,
    value: {
      platform: 'aws',
      principal: out.AssumedRoleUser?.Arn ?? `${roleArn} (session ${name})`,
      expiresAt,
      credentialId: c.AccessKeyId,
      credentials,
    },
  };
}

function fail(message: string): Result<ExecutorIdentity> {
  return { ok: false, error: sebError('SEB_MINT_FAILED', message) };
}
