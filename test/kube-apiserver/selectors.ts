// labelSelector (equality- and set-based) and fieldSelector (metadata.name, metadata.namespace and other dotted
// paths, = == !=) as list/watch/deletecollection filters.
import { StatusError, badRequest } from './status.ts';
import type { Obj } from './store.ts';

type Pred = (o: Obj) => boolean;

function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

export function labelSelector(sel: string | null): Pred {
  if (!sel) return () => true;
  const preds: Pred[] = splitTerms(sel).map((t) => {
    const labels = (o: Obj): Record<string, string> => o.metadata?.labels ?? {};
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
    if (m) {
      const [, key, op, vals] = m as unknown as [string, string, string, string];
      const set = vals.split(',').map((v) => v.trim());
      return op === 'in' ? (o: Obj) => set.includes(labels(o)[key] as string) : (o: Obj) => !set.includes(labels(o)[key] as string);
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(t);
    if (m) {
      const [, key, op, val] = m as unknown as [string, string, string, string];
      return op === '!=' ? (o: Obj) => labels(o)[key] !== val : (o: Obj) => labels(o)[key] === val;
    }
    m = /^(!?)([\w./-]+)$/.exec(t);
    if (m) {
      const [, not, key] = m as unknown as [string, string, string];
      return not ? (o: Obj) => !(key in labels(o)) : (o: Obj) => key in labels(o);
    }
    throw new StatusError(badRequest(`unable to parse requirement: found '${t}', expected: identifier`));
  });
  return (o) => preds.every((p) => p(o));
}

const valueAt = (o: Obj, path: string): string => {
  let cur: unknown = o;
  for (const p of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Obj)[p] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
};

export function fieldSelector(sel: string | null): Pred {
  if (!sel) return () => true;
  const preds: Pred[] = sel.split(',').filter(Boolean).map((t) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(t.trim());
    if (!m) throw new StatusError(badRequest(`invalid selector: '${sel}'; can't understand '${t}'`));
    const [, path, op, val] = m as unknown as [string, string, string, string];
    return op === '!=' ? (o: Obj) => valueAt(o, path) !== val : (o: Obj) => valueAt(o, path) === val;
  });
  return (o) => preds.every((p) => p(o));
}
