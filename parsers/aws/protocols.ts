// The wire protocol of each AWS service, by SigV4 signing name (botocore's service metadata). seb decides how to
// read a request from the service it is for, never from hints the client sends (an X-Amz-Target header or an
// Action parameter on a service that ignores them would make a mutation look like a read).
export type AwsProtocol = 'query' | 'json' | 'rest';

const QUERY = ['ec2', 'iam', 'sts', 'autoscaling', 'elasticloadbalancing', 'sns', 'cloudformation', 'rds', 'elasticache', 'redshift', 'monitoring', 'ses', 'elasticbeanstalk', 'sdb'];
const JSON_PROTOCOL = [
  'dynamodb', 'kms', 'logs', 'ssm', 'secretsmanager', 'ecs', 'ecr', 'events', 'kinesis', 'firehose', 'cloudtrail', 'codebuild',
  'codepipeline', 'organizations', 'sqs', 'athena', 'glue', 'sagemaker', 'config', 'states', 'application-autoscaling', 'acm',
  'elasticmapreduce', 'directconnect', 'ds', 'workspaces', 'shield', 'wafv2', 'support', 'route53domains', 'servicecatalog',
];
/** REST services whose GET/HEAD requests are reads. Not execute-api: there a GET runs the customer's code. */
const REST_READS = ['s3', 'lambda', 'apigateway', 'route53', 'cloudfront', 'eks', 'elasticfilesystem', 'es', 'batch', 'glacier'];

const table = new Map<string, AwsProtocol>([
  ...QUERY.map((s) => [s, 'query'] as const),
  ...JSON_PROTOCOL.map((s) => [s, 'json'] as const),
  ...REST_READS.map((s) => [s, 'rest'] as const),
]);

export function protocolOf(service: string): AwsProtocol | undefined {
  return table.get(service);
}
