// `seb kubeconfig`: a kubeconfig for the agent that sends everything through seb — either through the forward
// proxy (cluster `proxy-url`, server = the real API server name seb intercepts) or to seb's endpoint listener
// (server = seb) — trusting seb's CA. The agent's credential is its own read-only ServiceAccount token (reads
// pass with it); seb replaces it with a minted executor token on certified mutations.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { caPaths, initCa } from '../certs/ca/ca.ts';
import type { SebConfig } from '../config/schema.ts';
import { CliError } from './sab.ts';

const IN_POD_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function registerKubeconfigCommand(program: Command, withConfig: (cmd: Command) => Command, configFrom: (flags: object) => SebConfig): void {
  withConfig(program.command('kubeconfig').description('write a kubeconfig that sends an agent\'s Kubernetes calls through seb'))
    .addOption(new Option('--mode <mode>', 'proxy: through the forward proxy; endpoint: to seb\'s endpoint listener').choices(['proxy', 'endpoint']).default('proxy'))
    .option('--server <url>', 'proxy mode: the API server URL the agent addresses (its host must be in intercept.kube)', 'https://kubernetes.default.svc')
    .option('--namespace <ns>', 'default namespace of the context')
    .option('--token-file <file>', 'the agent\'s read-only token file', IN_POD_TOKEN)
    .option('--placeholder', 'give the agent seb\'s placeholder token (kube.placeholderToken) instead of a real one: it has no power at the API server; seb reads with its own identity and mints executor tokens (needs kube.identityTokenFile on seb)')
    .option('--embed-token', 'copy the token into the kubeconfig (for clients without tokenFile support, e.g. @kubernetes/client-node); a rotated token then needs a new kubeconfig')
    .option('--out <file>', 'write here instead of standard output')
    .action(async (flags: { mode: 'proxy' | 'endpoint'; server: string; namespace?: string; tokenFile: string; placeholder?: boolean; embedToken?: boolean; out?: string }) => {
      const config = configFrom(flags);
      const paths = caPaths(path.resolve(config.stateDir));
      await initCa(paths);
      const caData = Buffer.from(await readFile(paths.certFile, 'utf8')).toString('base64');
      const loopback = (hp: string) => hp.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '127.0.0.1:');
      let cluster: Record<string, string>;
      if (flags.mode === 'endpoint') {
        if (config.listen.endpoint === 'off') throw new CliError('the endpoint listener is off (listen.endpoint): use --mode proxy');
        cluster = { server: `https://${loopback(config.listen.endpoint)}`, 'certificate-authority-data': caData };
      } else {
        let server: URL;
        try {
          server = new URL(flags.server);
        } catch {
          throw new CliError(`--server ${flags.server} is not a URL`);
        }
        cluster = { server: server.origin, 'proxy-url': `http://${loopback(config.listen.proxy)}`, 'certificate-authority-data': caData };
      }
      const kubeconfig = {
        apiVersion: 'v1', kind: 'Config', 'current-context': 'seb',
        clusters: [{ name: 'seb', cluster }],
        users: [{ name: 'agent', user: flags.placeholder ? { token: config.kube.placeholderToken } : flags.embedToken ? { token: (await readFile(flags.tokenFile, 'utf8')).trim() } : { tokenFile: flags.tokenFile } }],
        contexts: [{ name: 'seb', context: { cluster: 'seb', user: 'agent', ...(flags.namespace ? { namespace: flags.namespace } : {}) } }],
      };
      const text = stringify(kubeconfig);
      if (flags.out) {
        await writeFile(flags.out, text, { mode: 0o600 });
        process.stdout.write(`wrote ${flags.out} (${flags.mode} mode)\n`);
      } else process.stdout.write(text);
    });
}
