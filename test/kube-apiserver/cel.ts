// A small CEL interpreter for the expressions admission evaluates (webhook matchConditions, ValidatingAdmissionPolicy
// matchConditions, variables, validations and messageExpressions), over the JSON the API server hands CEL: the
// AdmissionRequest and objects as unstructured maps, so a field that is absent (omitempty) is an error to read and
// `has()` is how expressions test for it — as in kube-apiserver. Supported: literals (string, int, double, bool,
// null, lists, maps), field selection and indexing, ! - * / % + == != < <= > >= in && || ?:, has(), size(),
// string(), int(), methods startsWith / endsWith / contains / matches / size, and the exists / all / map / filter
// macros. `&&` and `||` absorb errors the way CEL does (false && error == false, true || error == true).
// Anything else is a parse error, so an expression the test server cannot evaluate fails loudly instead of passing.

export class CelError extends Error {}

type Value = unknown;
type Env = Record<string, Value>;

type Node =
  | { t: 'lit'; v: Value }
  | { t: 'id'; name: string }
  | { t: 'sel'; target: Node; field: string }
  | { t: 'idx'; target: Node; index: Node }
  | { t: 'call'; fn: string; target?: Node; args: Node[] }
  | { t: 'un'; op: '!' | '-'; arg: Node }
  | { t: 'bin'; op: string; left: Node; right: Node }
  | { t: 'cond'; test: Node; then: Node; else: Node }
  | { t: 'list'; items: Node[] }
  | { t: 'map'; entries: Array<[Node, Node]> };

interface Token { kind: 'num' | 'str' | 'id' | 'op' | 'eof'; value: string; pos: number }

const OPS = ['&&', '||', '==', '!=', '<=', '>=', '!', '<', '>', '+', '-', '*', '/', '%', '?', ':', '.', ',', '(', ')', '[', ']', '{', '}'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?[uU]?/.exec(src.slice(i))!;
      out.push({ kind: 'num', value: m[0].replace(/[uU]$/, ''), pos: i });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ kind: 'id', value: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\') {
          const e = src[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e ?? '';
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new CelError(`unterminated string at ${i}`);
      out.push({ kind: 'str', value: s, pos: i });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new CelError(`unexpected character ${JSON.stringify(c)} at ${i}`);
    out.push({ kind: 'op', value: op, pos: i });
    i += op.length;
  }
  out.push({ kind: 'eof', value: '', pos: src.length });
  return out;
}

class Parser {
  private i = 0;
  private readonly toks: Token[];
  constructor(toks: Token[]) { this.toks = toks; }
  private peek(): Token { return this.toks[this.i]!; }
  private next(): Token { return this.toks[this.i++]!; }
  private isOp(v: string): boolean { const t = this.peek(); return t.kind === 'op' && t.value === v; }
  private expect(v: string): void {
    const t = this.next();
    if (t.kind !== 'op' || t.value !== v) throw new CelError(`expected ${JSON.stringify(v)} at ${t.pos}, found ${JSON.stringify(t.value)}`);
  }

