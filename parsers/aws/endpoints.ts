// The real endpoint host for a SigV4 signing name and region, for endpoint mode (AWS_ENDPOINT_URL points the SDK
// at seb, so the host it addressed says nothing about the service). Most services are "<name>.<region>.amazonaws.com";
// the table lists the ones that are global or whose endpoint prefix differs from their signing name.
const GLOBAL: Readonly<Record<string, string>> = {
  iam: 'iam.amazonaws.com',
  route53: 'route53.amazonaws.com',
  cloudfront: 'cloudfront.amazonaws.com',
  organizations: 'organizations.us-east-1.amazonaws.com',
};

const PREFIX: Readonly<Record<string, string>> = {
  ses: 'email',
  monitoring: 'monitoring',
  'execute-api': 'apigateway',
  elasticmapreduce: 'elasticmapreduce',
  'iot-data': 'data-ats.iot',
};

export function awsEndpointHost(service: string, region: string): string {
  const global = GLOBAL[service];
  if (global) return global;
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${PREFIX[service] ?? service}.${region}.${suffix}`;
}
