// Strategic merge patch (application/strategic-merge-patch+json) for the built-in kinds in scope: lists with a
// patch merge key (containers/initContainers/env/volumes/imagePullSecrets by `name`, container ports by
// `containerPort`, service ports by `port`, volumeMounts by `mountPath`, conditions by `type`, ownerReferences by
// `uid`) merge element-wise; `finalizers` merges as a set; other lists replace. Directives: `$patch: replace |
// delete | merge` (maps and list elements), `$retainKeys`, `$setElementOrder/<list>`,
// `$deleteFromPrimitiveList/<list>`; null deletes a key.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;

const NAME_KEYED = new Set(['containers', 'initContainers', 'ephemeralContainers', 'env', 'volumes', 'imagePullSecrets', 'hostAliases', 'webhooks']);
const SET_LISTS = new Set(['finalizers']);

/** The patch merge key of list `field` given a sample of its elements, or undefined for atomic lists. */
export function mergeKeyOf(field: string, items: J[]): string | undefined {
  if (NAME_KEYED.has(field)) return field === 'hostAliases' ? 'ip' : 'name';
  if (field === 'ports') return items.some((i) => i && typeof i === 'object' && 'containerPort' in i) ? 'containerPort' : 'port';
  if (field === 'volumeMounts') return 'mountPath';
  if (field === 'conditions') return 'type';
  if (field === 'ownerReferences') return 'uid';
  if (field === 'topologySpreadConstraints') return 'topologyKey';
  return undefined;
}

const isObj = (v: unknown): v is Record<string, J> => !!v && typeof v === 'object' && !Array.isArray(v);

function orderBy(list: J[], order: J[], key: string | undefined): J[] {
  const id = (x: J): string => JSON.stringify(key && isObj(x) ? x[key] : x);
  const pos = new Map(order.map((o, i) => [id(o), i]));
  const ranked = list.filter((x) => pos.has(id(x))).sort((a, b) => pos.get(id(a))! - pos.get(id(b))!);
  const rest = list.filter((x) => !pos.has(id(x)));
  return [...ranked, ...rest];
}

function mergeList(field: string, live: J[] | undefined, patch: J[]): J[] {
  const all = [...(live ?? []), ...patch];
  const key = mergeKeyOf(field, all);
  if (patch.some((p) => isObj(p) && p.$patch === 'replace')) return patch.filter((p) => !(isObj(p) && p.$patch === 'replace'));
  if (SET_LISTS.has(field)) {
    const out = [...(live ?? [])];
    for (const p of patch) if (!out.includes(p)) out.push(p);
    return out;
  }
  if (!key) return structuredClone(patch);
  const out: J[] = structuredClone(live ?? []);
  for (const p of patch) {
    if (!isObj(p)) continue;
    const idx = out.findIndex((x) => isObj(x) && x[key] === p[key]);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) out[idx] = strategicMerge(out[idx], p);
    else out.push(strategicMerge({}, p));
  }
  return out;
}

export function strategicMerge(live: J, patch: J): J {
  if (!isObj(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return strategicMerge({}, rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, J> = isObj(live) ? structuredClone(live) : {};
  const retain: string[] | undefined = Array.isArray(patch.$retainKeys) ? patch.$retainKeys : undefined;
  const orders = new Map<string, J[]>();
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) { orders.set(k.slice(17), v as J[]); continue; }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice(25);
      if (Array.isArray(out[f])) out[f] = (out[f] as J[]).filter((x) => !(v as J[]).includes(x));
      continue;
    }
    if (v === null) { delete out[k]; continue; }
    if (Array.isArray(v)) out[k] = mergeList(k, Array.isArray(out[k]) ? out[k] : undefined, v);
    else if (isObj(v)) {
      const merged = strategicMerge(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  for (const [f, order] of orders) {
    if (Array.isArray(out[f])) out[f] = orderBy(out[f], order, mergeKeyOf(f, [...order, ...out[f]]));
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}
