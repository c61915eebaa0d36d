// The wire protocol of each AWS service, by SigV4 signing name (botocore's service metadata). seb decides how to
// read a request from the service it is for, never from hints the client sends (an X-Amz-Target header or an
// Action parameter on a service that ignores them would make a mutation look like a read). Knowing a service's
// protocol only names its operations: which of them are reads is reads.ts's business.
export type AwsProtocol = 'query' | 'json' | 'rest';

const QUERY = ['ec2', 'iam', 'sts', 'autoscaling', 'elasticloadbalancing', 'sns', 'cloudformation', 'rds', 'elasticache', 'redshift', 'monitoring', 'ses', 'elasticbeanstalk', 'sdb'];
const JSON_PROTOCOL = [
  'dynamodb', 'kms', 'logs', 'ssm', 'secretsmanager', 'ecs', 'ecr', 'events', 'kinesis', 'firehose', 'cloudtrail', 'codebuild',
  'codepipeline', 'organizations', 'sqs', 'athena', 'glue', 'sagemaker', 'config', 'states', 'application-autoscaling', 'acm',
  'elasticmapreduce', 'directconnect', 'ds', 'workspaces', 'shield', 'wafv2', 'support', 'route53domains', 'servicecatalog',
];
/** REST services. seb knows the reads and mutations of S3 and Lambda (s3.ts, lambda.ts); every request to the
 * others is a change it cannot certify. Not execute-api: the customer's own API, whose protocol is no one's. */
const REST = ['s3', 'lambda', 'apigateway', 'route53', 'cloudfront', 'eks', 'elasticfilesystem', 'es', 'batch', 'glacier'];

const table = new Map<string, AwsProtocol>([
  ...QUERY.map((s) => [s, 'query'] as const),
  ...JSON_PROTOCOL.map((s) => [s, 'json'] as const),
  ...REST.map((s) => [s, 'rest'] as const),
]);

export function protocolOf(service: string): AwsProtocol | undefined {
  return table.get(service);
}
