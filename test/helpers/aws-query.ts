// A minimal AWS Query-protocol client for tests (IAM, STS, EC2 against moto): form-encoded parameters, signed with
// @smithy/signature-v4 itself, so it is also the reference seb's own signer is compared with.
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HashConstructor } from '@smithy/types';

export interface TestAwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export const sha256 = Hash.bind(null, 'sha256') as unknown as HashConstructor;

export const API_VERSIONS: Record<string, string> = { iam: '2010-05-08', sts: '2011-06-15', ec2: '2016-11-15' };

/** Calls `action` at `url` (moto) as `credentials`; returns the status and the XML body. */
export async function awsQuery(url: string, opts: { service: string; region?: string; credentials: TestAwsCredentials; action: string; params?: Record<string, string> }): Promise<{ status: number; body: string }> {
  const region = opts.region ?? 'us-east-1';
  const target = new URL(url);
  const body = new URLSearchParams({ Action: opts.action, Version: API_VERSIONS[opts.service] ?? '', ...opts.params }).toString();
  const signer = new SignatureV4({ service: opts.service, region, credentials: opts.credentials, sha256 });
  const signed = await signer.sign({
    method: 'POST', protocol: target.protocol, hostname: target.hostname, port: Number(target.port), path: '/', query: {},
    headers: { host: target.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
  });
  const res = await fetch(`${target.origin}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body });
  return { status: res.status, body: await res.text() };
}

/** The text of the first <name> element. */
export function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}
