// The malformed-certificate corpus: every way a Seb-Certificate header can be broken before any cryptography, each
// rejected with SEB_CERT_MALFORMED and a message naming what is wrong — never an exception.
import { describe, expect, it } from 'vitest';
import { decodeCertificate, generateSigningKey, MAX_ENCODED_LENGTH } from '../../certs/sab/index.ts';
import { awsPayload, encodeText, envelopeOf, kubePayload, signed } from './fixtures.ts';

const key = generateSigningKey('sab-test');
const valid = signed(awsPayload(), key);
const validKube = signed(kubePayload(), key);

// The corpus edits envelopes freely, far outside what the types allow.
type Mutable = Record<string, any>;

/** The valid envelope, changed by `edit`, re-encoded (the signature no longer matters: decoding fails first). */
function mutated(edit: (envelope: Mutable) => void, base = valid): string {
  const envelope = structuredClone(envelopeOf(base)) as Mutable;
  edit(envelope);
  return encodeText(JSON.stringify(envelope));
}

/** The valid envelope as JSON text with `from` replaced by `to` (for what JSON.stringify cannot produce). */
function edited(from: string, to: string, base = valid): string {
  const text = Buffer.from(base, 'base64url').toString('utf8');
  if (!text.includes(from)) throw new Error(`fixture does not contain ${from}`);
  return encodeText(text.replace(from, to));
}

function expectMalformed(header: string, message: RegExp): void {
  const result = decodeCertificate(header);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe('SEB_CERT_MALFORMED');
  expect(result.error.message).toMatch(message);
}

describe('decodeCertificate accepts', () => {
  it('a signed AWS and a signed Kubernetes certificate', () => {
    const aws = decodeCertificate(valid);
    const kube = decodeCertificate(validKube);
    expect(aws.ok && aws.value.payload).toEqual(awsPayload());
    expect(kube.ok && kube.value.payload).toEqual(kubePayload());
    expect(aws.ok && aws.value.kid).toBe('sab-test');
    expect(aws.ok && aws.value.signature.length).toBe(64);
  });
});