  parse(): Node {
    const n = this.expr();
    if (this.peek().kind !== 'eof') throw new CelError(`unexpected ${JSON.stringify(this.peek().value)} at ${this.peek().pos}`);
    return n;
  }
  private expr(): Node {
    const test = this.or();
    if (!this.isOp('?')) return test;
    this.next();
    const then = this.or();
    this.expect(':');
    return { t: 'cond', test, then, else: this.expr() };
  }
  private or(): Node {
    let left = this.and();
    while (this.isOp('||')) { this.next(); left = { t: 'bin', op: '||', left, right: this.and() }; }
    return left;
  }
  private and(): Node {
    let left = this.rel();
    while (this.isOp('&&')) { this.next(); left = { t: 'bin', op: '&&', left, right: this.rel() }; }
    return left;
  }
  private rel(): Node {
    let left = this.add();
    for (;;) {
      const t = this.peek();
      const op = t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.value) ? t.value : t.kind === 'id' && t.value === 'in' ? 'in' : undefined;
      if (!op) return left;
      this.next();
      left = { t: 'bin', op, left, right: this.add() };
    }
  }
  private add(): Node {
    let left = this.mul();
    while (this.isOp('+') || this.isOp('-')) { const op = this.next().value; left = { t: 'bin', op, left, right: this.mul() }; }
    return left;
  }
  private mul(): Node {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) { const op = this.next().value; left = { t: 'bin', op, left, right: this.unary() }; }
    return left;
  }
  private unary(): Node {
    if (this.isOp('!')) { this.next(); return { t: 'un', op: '!', arg: this.unary() }; }
    if (this.isOp('-')) { this.next(); return { t: 'un', op: '-', arg: this.unary() }; }
    return this.member();
  }
  private args(): Node[] {
    const args: Node[] = [];
    this.expect('(');
    if (!this.isOp(')')) {
      args.push(this.expr());
      while (this.isOp(',')) { this.next(); args.push(this.expr()); }
    }
    this.expect(')');
    return args;
  }
  private member(): Node {
    let n = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const name = this.next();
        if (name.kind !== 'id') throw new CelError(`expected a field name at ${name.pos}`);
        n = this.isOp('(') ? { t: 'call', fn: name.value, target: n, args: this.args() } : { t: 'sel', target: n, field: name.value };
      } else if (this.isOp('[')) {
        this.next();
        const index = this.expr();
        this.expect(']');
        n = { t: 'idx', target: n, index };
      } else return n;
    }
  }
  private primary(): Node {
    const t = this.next();
    if (t.kind === 'num') return { t: 'lit', v: Number(t.value) };
    if (t.kind === 'str') return { t: 'lit', v: t.value };
    if (t.kind === 'id') {
      if (t.value === 'true' || t.value === 'false') return { t: 'lit', v: t.value === 'true' };
      if (t.value === 'null') return { t: 'lit', v: null };
      if (this.isOp('(')) return { t: 'call', fn: t.value, args: this.args() };
      return { t: 'id', name: t.value };
    }
    if (t.kind === 'op' && t.value === '(') { const n = this.expr(); this.expect(')'); return n; }
    if (t.kind === 'op' && t.value === '[') {
      const items: Node[] = [];
      if (!this.isOp(']')) {
        items.push(this.expr());
        while (this.isOp(',')) { this.next(); if (this.isOp(']')) break; items.push(this.expr()); }
      }
      this.expect(']');
      return { t: 'list', items };
    }
    if (t.kind === 'op' && t.value === '{') {
      const entries: Array<[Node, Node]> = [];
      while (!this.isOp('}')) {
        const k = this.expr();
        this.expect(':');
        entries.push([k, this.expr()]);
        if (!this.isOp(',')) break;
        this.next();
      }
      this.expect('}');
      return { t: 'map', entries };
    }
    throw new CelError(`unexpected ${JSON.stringify(t.value)} at ${t.pos}`);
  }
}

const cache = new Map<string, Node>();

/** Parses an expression (cached); throws CelError for what this interpreter does not support. */
export function compile(src: string): Node {
  let n = cache.get(src);
  if (!n) { n = new Parser(tokenize(src)).parse(); cache.set(src, n); }
  return n;
}

const isMap = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeName = (v: Value): string => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'map' : typeof v === 'number' ? 'number' : typeof v);

function equal(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
  }
  return a === b;
}

function select(target: Value, field: string): Value {
  if (!isMap(target)) throw new CelError(`no such key: ${field} (on a ${typeName(target)})`);
  if (!Object.hasOwn(target, field)) throw new CelError(`no such key: ${field}`);
  return target[field];
}

function truth(v: Value, what: string): boolean {
  if (typeof v !== 'boolean') throw new CelError(`${what}: no matching overload (a ${typeName(v)} is not a bool)`);
  return v;
}

/** Evaluates a compiled expression; throws CelError on an evaluation error. `variables` may be a lazy getter map. */
export function evaluate(src: string, env: Env): Value {
  return ev(compile(src), env);
}

function ev(n: Node, env: Env): Value {
  switch (n.t) {
    case 'lit': return n.v;
    case 'id': {
      if (!Object.hasOwn(env, n.name)) throw new CelError(`undeclared reference to '${n.name}'`);
      return env[n.name];
    }
    case 'sel': return select(ev(n.target, env), n.field);
    case 'idx': {
      const target = ev(n.target, env);
      const index = ev(n.index, env);
      if (Array.isArray(target)) {
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= target.length) throw new CelError(`index out of range: ${String(index)}`);
        return target[index];
      }
      if (typeof index !== 'string') throw new CelError(`no such key: ${String(index)}`);
      return select(target, index);
    }
    case 'list': return n.items.map((i) => ev(i, env));
    case 'map': return Object.fromEntries(n.entries.map(([k, v]) => [String(ev(k, env)), ev(v, env)]));
    case 'un': {
      const v = ev(n.arg, env);
      if (n.op === '!') return !truth(v, '!');
      if (typeof v !== 'number') throw new CelError(`-: no matching overload for ${typeName(v)}`);
      return -v;
    }
    case 'cond': return truth(ev(n.test, env), '?:') ? ev(n.then, env) : ev(n.else, env);
    case 'bin': return binary(n.op, n.left, n.right, env);
    case 'call': return call(n, env);
  }
}

