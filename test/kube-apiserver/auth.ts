// Authentication (static bearer tokens and ServiceAccount JWTs, with kube-apiserver's 10 s cache of successful
// token authentications) and impersonation (Impersonate-User / -Group / -Uid / -Extra-<key>, each checked with RBAC
// verb `impersonate` on users or serviceaccounts, groups, uids, userextras/<key>). As in kube-apiserver, the
// impersonated user has exactly what the headers say: no uid without Impersonate-Uid, only the extras asked for.
import { StatusError, forbidden, internalError, unauthorized } from './status.ts';
import { getObject } from './store.ts';
import { verifyServiceAccountToken } from './token.ts';
import { authorize } from './rbac.ts';
import type { ServerState, UserInfo } from './types.ts';
import type http from 'node:http';

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

function authenticateToken(state: ServerState, token: string): UserInfo | undefined {
  const fixed = state.staticTokens.get(token);
  if (fixed) return fixed;
  const cached = state.authCache.get(token);
  if (cached && cached.until > Date.now()) return cached.user;
  const claims = verifyServiceAccountToken(state, state.issuer, token);
  if (!claims || !claims.aud.some((a) => state.apiAudiences.includes(a))) return undefined;
  const k = claims['kubernetes.io'];
  const sa = getObject(state.store, '', 'serviceaccounts', k.namespace, k.serviceaccount.name);
  if (!sa || sa.metadata.uid !== k.serviceaccount.uid) return undefined;
  const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] };
  if (k.secret) {
    const s = getObject(state.store, '', 'secrets', k.namespace, k.secret.name);
    if (!s || s.metadata.uid !== k.secret.uid || s.metadata.deletionTimestamp) return undefined;
  }
  if (k.pod) {
    const p = getObject(state.store, '', 'pods', k.namespace, k.pod.name);
    if (!p || p.metadata.uid !== k.pod.uid || p.metadata.deletionTimestamp) return undefined;
    extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
    extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
  }
  const user: UserInfo = {
    username: claims.sub, uid: k.serviceaccount.uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'], extra,
  };
  if (state.opts.authCacheTtlMs > 0) state.authCache.set(token, { user, until: Date.now() + state.opts.authCacheTtlMs });
  return user;
}

/** The authenticated user of a request; throws the 401 Status for a bad token. */
export function authenticate(state: ServerState, req: http.IncomingMessage): UserInfo {
  const h = req.headers.authorization;
  if (!h) return ANONYMOUS;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  const user = m ? authenticateToken(state, m[1]!) : undefined;
  if (!user) throw new StatusError(unauthorized());
  return user;
}

/** Applies impersonation headers, checking that `user` may impersonate. */
export function impersonate(state: ServerState, req: http.IncomingMessage, user: UserInfo): UserInfo {
  const asUser = req.headers['impersonate-user'];
  const raw = req.headers['impersonate-group'];
  const asGroups = raw === undefined ? [] : (Array.isArray(raw) ? raw : [raw]).flatMap((g) => g.split(',').map((x) => x.trim()));
  const asUid = req.headers['impersonate-uid'];
  const extra: Record<string, string[]> = {};
  for (const [header, value] of Object.entries(req.headers)) {
    if (!header.startsWith('impersonate-extra-') || value === undefined) continue;
    let key = header.slice('impersonate-extra-'.length);
    try { key = decodeURIComponent(key); } catch { /* recorded as sent */ }
    extra[key] = [...(extra[key] ?? []), ...(Array.isArray(value) ? value : value.split(',').map((x) => x.trim()))];
  }
  if (!asUser) {
    if (asGroups.length || asUid || Object.keys(extra).length) throw new StatusError(internalError('requested impersonation of groups, extras or a uid without impersonating a user'));
    return user;
  }
  const target = String(asUser);
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(target);
  const check = (resource: string, name: string, namespace = '', group = '', subresource = ''): void => {
    if (!authorize(state.store, user, { verb: 'impersonate', group, resource, subresource, namespace, name }).allowed) {
      throw new StatusError(forbidden(user.username, 'impersonate', { group, resource }, subresource, namespace, name));
    }
  };
  if (sa) check('serviceaccounts', sa[2]!, sa[1]!);
  else check('users', target);
  for (const g of asGroups) check('groups', g);
  for (const [key, values] of Object.entries(extra)) for (const v of values) check('userextras', v, '', 'authentication.k8s.io', key);
  if (asUid) check('uids', String(asUid), '', 'authentication.k8s.io');
  const groups = sa && !asGroups.length ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`] : [...asGroups];
  if (target !== 'system:anonymous' && !groups.includes('system:authenticated')) groups.push('system:authenticated');
  return { username: target, ...(asUid ? { uid: String(asUid) } : {}), groups, ...(Object.keys(extra).length ? { extra } : {}) };
}
