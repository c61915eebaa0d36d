// RFC 8785 (JCS) vectors, through the path certificates take: strict JSON parsing, then canonicalJson.
// §3.2.2 input / §3.2.3 output and its §3.2.4 UTF-8 bytes, §3.2.3 property sorting, Appendix B numbers.
import { describe, expect, it } from 'vitest';
import { canonicalJson, parseStrictJson } from '../../certs/sab/index.ts';

function canonicalOf(jsonText: string): string {
  const parsed = parseStrictJson(jsonText);
  if (!parsed.ok) throw new Error(parsed.error);
  const canonical = canonicalJson(parsed.value);
  if (!canonical.ok) throw new Error(canonical.error);
  return canonical.value;
}

describe('RFC 8785 JSON Canonicalization Scheme', () => {
  it('canonicalises the §3.2.2 example to the §3.2.3 text and the §3.2.4 bytes', () => {
    const input = String.raw`{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    const bytes =
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333' +
      '333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c' +
      '225c5c5c5c5c222f227d';
    const canonical = canonicalOf(input);
    expect(canonical).toBe(expected);
    expect(Buffer.from(canonical, 'utf8').toString('hex')).toBe(bytes);
  });

  it('sorts properties by UTF-16 code units (§3.2.3), so the emoji precedes U+FB33', () => {
    const input = String.raw`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`;
    // Read the order off the text: JSON.parse would move the integer-like key "1" first.
    const order = [...canonicalOf(input).matchAll(/":"([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual([
      'Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(canonicalOf(input).startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')).toBe(true);
  });

  it('serialises numbers the ECMAScript way: 1e30, 4.50, 2e-3, 0.000001, -0, 1e21, 1e-7', () => {
    expect(canonicalOf('[1e30, 4.50, 2e-3, 0.000001, -0, 1e21, 1e-7, 100, 1E+2]')).toBe('[1e+30,4.5,0.002,0.000001,0,1e+21,1e-7,100,100]');
  });

  it('matches every finite Appendix B number vector (IEEE 754 bits -> text)', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, text] of vectors) {
      const view = new DataView(new ArrayBuffer(8));
      view.setBigUint64(0, BigInt(`0x${bits}`));
      const canonical = canonicalJson({ n: view.getFloat64(0) });
      expect(canonical.ok && canonical.value, bits).toBe(`{"n":${text}}`);
      // and the text reads back to the same double through the strict parser
      expect(canonicalOf(`{"n":${text}}`), bits).toBe(`{"n":${text}}`);
    }
  });

  it('rejects what I-JSON forbids instead of throwing: NaN, Infinity, lone surrogates', () => {
    expect(canonicalJson({ n: Number.NaN }).ok).toBe(false);
    expect(canonicalJson({ n: Number.POSITIVE_INFINITY }).ok).toBe(false);
    expect(canonicalJson({ s: '\ud800' }).ok).toBe(false);
    expect(parseStrictJson('{"n":1e400}')).toEqual({ ok: false, error: 'n: number out of range' });
    expect(parseStrictJson('{"s":"\\ud800"}')).toEqual({ ok: false, error: 's: string contains a lone surrogate' });
  });

  it('is independent of member order and whitespace in the input', () => {
    expect(canonicalOf('{ "b" : [ 1 , { "d":1, "c":2 } ], "a" : "x" }')).toBe('{"a":"x","b":[1,{"c":2,"d":1}]}');
  });
});
