// `seb agent-env`: the environment an unmodified agent needs to send its cloud API calls through seb.

export interface AgentEnvInput {
  readonly proxyListen: string;
  readonly caCertFile: string;
  readonly bundleFile: string;
  /** The placeholder AWS credentials seb issued the agent (aws.agentAccessKeyId / agentSecretAccessKey). */
  readonly awsAgent?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export function agentEnv(input: AgentEnvInput): Record<string, string> {
  const i = input.proxyListen.lastIndexOf(':');
  let host = input.proxyListen.slice(0, i);
  if (host === '0.0.0.0' || host === '[::]') host = '127.0.0.1'; // a wildcard bind is reached on loopback
  const proxy = `http://${host}:${input.proxyListen.slice(i + 1)}`;
  return {
    HTTPS_PROXY: proxy,
    NO_PROXY: 'localhost,127.0.0.1,::1',
    AWS_CA_BUNDLE: input.bundleFile, // botocore / AWS CLI
    REQUESTS_CA_BUNDLE: input.bundleFile, // python requests
    SSL_CERT_FILE: input.bundleFile, // OpenSSL-based tools, Go on Linux
    NODE_EXTRA_CA_CERTS: input.caCertFile, // Node adds these to its built-in roots
    ...(input.awsAgent ? { AWS_ACCESS_KEY_ID: input.awsAgent.accessKeyId, AWS_SECRET_ACCESS_KEY: input.awsAgent.secretAccessKey } : {}),
  };
}

/** Variables the agent must not keep (a real session token would ride along with the placeholder keys). */
export function agentEnvUnset(input: AgentEnvInput): string[] {
  return input.awsAgent ? ['AWS_SESSION_TOKEN', 'AWS_PROFILE'] : [];
}

export function formatEnv(env: Record<string, string>, format: 'sh' | 'dotenv' | 'json', unset: readonly string[] = []): string {
  if (format === 'json') return JSON.stringify(env, null, 2) + '\n';
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  const lines = Object.entries(env).map(([k, v]) => (format === 'sh' ? `export ${k}=${quote(v)}` : `${k}=${v}`));
  if (format === 'sh') lines.push(...unset.map((k) => `unset ${k}`));
  return lines.join('\n') + '\n';
}

