// Watch (`?watch=1|true`): newline-delimited JSON events {"type","object"} over a chunked (HTTP/1.1) response,
// Content-Type application/json. resourceVersion "" or "0" (or absent) start with synthetic ADDED events for the
// current objects; a newer one replays the history after it; one older than the compacted revision gets a single
// ERROR event with a 410 Expired Status. BOOKMARKs when allowWatchBookmarks (periodically and just before
// timeoutSeconds ends the stream). Table watches (kubectl get -w) stream Tables.
import { baseHeaders } from './http.ts';
import { StatusError, expired, failure } from './status.ts';
import { selectObjects } from './crud.ts';
import { fieldSelector, labelSelector } from './selectors.ts';
import { toTable, wantsTable } from './table.ts';
import { apiVersionOf } from './resources.ts';
import type { Obj, StoreEvent } from './store.ts';
import type { Ctx, Target } from './types.ts';

const BOOKMARK_EVERY_MS = 60_000;

function bookmarkObject(t: Target, rv: string): Obj {
  const base = { kind: t.info.kind, apiVersion: apiVersionOf(t.info), metadata: { resourceVersion: rv, creationTimestamp: null } };
  if (t.info.kind === 'Deployment') return { ...base, spec: { replicas: 0, selector: null, template: { metadata: { creationTimestamp: null }, spec: { containers: null } }, strategy: {} }, status: {} };
  return base;
}

export function watch(ctx: Ctx, t: Target): void {
  const q = ctx.query;
  if (q.get('sendInitialEvents') !== null) {
    throw new StatusError(failure(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled`, {
      group: 'meta.k8s.io', kind: 'ListOptions', causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled', field: 'sendInitialEvents' }],
    }));
  }
  const store = ctx.state.store;
  const ls = labelSelector(q.get('labelSelector'));
  const fs = fieldSelector(q.get('fieldSelector'));
  const table = wantsTable(String(ctx.req.headers.accept ?? ''));
  const bookmarks = q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1';
  const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 1800);
  const rvParam = q.get('resourceVersion') ?? '';
  const res = ctx.res;
  res.writeHead(200, { ...baseHeaders(ctx), 'Content-Type': 'application/json' });
  res.flushHeaders();
  let columnsSent = false;
  let lastRv = String(store.rv);
  const write = (type: string, object: Obj): void => {
    let o = object;
    if (table && type !== 'BOOKMARK' && type !== 'ERROR') { o = toTable(t.info.resource, [object], object.metadata.resourceVersion, q.get('includeObject') ?? 'Metadata', !columnsSent); columnsSent = true; }
    if (type !== 'ERROR') lastRv = object.metadata.resourceVersion;
    res.write(`${JSON.stringify({ type, object: o })}\n`);
  };
  const matches = (e: StoreEvent): boolean => e.group === t.info.group && e.resource === t.info.resource && (!t.info.namespaced || !t.namespace || e.namespace === t.namespace) && ls(e.object) && fs(e.object);
  const finish = (): void => { cleanup(); res.end(); };
  const cleanup = (): void => { store.listeners.delete(listener); clearTimeout(timer); clearInterval(ticker); ctx.state.closers.delete(finish); };
  const listener = (e: StoreEvent): void => { if (matches(e)) write(e.type, e.object); };

  if (rvParam === '' || rvParam === '0') {
    for (const o of selectObjects(ctx, t)) write('ADDED', o);
  } else {
    const from = Number(rvParam);
    if (!Number.isFinite(from) || from < store.compactedRv) {
      write('ERROR', expired(`too old resource version: ${rvParam} (${store.compactedRv})`));
      res.end();
      return;
    }
    for (const e of store.history) if (e.rv > from && matches(e)) write(e.type, e.object);
  }
  store.listeners.add(listener);
  ctx.state.closers.add(finish);
  const timer = setTimeout(() => {
    if (bookmarks) write('BOOKMARK', bookmarkObject(t, String(Math.max(Number(lastRv), store.rv))));
    finish();
  }, Math.max(0, timeoutSeconds * 1000 - (bookmarks ? 50 : 0)));
  const ticker = setInterval(() => { if (bookmarks) write('BOOKMARK', bookmarkObject(t, String(store.rv))); }, BOOKMARK_EVERY_MS);
  res.on('close', cleanup);
}
