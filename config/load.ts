// Builds the effective configuration: embedded defaults < config file (YAML or JSON) < SEB_* environment < flags.
// Every value is validated by one strict schema; an error names the field, what was expected and where the bad
// value came from. The result is deeply frozen.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type SebConfig } from './schema.ts';

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** Overrides from flags, already split by the CLI. */
export interface ConfigFlags {
  config?: string;
  stateDir?: string;
  proxyListen?: string;
  endpointListen?: string;
  adminListen?: string;
  upstream?: string[]; // "aws=URL", "kube=URL"
  logLevel?: string;
}

type Layer = { value: Record<string, unknown>; origins: Map<string, string> };

const ENV_KEYS: ReadonlyArray<[string, string[], 'string' | 'list']> = [
  ['SEB_STATE_DIR', ['stateDir'], 'string'],
  ['SEB_PROXY_LISTEN', ['listen', 'proxy'], 'string'],
  ['SEB_ENDPOINT_LISTEN', ['listen', 'endpoint'], 'string'],
  ['SEB_ADMIN_LISTEN', ['listen', 'admin'], 'string'],
  ['SEB_UPSTREAM_AWS', ['upstreams', 'aws'], 'string'],
  ['SEB_UPSTREAM_KUBE', ['upstreams', 'kube'], 'string'],
  ['SEB_TUNNEL_ALLOW', ['tunnel', 'allow'], 'list'],
  ['SEB_INTERCEPT_KUBE', ['intercept', 'kube'], 'list'],
  ['SEB_UPSTREAM_CA_FILES', ['upstreamTls', 'caFiles'], 'list'],
  ['SEB_LOG_LEVEL', ['log', 'level'], 'string'],
  ['SEB_AGENT_SUBJECT', ['agent', 'subject'], 'string'],
  ['SEB_AWS_ACCOUNT_ID', ['aws', 'accountId'], 'string'],
  ['SEB_AWS_AGENT_ACCESS_KEY_ID', ['aws', 'agentAccessKeyId'], 'string'],
  ['SEB_AWS_AGENT_SECRET_ACCESS_KEY', ['aws', 'agentSecretAccessKey'], 'string'],
  ['SEB_AWS_EXECUTOR_ROLE_ARN', ['aws', 'executorRoleArn'], 'string'],
  ['SEB_AWS_ACCESS_KEY_ID', ['aws', 'sebAccessKeyId'], 'string'],
  ['SEB_AWS_SECRET_ACCESS_KEY', ['aws', 'sebSecretAccessKey'], 'string'],
  ['SEB_KUBE_IDENTITY_TOKEN_FILE', ['kube', 'identityTokenFile'], 'string'],
  ['SEB_TRUST_FILE', ['trust', 'file'], 'string'],
  ['DATABASE_URL', ['ledger', 'databaseUrl'], 'string'],
  ['SEB_DATABASE_URL', ['ledger', 'databaseUrl'], 'string'], // after DATABASE_URL: the more specific name wins
];

export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv): Result<SebConfig> {
  const configFile = flags.config ?? env.SEB_CONFIG;
  const layers: Layer[] = [];
  if (configFile) {
    const file = readConfigFile(configFile);
    if (!file.ok) return file;
    layers.push(file.value);
  }
  layers.push(envLayer(env));
  const flagLayer = flagsLayer(flags);
  if (!flagLayer.ok) return flagLayer;
  layers.push(flagLayer.value);

  const merged: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  for (const layer of layers) {
    deepMerge(merged, layer.value);
    for (const [k, v] of layer.origins) origins.set(k, v);
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k].join('.')) : [];
      const field = keys.length > 0 ? keys.join(', ') : issue.path.join('.') || '(top level)';
      const origin = originOf(origins, issue.path.map(String), keys[0]);
      const message = issue.code === 'unrecognized_keys' ? 'unknown setting (check the spelling; see README "Configuration")' : issue.message;
      return `  ${field}: ${message}${origin ? ` (from ${origin})` : ''}`;
    });
    return { ok: false, error: `invalid configuration:\n${lines.join('\n')}` };
  }
  return { ok: true, value: deepFreeze(parsed.data) };
}

function originOf(origins: Map<string, string>, path: string[], unknownKey?: string): string | undefined {
  if (unknownKey) return origins.get(unknownKey) ?? origins.get('*');
  for (let i = path.length; i >= 1; i--) {
    const o = origins.get(path.slice(0, i).join('.'));
    if (o) return o;
  }
  return origins.get('*');
}

function readConfigFile(file: string): Result<Layer> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read config file ${file}: ${(err as Error).message}` };
  }
  let value: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both; uniqueKeys rejects a key given twice.
    value = parseYaml(text, { uniqueKeys: true, prettyErrors: true }) ?? {};
  } catch (err) {
    return { ok: false, error: `config file ${file} is not valid YAML/JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: `config file ${file}: expected a mapping of settings at the top level` };
  }
  return { ok: true, value: { value: value as Record<string, unknown>, origins: new Map([['*', file]]) } };
}

function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = { value: {}, origins: new Map() };
  for (const [name, path, kind] of ENV_KEYS) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(layer.value, path, kind === 'list' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw);
    layer.origins.set(path.join('.'), name);
  }
  return layer;
}

function flagsLayer(flags: ConfigFlags): Result<Layer> {
  const layer: Layer = { value: {}, origins: new Map() };
  const set = (path: string[], value: unknown, flag: string) => {
    setPath(layer.value, path, value);
    layer.origins.set(path.join('.'), flag);
  };
  if (flags.stateDir !== undefined) set(['stateDir'], flags.stateDir, '--state-dir');
  if (flags.proxyListen !== undefined) set(['listen', 'proxy'], flags.proxyListen, '--proxy-listen');
  if (flags.endpointListen !== undefined) set(['listen', 'endpoint'], flags.endpointListen, '--endpoint-listen');
  if (flags.adminListen !== undefined) set(['listen', 'admin'], flags.adminListen, '--admin-listen');
  if (flags.logLevel !== undefined) set(['log', 'level'], flags.logLevel, '--log-level');
  for (const spec of flags.upstream ?? []) {
    const match = /^(aws|kube)=(.+)$/.exec(spec);
    if (!match) return { ok: false, error: `invalid configuration:\n  --upstream ${spec}: expected PLATFORM=URL with PLATFORM aws or kube, e.g. --upstream aws=http://127.0.0.1:5000` };
    set(['upstreams', match[1]!], match[2], `--upstream ${match[1]}`);
  }
  return { ok: true, value: layer };
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) deepMerge(existing, value);
    else target[key] = isPlainObject(value) ? structuredClone(value) : value;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
