// Errors as values: every function that looks at untrusted input returns one of these instead of throwing, so the
// verification pipeline can turn each failure into a signed, coded denial without try/catch around every stage.
import type { SebError } from '../../errors/codes.ts';

export type Result<T, E = SebError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function fail<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
