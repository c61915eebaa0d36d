// AWS as a platform of the gate: classification (parsers/aws), the executor identity, and denials in the error
// shape of the request's protocol, which the AWS CLI and SDKs print as "An error occurred (SEB_...) ...".
import { randomUUID } from 'node:crypto';
import { sebError, statusOf, type SebError } from '../../errors/codes.ts';
import { classifyAws } from '../../parsers/aws/classify.ts';
import type { DenialResponse, GateRequest, PlatformModule } from '../../pipeline/gate.ts';
import { agentIdentity, withoutCertificate } from '../agent-identity.ts';

const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function awsError(req: GateRequest, error: SebError): DenialResponse {
  const status = statusOf(error.code);
  const requestId = randomUUID();
  const base = { 'seb-denial-code': error.code, 'x-amzn-requestid': requestId };
  if (req.headers['x-amz-target']) {
    return { status, headers: { ...base, 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code }, body: JSON.stringify({ __type: error.code, message: error.message }) };
  }
  const message = `<Code>${error.code}</Code><Message>${xml(error.message)}</Message>`;
  if (req.host.startsWith('ec2.')) {
    return { status, headers: { ...base, 'content-type': 'text/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${message}</Error></Errors><RequestID>${requestId}</RequestID></Response>` };
  }
  if (req.url.searchParams.has('Action') || String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return { status, headers: { ...base, 'content-type': 'text/xml' }, body: `<ErrorResponse><Error><Type>Sender</Type>${message}</Error><RequestId>${requestId}</RequestId></ErrorResponse>` };
  }
  return { status, headers: { ...base, 'content-type': 'application/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${message}<RequestId>${requestId}</RequestId></Error>` };
}

export function awsPlatform(deps: { accountId: string | undefined }): PlatformModule {
  return {
    platform: 'aws',
    classify: (req) => classifyAws(req, { host: req.host, accountId: deps.accountId }),
    adapter: {
      platform: 'aws',
      observe: async () => ({ ok: false, error: sebError('SEB_DRIFT_UNOBSERVABLE', 'this version of seb has no AWS drift probes; the SAB must waive the drift check for AWS certificates') }),
      mint: async (cert) => agentIdentity('aws', cert),
    },
    authorize: (req) => ({ headers: withoutCertificate(req.headers) }),
    renderDenial: (req, error) => awsError(req, error),
  };
}
