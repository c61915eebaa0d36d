// Where the pod template sits in each workload kind, for `seb inject -f`: a Pod is its own template; controllers
// keep it at spec.template, a CronJob at spec.jobTemplate.spec.template; a List's items are visited one by one.
// Other kinds, including look-alikes from other API groups, pass through untouched.
// Running `seb inject` on a file is itself the opt-in (as with `istioctl kube-inject`): every template is injected
// and labelled seb.openkedge.io/inject=true — so the webhook, if the cluster has it, sees an injected pod and leaves
// it alone — except templates that say otherwise with that label (e.g. "false").
import { diffJson, isPlainObject } from './inject-patch.ts';
import { INJECT_LABEL, injectPodTemplate, type InjectSettings } from './inject.ts';

const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  'v1/Pod': [],
  'v1/ReplicationController': ['spec', 'template'],
  'apps/v1/Deployment': ['spec', 'template'],
  'apps/v1/StatefulSet': ['spec', 'template'],
  'apps/v1/DaemonSet': ['spec', 'template'],
  'apps/v1/ReplicaSet': ['spec', 'template'],
  'batch/v1/Job': ['spec', 'template'],
  'batch/v1/CronJob': ['spec', 'jobTemplate', 'spec', 'template'],
};

export type DocumentResult =
  | { readonly ok: true; readonly changed: boolean; readonly value: unknown; readonly notes: readonly string[] }
  | { readonly ok: false; readonly message: string };

export function injectDocument(doc: unknown, settings: InjectSettings): DocumentResult {
  if (!isPlainObject(doc)) return { ok: true, changed: false, value: doc, notes: [] };
  const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
  if (key === 'v1/List' && Array.isArray(doc.items)) return injectList(doc, doc.items, settings);
  const at = TEMPLATE_PATHS[key];
  if (!at) return { ok: true, changed: false, value: doc, notes: [] };
  const what = describe(doc);
  const copy = structuredClone(doc);
  let parent: Record<string, unknown> | undefined;
  let template: unknown = copy;
  for (const k of at) {
    parent = isPlainObject(template) ? template : undefined;
    template = parent?.[k];
  }
  if (!isPlainObject(template)) return { ok: false, message: `${what} has no pod template at ${at.join('.')}` };
  const labels = isPlainObject(template.metadata) ? template.metadata.labels : undefined;
  const label = isPlainObject(labels) ? labels[INJECT_LABEL] : undefined;
  if (label !== undefined && label !== 'true') {
    return { ok: true, changed: false, value: doc, notes: [`${what} is left alone (label ${INJECT_LABEL}=${JSON.stringify(label)})`] };
  }
  const result = injectPodTemplate(template, settings);
  if (!result.ok) return { ok: false, message: `${what} cannot be given seb's sidecar: ${result.message}` };
  const injected = parent ? (parent[at.at(-1)!] = result.template, copy) : result.template;
  return { ok: true, changed: diffJson(doc, injected).length > 0, value: injected, notes: result.notes.map((n) => `${what}: ${n}`) };
}

function injectList(doc: Record<string, unknown>, items: unknown[], settings: InjectSettings): DocumentResult {
  const notes: string[] = [];
  let changed = false;
  const out: unknown[] = [];
  for (const item of items) {
    const r = injectDocument(item, settings);
    if (!r.ok) return r;
    notes.push(...r.notes);
    changed ||= r.changed;
    out.push(r.value);
  }
  return { ok: true, changed, value: changed ? { ...doc, items: out } : doc, notes };
}

function describe(doc: Record<string, unknown>): string {
  const meta = isPlainObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '(unnamed)';
  return `${String(doc.kind)} ${typeof meta.namespace === 'string' ? `${meta.namespace}/` : ''}${name}`;
}
