// Attestation annotations: seb stamps seb.openkedge.io/cid and /nonce on the object a certified create, update or
// patch writes, so the admission webhook can check that a write by an executor identity carries the certificate
// it was minted for. Subresources (scale, status ...) and JSON patches are left as they are: a JSON patch cannot
// add a key to a map it does not know exists, and subresource bodies are not the object; the webhook ties those
// to the execution through the token's credential id instead.
import type { JsonValue, KubeContract } from '../../certs/sab/types.ts';

export const CID_ANNOTATION = 'seb.openkedge.io/cid';
export const NONCE_ANNOTATION = 'seb.openkedge.io/nonce';

/** The body to forward with the annotations added, or undefined when this request carries none. */
export function annotatedBody(contract: KubeContract, attestation: { cid: string; nonce: string }): Buffer | undefined {
  const target = contract.targets[0];
  const params = contract.params as { body?: JsonValue; patchType?: string } | null;
  if (!target || target.subresource !== undefined || !params || params.body === undefined) return undefined;
  if (contract.operation === 'delete' || params.patchType === 'json' || params.patchType === 'apply-cbor') return undefined;
  const body = params.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const metadata = (body as { metadata?: JsonValue }).metadata;
  const meta = metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Record<string, JsonValue>) : {};
  const annotations = meta.annotations !== null && typeof meta.annotations === 'object' && !Array.isArray(meta.annotations) ? (meta.annotations as Record<string, JsonValue>) : {};
  const stamped = { ...body, metadata: { ...meta, annotations: { ...annotations, [CID_ANNOTATION]: attestation.cid, [NONCE_ANNOTATION]: attestation.nonce } } };
  return Buffer.from(JSON.stringify(stamped));
}
