// JSON parsing for signed data. JSON.parse silently keeps the last of duplicate keys, while other parsers keep the
// first — two readers of one certificate could then disagree on what was signed (a parser differential). So the
// text must be RFC 8259 JSON (JSON.parse is the grammar gate), nest at most `maxDepth` deep, and be I-JSON
// (RFC 7493, which RFC 8785 requires): no duplicate member names anywhere (momoa gives the AST to check), no lone
// surrogates, no numbers outside binary64. "__proto__" members are refused too, so no consumer of the parsed
// value can be tricked into prototype pollution.
import { parse } from '@humanwhocodes/momoa';
import type { ValueNode } from '@humanwhocodes/momoa';
import type { JsonValue } from './types.ts';
import { MAX_JSON_DEPTH } from './types.ts';
import type { Result } from './result.ts';
import { fail, ok } from './result.ts';
import { formatPath } from './path.ts';

class Rejection extends Error {}

export function parseStrictJson(text: string, maxDepth: number = MAX_JSON_DEPTH): Result<JsonValue, string> {
  try {
    JSON.parse(text);
  } catch (cause) {
    return fail(`not JSON: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  // Checked on the text before building the AST, so a deeply nested value cannot exhaust the stack.
  if (nestingExceeds(text, maxDepth)) return fail(`JSON nests deeper than ${maxDepth} levels`);
  try {
    return ok(build(parse(text, { mode: 'json' }).body, []));
  } catch (cause) {
    if (cause instanceof Rejection) return fail(cause.message);
    return fail(`not JSON: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

function build(node: ValueNode, path: (string | number)[]): JsonValue {
  switch (node.type) {
    case 'Null':
      return null;
    case 'Boolean':
      return node.value;
    case 'Number':
      if (!Number.isFinite(node.value)) throw new Rejection(`${formatPath(path)}: number out of range`);
      return node.value;
    case 'String':
      if (!node.value.isWellFormed()) throw new Rejection(`${formatPath(path)}: string contains a lone surrogate`);
      return node.value;
    case 'Array':
      return node.elements.map((element, index) => build(element.value, [...path, index]));
    case 'Object': {
      const object: Record<string, JsonValue> = {};
      const seen = new Set<string>();
      for (const member of node.members) {
        if (member.name.type !== 'String') throw new Rejection(`${formatPath(path)}: member name is not a string`);
        const key = member.name.value;
        const at = [...path, key];
        if (seen.has(key)) throw new Rejection(`duplicate key ${formatPath(at)}`);
        if (key === '__proto__') throw new Rejection(`${formatPath(at)}: the member name "__proto__" is not allowed`);
        if (!key.isWellFormed()) throw new Rejection(`${formatPath(path)}: member name contains a lone surrogate`);
        seen.add(key);
        object[key] = build(member.value, at);
      }
      return object;
    }
    default:
      // NaN, Infinity: JSON5 only, unreachable in JSON mode.
      throw new Rejection(`${formatPath(path)}: ${node.type} is not JSON`);
  }
}

/** Maximum bracket depth of text already known to be valid JSON. */
function nestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
