// A boto3 agent for end-to-end tests: one long-lived Python process (importing boto3 costs a second or more, so
// not once per call) that reads JSON commands on stdin and answers one JSON line each. It is an unmodified boto3
// client: credentials, proxy and CA bundle come from the environment it is started with (seb agent-env), or, for
// `direct`, the keys and endpoint the command names. A botocore ClientError comes back as its error code.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { IN_CI } from './services.ts';

const AGENT_SCRIPT = String.raw`
import json, sys
import boto3
from botocore.exceptions import ClientError

agent = boto3.client('ec2', region_name='us-east-1')

def rules(client, group):
    out = client.describe_security_groups(GroupIds=[group])
    return [{'FromPort': p.get('FromPort'), 'CidrIps': [r['CidrIp'] for r in p.get('IpRanges', [])]} for p in out['SecurityGroups'][0]['IpPermissions']]

for line in sys.stdin:
    cmd = json.loads(line)
    client = agent
    if cmd.get('direct'):
        d = cmd['direct']
        client = boto3.client('ec2', region_name='us-east-1', endpoint_url=d['endpoint'], aws_access_key_id=d['accessKeyId'], aws_secret_access_key=d['secretAccessKey'])
    try:
        if cmd['op'] == 'describe':
            answer = {'ok': True, 'rules': rules(client, cmd['group'])}
        elif cmd['op'] == 'authorize':
            client.authorize_security_group_ingress(GroupId=cmd['group'], IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': cmd['port'], 'ToPort': cmd['port'], 'IpRanges': [{'CidrIp': cmd['cidr']}]}])
            answer = {'ok': True}
        else:
            answer = {'ok': False, 'error': 'unknown op ' + cmd['op']}
    except ClientError as e:
        err = e.response.get('Error', {})
        answer = {'ok': False, 'error': 'ClientError', 'code': err.get('Code'), 'message': err.get('Message'), 'status': e.response.get('ResponseMetadata', {}).get('HTTPStatusCode'), 'text': str(e)}
    except Exception as e:
        answer = {'ok': False, 'error': type(e).__name__, 'message': str(e)}
    print(json.dumps(answer), flush=True)
`;

export type Boto3Command =
  | { op: 'describe'; group: string; direct?: Boto3Direct }
  | { op: 'authorize'; group: string; port: number; cidr: string; direct?: Boto3Direct };

export interface Boto3Direct {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface Boto3Answer {
  readonly ok: boolean;
  readonly error?: string;
  readonly code?: string;
  readonly message?: string;
  readonly status?: number;
  /** str(ClientError): what the agent would print. */
  readonly text?: string;
  readonly rules?: Array<{ FromPort?: number; CidrIps: string[] }>;
}

export interface Boto3Agent {
  call(cmd: Boto3Command): Promise<Boto3Answer>;
  stop(): Promise<void>;
}

/** undefined when python3 with boto3 is there; otherwise the reason to skip (or throws under CI=true). */
export function boto3SkipReason(): string | undefined {
  if (spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0) return undefined;
  const reason = 'python3 with boto3 is not installed';
  if (IN_CI) throw new Error(`${reason}; CI machines have it, so this is a failure`);
  console.warn(`SKIP: ${reason}`);
  return reason;
}

export function startBoto3Agent(env: Record<string, string>): Boto3Agent {
  const child = spawn('python3', ['-u', '-c', AGENT_SCRIPT], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string | undefined) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  child.once('exit', () => { for (const w of waiting.splice(0)) w(undefined); });
  return {
    call(cmd) {
      return new Promise((resolve, reject) => {
        waiting.push((line) => (line === undefined ? reject(new Error(`the boto3 agent exited: ${stderr}`)) : resolve(JSON.parse(line) as Boto3Answer)));
        child.stdin.write(JSON.stringify(cmd) + '\n');
      });
    },
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin.end();
    }),
  };
}
