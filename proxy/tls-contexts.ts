// TLS server contexts for intercepted hosts: a leaf per host from the local CA, wrapped in a SecureContext
// once (creating a context parses PEM and costs far more than a cache lookup).
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Leaf, LeafCache } from '../certs/ca/leaf.ts';

export interface SecureContextCache {
  get(hostname: string): Promise<SecureContext>;
}

export function createSecureContextCache(leaves: LeafCache): SecureContextCache {
  // Keyed by the leaf object: a re-minted leaf gets a fresh context, and contexts of leaves the bounded leaf
  // cache has evicted are garbage-collected with them.
  const contexts = new WeakMap<Leaf, SecureContext>();
  return {
    async get(hostname) {
      const leaf = await leaves.get(hostname);
      let context = contexts.get(leaf);
      if (!context) {
        context = createSecureContext({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.2' });
        contexts.set(leaf, context);
      }
      return context;
    },
  };
}
