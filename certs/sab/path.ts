// How fields and values are named in error messages. Field paths are written the way a reader finds the field in
// the JSON: payload.contract.targets[0].name, payload.contract.bounds["/spec/replicas"].min. Anything taken from
// the certificate is JSON-quoted (no control characters reach a log line) and cut short (no 16 KiB messages).
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN = 64;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment) && segment.length <= MAX_SHOWN) {
      out += out === '' ? segment : `.${segment}`;
    } else out += `[${preview(String(segment))}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** A short JSON rendering of an untrusted value for a message. */
export function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}…`;
}
