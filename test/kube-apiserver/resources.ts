// The resource registry, derived from the recorded aggregated discovery documents (/api and /apis, apidiscovery v2):
// every group/version/resource the real server served, with its kind, scope, verbs and subresources.
import { getRecorded } from './fixtures.ts';

export interface SubresourceInfo { subresource: string; kind: string; group: string; version: string; verbs: string[] }
export interface ResourceInfo {
  group: string; version: string; resource: string; kind: string; singular: string; namespaced: boolean;
  verbs: string[]; shortNames: string[]; subresources: Map<string, SubresourceInfo>;
}

interface DiscoveryResource {
  resource: string; responseKind: { group: string; version: string; kind: string }; scope: string;
  singularResource: string; verbs: string[]; shortNames?: string[];
  subresources?: { subresource: string; responseKind?: { group: string; version: string; kind: string }; verbs: string[] }[];
}
interface DiscoveryList { items: { metadata: { name?: string }; versions: { version: string; resources: DiscoveryResource[] }[] }[] }

let registry: Map<string, ResourceInfo> | undefined;
const key = (group: string, version: string, resource: string): string => `${group}/${version}/${resource}`;

export function resources(): Map<string, ResourceInfo> {
  if (registry) return registry;
  registry = new Map();
  const rec = getRecorded();
  for (const doc of [rec.aggregatedApi, rec.aggregatedApis]) {
    const list = JSON.parse(doc.body.toString('utf8')) as DiscoveryList;
    for (const g of list.items) {
      const group = g.metadata.name ?? '';
      for (const v of g.versions) {
        for (const r of v.resources) {
          const subs = new Map<string, SubresourceInfo>();
          for (const s of r.subresources ?? []) {
            const rk = s.responseKind ?? { group: '', version: '', kind: r.responseKind.kind };
            const same = rk.version === '';
            subs.set(s.subresource, { subresource: s.subresource, kind: rk.kind, group: same ? group : rk.group, version: same ? v.version : rk.version, verbs: s.verbs });
          }
          registry.set(key(group, v.version, r.resource), {
            group, version: v.version, resource: r.resource, kind: r.responseKind.kind, singular: r.singularResource,
            namespaced: r.scope === 'Namespaced', verbs: r.verbs, shortNames: r.shortNames ?? [], subresources: subs,
          });
        }
      }
    }
  }
  return registry;
}

export function lookup(group: string, version: string, resource: string): ResourceInfo | undefined {
  return resources().get(key(group, version, resource));
}

export function findByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
  for (const r of resources().values()) if (r.group === group && r.version === version && r.kind === kind) return r;
  return undefined;
}

export const apiVersionOf = (r: { group: string; version: string }): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** Legacy APIResourceList for one group/version (used when no recorded document exists). */
export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown>[] = [];
  for (const r of resources().values()) {
    if (r.group !== group || r.version !== version) continue;
    out.push({ name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, ...(r.shortNames.length ? { shortNames: r.shortNames } : {}) });
    for (const s of r.subresources.values()) {
      out.push({ name: `${r.resource}/${s.subresource}`, singularName: r.singular, namespaced: r.namespaced, ...(s.group !== group ? { group: s.group, version: s.version } : {}), kind: s.kind, verbs: s.verbs });
    }
  }
  if (!out.length) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: out };
}
