// explain(): one readable line per field, safe to print to a terminal.
import { describe, expect, it } from 'vitest';
import { explain } from '../../certs/sab/index.ts';
import { awsPayload, kubePayload } from './fixtures.ts';

describe('explain', () => {
  it('describes every field of an AWS certificate', () => {
    const text = explain(awsPayload()).join('\n');
    for (const expected of [
      'format: SAB certificate v1',
      'certificate id (cid): 0b8e7a52-3c1d-4f6a-9b2e-5d4c3b2a1f00',
      'issued by (iss): sab.prod.example',
      'issued to agent (sub): system:serviceaccount:agents:ops-bot',
      'platform: AWS',
      'operation: ec2:AuthorizeSecurityGroupIngress',
      'target 1 of 1: arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0',
      'parameters (must match exactly unless bounded): {"GroupId":"sg-0123456789abcdef0","IpPermissions":[{"FromPort":443,"IpProtocol":"tcp","ToPort":443}]}',
      'bounds: none',
      'risk: high',
      `admitted state at "/IpPermissions": sha256:${'ab'.repeat(32)}`,
      'drift tolerance (epsilon): 0, any change to the target forces re-certification',
      'valid from (nbf): 2026-05-28T20:25:40.000Z (1779999940)',
      'valid until (exp): 2026-05-28T20:30:40.000Z (1780000240), a window of 300 s',
      'policy epoch: 7',
      'revocation epoch: 3',
      'nonce: q83vEjRWeJCrze8SNFZ4kA (single use)',
    ]) expect(text).toContain(expected);
  });

  it('describes Kubernetes targets, bounds and a drift waiver', () => {
    const lines = explain(kubePayload({
      contract: {
        ...kubePayload().contract,
        bounds: { '/spec/replicas': { min: 3, max: 10 }, '/spec/paused': { oneOf: [false] }, '/spec/minReadySeconds': { max: 30 } },
      } as never,
    }));
    expect(lines).toContain('platform: Kubernetes');
    expect(lines).toContain('target 1 of 1: deployments web (apps/v1, namespace shop) subresource scale');
    expect(lines).toContain('bound at "/spec/replicas": between 3 and 10 inclusive');
    expect(lines).toContain('bound at "/spec/paused": one of false');
    expect(lines).toContain('bound at "/spec/minReadySeconds": at most 30');
    expect(lines).toContain('drift check: WAIVED by the SAB, reason: "scale subresource carries no drift-sensitive state"');
  });

  it('quotes anything that could fake output or drive a terminal', () => {
    const lines = explain(awsPayload({ sub: 'agent\u001b[2J\nfake: line', iss: 'sab with spaces' }));
    for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f]/);
    expect(lines).toContain('issued to agent (sub): "agent\\u001b[2J\\nfake: line"');
    expect(lines).toContain('issued by (iss): "sab with spaces"');
  });
});

describe('explain escapes', () => {
  it('shows bidi overrides and other non-ASCII in params and reasons as \\u escapes', () => {
    const lines = explain(kubePayload({
      admitted: { waived: true, reason: 'looks fine \u202e evil' },
      contract: { ...kubePayload().contract, params: { note: 'caf\u00e9' } } as never,
    }));
    for (const line of lines) expect(line).toMatch(/^[\x20-\x7e]*$/);
    expect(lines).toContain('drift check: WAIVED by the SAB, reason: "looks fine \\u202e evil"');
    expect(lines).toContain('parameters (must match exactly unless bounded): {"note":"caf\\u00e9"}');
  });
});