function attempt(n: Node, env: Env): { v?: Value; err?: unknown } {
  try { return { v: ev(n, env) }; } catch (err) { return { err }; }
}

function binary(op: string, l: Node, r: Node, env: Env): Value {
  if (op === '&&' || op === '||') {
    // CEL's commutative error handling: a deciding operand wins over an error on the other side.
    const decides = op === '||';
    const a = attempt(l, env);
    if (!a.err && truth(a.v, op) === decides) return decides;
    const b = attempt(r, env);
    if (!b.err && truth(b.v, op) === decides) return decides;
    if (a.err) throw a.err;
    if (b.err) throw b.err;
    return !decides;
  }
  const a = ev(l, env);
  const b = ev(r, env);
  switch (op) {
    case '==': return equal(a, b);
    case '!=': return !equal(a, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => equal(x, a));
      if (isMap(b)) return typeof a === 'string' && Object.hasOwn(b, a);
      throw new CelError(`in: no matching overload for ${typeName(b)}`);
    case '+':
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (typeof a === 'number' && typeof b === 'number') return a + b;
      if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
      throw new CelError(`+: no matching overload for ${typeName(a)} and ${typeName(b)}`);
    default: {
      if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) throw new CelError(`${op}: no matching overload for ${typeName(a)} and ${typeName(b)}`);
      const x = a as number;
      const y = b as number;
      switch (op) {
        case '<': return x < y;
        case '<=': return x <= y;
        case '>': return x > y;
        case '>=': return x >= y;
        case '-': return x - y;
        case '*': return x * y;
        case '/': if (y === 0) throw new CelError('division by zero'); return Number.isInteger(x) && Number.isInteger(y) ? Math.trunc(x / y) : x / y;
        case '%': if (y === 0) throw new CelError('modulus by zero'); return x % y;
        default: throw new CelError(`unknown operator ${op}`);
      }
    }
  }
}

function size(v: Value): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new CelError(`size: no matching overload for ${typeName(v)}`);
}

function call(n: Extract<Node, { t: 'call' }>, env: Env): Value {
  if (!n.target) {
    if (n.fn === 'has') {
      const arg = n.args[0];
      if (n.args.length !== 1 || arg?.t !== 'sel') throw new CelError('has() takes one field selection, e.g. has(object.spec)');
      const target = ev(arg.target, env);
      return isMap(target) && Object.hasOwn(target, arg.field);
    }
    const args = n.args.map((a) => ev(a, env));
    if (n.fn === 'size' && args.length === 1) return size(args[0]);
    if (n.fn === 'string' && args.length === 1) return typeof args[0] === 'string' ? args[0] : JSON.stringify(args[0]);
    if (n.fn === 'int' && args.length === 1) return Math.trunc(Number(args[0]));
    throw new CelError(`undeclared reference to '${n.fn}'`);
  }
  if (['exists', 'all', 'map', 'filter', 'exists_one'].includes(n.fn)) return macro(n, env);
  const target = ev(n.target, env);
  const args = n.args.map((a) => ev(a, env));
  const str = (what: string): string => {
    if (typeof target !== 'string' || typeof args[0] !== 'string') throw new CelError(`${what}: no matching overload`);
    return args[0];
  };
  switch (n.fn) {
    case 'startsWith': return (target as string).startsWith(str('startsWith'));
    case 'endsWith': return (target as string).endsWith(str('endsWith'));
    case 'contains': return (target as string).includes(str('contains'));
    case 'matches': return new RegExp(str('matches')).test(target as string);
    case 'size': return size(target);
    default: throw new CelError(`undeclared reference to '${n.fn}'`);
  }
}

function macro(n: Extract<Node, { t: 'call' }>, env: Env): Value {
  const [v, body] = n.args;
  if (n.args.length !== 2 || v?.t !== 'id' || !body) throw new CelError(`${n.fn}() takes a variable and an expression`);
  const range = ev(n.target!, env);
  const items = Array.isArray(range) ? range : isMap(range) ? Object.keys(range) : undefined;
  if (!items) throw new CelError(`${n.fn}: no matching overload for ${typeName(range)}`);
  const each = (x: Value): Value => ev(body, { ...env, [v.name]: x });
  switch (n.fn) {
    case 'all': return items.every((x) => truth(each(x), 'all'));
    case 'exists': return items.some((x) => truth(each(x), 'exists'));
    case 'exists_one': return items.filter((x) => truth(each(x), 'exists_one')).length === 1;
    case 'map': return items.map(each);
    default: return items.filter((x) => truth(each(x), 'filter'));
  }
}
