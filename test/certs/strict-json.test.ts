// The two parsers under the codec: strict base64url and I-JSON parsing with duplicate-key detection.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url, parseStrictJson } from '../../certs/sab/index.ts';

describe('decodeBase64url', () => {
  it('round-trips every length, and accepts exactly one spelling', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = randomBytes(length);
      const text = encodeBase64url(bytes);
      const decoded = decodeBase64url(text);
      expect(decoded.ok && decoded.value.equals(bytes)).toBe(true);
    }
  });

  it('refuses the base64 alphabet, padding, whitespace, impossible lengths and non-zero trailing bits', () => {
    expect(decodeBase64url('ab+c').ok).toBe(false);
    expect(decodeBase64url('ab/c').ok).toBe(false);
    expect(decodeBase64url('QQ==').ok).toBe(false);
    expect(decodeBase64url('QQ\n').ok).toBe(false);
    expect(decodeBase64url('QUJDR').ok).toBe(false);
    expect(decodeBase64url('QQ').ok).toBe(true);
    expect(decodeBase64url('QR')).toEqual({ ok: false, error: 'non-canonical base64url (unused trailing bits are not zero)' });
  });
});

describe('parseStrictJson', () => {
  it('parses ordinary JSON', () => {
    expect(parseStrictJson('{"a":[1,"x",null,true,{"b":-0.5}]}')).toEqual({ ok: true, value: { a: [1, 'x', null, true, { b: -0.5 }] } });
  });

  it('finds duplicate keys at any depth and names their path', () => {
    expect(parseStrictJson('{"a":1,"a":1}')).toEqual({ ok: false, error: 'duplicate key a' });
    expect(parseStrictJson('{"x":[{"ok":1},{"k":1,"k":2}]}')).toEqual({ ok: false, error: 'duplicate key x[1].k' });
    expect(parseStrictJson('{"a b":{"c":1,"\\u0063":2}}')).toEqual({ ok: false, error: 'duplicate key ["a b"].c' });
    // the same key in sibling objects is not a duplicate
    expect(parseStrictJson('[{"k":1},{"k":2}]').ok).toBe(true);
  });

  it('refuses "__proto__" members but not other Object.prototype names', () => {
    expect(parseStrictJson('{"a":{"__proto__":{"polluted":true}}}')).toEqual({ ok: false, error: 'a.__proto__: the member name "__proto__" is not allowed' });
    expect(parseStrictJson('{"constructor":1,"toString":2}').ok).toBe(true);
  });

  it('limits nesting, counting only brackets outside strings', () => {
    expect(parseStrictJson(`${'['.repeat(64)}${']'.repeat(64)}`).ok).toBe(true);
    expect(parseStrictJson(`${'['.repeat(65)}${']'.repeat(65)}`)).toEqual({ ok: false, error: 'JSON nests deeper than 64 levels' });
    expect(parseStrictJson(`["${'['.repeat(100)}\\"${'{'.repeat(100)}"]`).ok).toBe(true);
  });

  it('refuses very deep input without exhausting the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseStrictJson(deep).ok).toBe(false);
  });

  it('refuses what JSON.parse refuses, and a lone surrogate in a key', () => {
    for (const text of ['', '{', "{'a':1}", '{"a":1,}', '[01]', 'NaN', '"\u0001"', '// c\n1']) {
      const result = parseStrictJson(text);
      expect(!result.ok && result.error, JSON.stringify(text)).toMatch(/^not JSON/);
    }
    expect(parseStrictJson('{"\\udc00":1}')).toEqual({ ok: false, error: '(top level): member name contains a lone surrogate' });
  });
});