describe('malformed corpus: transport', () => {
  it('empty', () => expectMalformed('', /empty/));
  it('oversized, judged on length before decoding (even garbage gets the size message)', () => {
    expectMalformed('A'.repeat(MAX_ENCODED_LENGTH + 1), /16385 characters encoded; the limit is 16384/);
    expectMalformed('!'.repeat(MAX_ENCODED_LENGTH + 1), /the limit is 16384/);
  });
  it('a caller-chosen smaller limit', () => {
    const result = decodeCertificate(valid, { maxLength: 100 });
    expect(!result.ok && result.error.message).toMatch(/the limit is 100/);
  });
  it('base64 alphabet instead of base64url', () => expectMalformed(`${valid.slice(0, 8)}+/${valid.slice(10)}`, /character "\+" at position 8/));
  it('padding', () => expectMalformed(`${valid}==`, /padding '='/));
  it('whitespace inside', () => expectMalformed(`${valid.slice(0, 20)} ${valid.slice(20)}`, /character " " at position 20/));
  it('truncated to an impossible length (4n+1 characters)', () => expectMalformed(valid.slice(0, 41), /length 41 .*truncated/));
  it('non-canonical trailing bits', () => expectMalformed('QR', /non-canonical/));
  it('every truncation of a valid certificate is MALFORMED, never a throw', () => {
    for (let length = 1; length < valid.length; length += 7) {
      const result = decodeCertificate(valid.slice(0, length));
      expect(result.ok, `length ${length}`).toBe(false);
      expect(!result.ok && result.error.code).toBe('SEB_CERT_MALFORMED');
    }
  });
  it('random byte corruption of a valid envelope is either still valid or MALFORMED, never a throw', () => {
    const bytes = Buffer.from(valid, 'base64url');
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const copy = Buffer.from(bytes);
      for (let flips = 1 + (next() % 3); flips > 0; flips--) copy[next() % copy.length] = next() % 256;
      const result = decodeCertificate(copy.toString('base64url'));
      if (!result.ok) expect(result.error.code).toBe('SEB_CERT_MALFORMED');
    }
  });

  it('not UTF-8', () => expectMalformed(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url'), /not valid UTF-8/));
  it('not JSON', () => expectMalformed(encodeText('hello'), /not JSON/));
  it('JSON with a byte-order mark', () => expectMalformed(encodeText('\ufeff{}'), /not JSON/));
  it('JSON with a raw control character in a string', () => expectMalformed(edited('"sab-test"', '"sab\ttest"'), /not JSON/));
  it('JSON followed by more JSON', () => expectMalformed(encodeText('{}{}'), /not JSON/));
  it('JSON that is not an object', () => {
    expectMalformed(encodeText('[]'), /envelope must be a JSON object/);
    expectMalformed(encodeText('null'), /envelope must be a JSON object/);
  });
  it('nesting deeper than 64', () => expectMalformed(
    mutated((e) => { e.payload.contract.params = JSON.parse(`${'['.repeat(70)}${']'.repeat(70)}`); }),
    /nests deeper than 64/,
  ));
});

describe('malformed corpus: duplicate keys (I-JSON)', () => {
  it('top level', () => expectMalformed(edited('"kid":"sab-test"', '"kid":"sab-test","kid":"other"'), /duplicate key kid/));
  it('in the payload', () => expectMalformed(edited('"nbf":', '"nbf":1,"nbf":'), /duplicate key payload\.nbf/));
  it('nested in the contract', () => expectMalformed(edited('"platform":"aws"', '"platform":"aws","platform":"kube"'), /duplicate key payload\.contract\.platform/));
  it('deep inside params', () => expectMalformed(edited('"FromPort":443', '"FromPort":443,"FromPort":22'), /duplicate key payload\.contract\.params\.IpPermissions\[0\]\.FromPort/));
  it('spelled differently with an escape', () => expectMalformed(edited('"kid":"sab-test"', '"kid":"sab-test","\\u006bid":"x"'), /duplicate key kid/));
  it('__proto__ members are refused', () => expectMalformed(edited('"GroupId"', '"__proto__":{},"GroupId"'), /"__proto__" is not allowed/));
});

describe('malformed corpus: envelope', () => {
  it('unknown field', () => expectMalformed(mutated((e) => { e.x5u = 'https://evil.example/key'; }), /unknown field "x5u" in envelope/));
  it('missing sig', () => expectMalformed(mutated((e) => { delete e.sig; }), /missing field sig/));
  it('missing payload', () => expectMalformed(mutated((e) => { delete e.payload; }), /missing field payload/));
  it('alg none', () => expectMalformed(mutated((e) => { e.alg = 'none'; }), /alg must be "Ed25519", got "none"/));
  it('alg EdDSA', () => expectMalformed(mutated((e) => { e.alg = 'EdDSA'; }), /alg must be "Ed25519"/));
  it('kid of the wrong type', () => expectMalformed(mutated((e) => { e.kid = 42; }), /^kid:/));
  it('kid with a path in it', () => expectMalformed(mutated((e) => { e.kid = '../../etc/passwd'; }), /^kid:/));
  it('sig of the wrong type', () => expectMalformed(mutated((e) => { e.sig = null; }), /sig must be a base64url string, got null/));
  it('sig too short', () => expectMalformed(mutated((e) => { e.sig = e.sig.slice(0, 84); }), /sig must be 64 bytes, got 63/));
  it('sig in padded base64', () => expectMalformed(mutated((e) => { e.sig = `${e.sig}==`; }), /sig is not base64url/));
  it('payload not an object', () => expectMalformed(mutated((e) => { e.payload = 'x'; }), /payload: must be a JSON object/));
});

describe('malformed corpus: payload', () => {
  const cases: [string, (p: Mutable) => void, RegExp][] = [
    ['unknown version', (p) => { p.v = 2; }, /unsupported certificate version 2 at payload\.v; this seb reads v1/],
    ['version as a string', (p) => { p.v = '1'; }, /unsupported certificate version "1"/],
    ['missing version', (p) => { delete p.v; }, /missing field payload\.v$/],
    ['unknown field', (p) => { p.region = 'eu-west-1'; }, /unknown field payload\.region/],
    ['unknown nested field', (p) => { p.contract.region = 'x'; }, /unknown field payload\.contract\.region/],
    ['missing nonce', (p) => { delete p.nonce; }, /missing field payload\.nonce/],
    ['missing contract', (p) => { delete p.contract; }, /missing field payload\.contract$/],
    ['nbf as a string', (p) => { p.nbf = String(p.nbf); }, /payload\.nbf: expected (int|number), got string/],
    ['nbf not an integer', (p) => { p.nbf = 1.5; }, /payload\.nbf: (expected int|must be an integer)/],
    ['negative policy epoch', (p) => { p.policyEpoch = -1; }, /payload\.policyEpoch: must not be negative/],
    ['revocation epoch beyond 2^53', (p) => { p.revocationEpoch = 2 ** 53; }, /payload\.revocationEpoch: must be at most 2\^53 - 1/],
    ['exp not after nbf', (p) => { p.exp = p.nbf; }, /payload\.exp: must be later than nbf/],
    ['uppercase cid', (p) => { p.cid = p.cid.toUpperCase(); }, /payload\.cid: must be a lowercase RFC 9562 UUID/],
    ['nonce of 15 bytes', (p) => { p.nonce = 'q83vEjRWeJCrze8SNFZ4'; }, /payload\.nonce: must carry at least 16 bytes/],
    ['nonce with padding', (p) => { p.nonce = 'q83vEjRWeJCrze8SNFZ4kA=='; }, /payload\.nonce: must be unpadded base64url/],
    ['empty subject', (p) => { p.sub = ''; }, /payload\.sub: must not be empty/],
    ['issuer with a terminal escape', (p) => { p.iss = 'sab\u001b[31m'; }, /payload\.iss: must not contain control or format characters/],
    ['unknown platform', (p) => { p.contract.platform = 'gcp'; }, /payload\.contract\.platform: platform must be 'aws' or 'kube'/],
    ['AWS target that is not an ARN', (p) => { p.contract.targets = ['sg-0123']; }, /payload\.contract\.targets\[0\]: must be an ARN/],
    ['targets not an array', (p) => { p.contract.targets = 'arn:aws:s3:::b'; }, /payload\.contract\.targets: expected array, got string/],
    ['no targets', (p) => { p.contract.targets = []; }, /payload\.contract\.targets: must list at least one target/],
    ['a target twice', (p) => { p.contract.targets.push(p.contract.targets[0]); }, /must not list a target twice/],
    ['operation that is not an IAM action', (p) => { p.contract.operation = 'AuthorizeSecurityGroupIngress'; }, /payload\.contract\.operation: must be an IAM action/],
    ['unknown risk', (p) => { p.contract.risk = 'none'; }, /payload\.contract\.risk: must be one of/],
    ['missing params', (p) => { delete p.contract.params; }, /missing field payload\.contract\.params/],
    ['bound with min above max', (p) => { p.contract.bounds = { '/FromPort': { min: 10, max: 3 } }; }, /payload\.contract\.bounds\["\/FromPort"\]: min must not exceed max/],
    ['bound with neither end', (p) => { p.contract.bounds = { '/FromPort': {} }; }, /must be \{"min":n,"max":n\}/],
    ['bound keyed by a non-pointer', (p) => { p.contract.bounds = { FromPort: { min: 1 } }; }, /payload\.contract\.bounds: key "FromPort" must be an RFC 6901 JSON Pointer/],
    ['empty bounds', (p) => { p.contract.bounds = {}; }, /payload\.contract\.bounds: must not be empty/],
    ['admitted without waived', (p) => { delete p.admitted.waived; }, /missing field payload\.admitted\.waived/],
    ['waiver that also carries a digest', (p) => { p.admitted.waived = true; p.admitted.reason = 'x'; }, /unknown fields? payload\.admitted\.(state|epsilon)/],
    ['digest in the wrong form', (p) => { p.admitted.state = { '/IpPermissions': 'sha1:abc' }; }, /payload\.admitted\.state\["\/IpPermissions"\]: must be "sha256:" followed by 64 lowercase hex/],
    ['no admitted paths', (p) => { p.admitted.state = {}; }, /payload\.admitted\.state: must cover at least one field path/],
    ['negative epsilon', (p) => { p.admitted.epsilon = -0.5; }, /payload\.admitted\.epsilon: must not be negative/],
    ['epsilon of 1 or more', (p) => { p.admitted.epsilon = 1; }, /payload\.admitted\.epsilon: must be below 1/],
    ['admitted path that is not a pointer', (p) => { p.admitted.state = { IpPermissions: `sha256:${'ab'.repeat(32)}` }; }, /payload\.admitted\.state: key "IpPermissions" must be an RFC 6901 JSON Pointer/],
  ];
  for (const [name, edit, message] of cases) {
    it(name, () => expectMalformed(mutated((e) => edit(e.payload)), message));
  }

  const kubeCases: [string, (p: Mutable) => void, RegExp][] = [
    ['kube target without a name', (p) => { delete p.contract.targets[0].name; }, /missing field payload\.contract\.targets\[0\]\.name/],
    ['kube name with a slash', (p) => { p.contract.targets[0].name = 'a/b'; }, /payload\.contract\.targets\[0\]\.name: must be an object name/],
    ['kube verb that is not a mutation', (p) => { p.contract.operation = 'get'; }, /payload\.contract\.operation: must be one of 'create'/],
    ['kube target given as an ARN', (p) => { p.contract.targets = ['arn:aws:s3:::b']; }, /payload\.contract\.targets\[0\]: expected object, got string/],
    ['waiver without a reason', (p) => { delete p.admitted.reason; }, /missing field payload\.admitted\.reason/],
  ];
  for (const [name, edit, message] of kubeCases) {
    it(name, () => expectMalformed(mutated((e) => edit(e.payload), validKube), message));
  }

  it('quotes and shortens untrusted values in messages', () => {
    const result = decodeCertificate(mutated((e) => { e.payload.v = `\u001b[2J${'x'.repeat(5000)}`; }));
    expect(!result.ok && result.error.message).toMatch(/^unsupported certificate version "\\u001b\[2Jx+… at payload\.v/);
    expect(!result.ok && result.error.message.length).toBeLessThan(160);
  });

  it('number out of range in params', () => expectMalformed(edited('"FromPort":443', '"FromPort":1e400'), /payload\.contract\.params\.IpPermissions\[0\]\.FromPort: number out of range/));
  it('lone surrogate in a string', () => expectMalformed(edited('"GroupId":"', '"GroupId":"\\ud800'), /lone surrogate/));
});
