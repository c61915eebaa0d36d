// The executor identity used until a platform's minting is configured: the agent's own credentials carry the
// certified call (the pipeline has still checked it). With minting (STS AssumeRole, TokenRequest) the agent
// holds no mutation rights at all; this mode is for adoption and development, and says so in every record.
import type { VerifiedCertificate } from '../certs/sab/verify.ts';
import type { ExecutorIdentity, PlatformName, Result } from '../pipeline/types.ts';
export { withoutCertificate } from '../pipeline/gate.ts';

export function agentIdentity(platform: PlatformName, cert: VerifiedCertificate): Result<ExecutorIdentity> {
  return { ok: true, value: { platform, principal: 'agent credentials (no executor minting configured)', expiresAt: cert.payload.exp, credentials: null } };
}
