// The Query- and JSON-protocol operations seb passes as reads: listed by exact name, per service (SigV4 signing
// name). A read goes upstream without a certificate, re-signed with seb's own identity, so an operation is listed
// only when it changes nothing AND its purpose is not to release a secret or a credential. Everything not listed
// is a mutation (a certificate names it, or it is refused); a service with no list here has no reads at all. A
// name pattern (Describe*, Get* ...) would pass whatever AWS adds next under such a name — sts:GetWebIdentityToken
// hands out a token, ssm:GetParameterHistory decrypted SecureStrings — so there is none.
//
// Configuration documents are read as configuration, even where users sometimes put secrets (EC2 user data,
// launch templates and configurations): secrets belong in SSM SecureString parameters or Secrets Manager, whose
// retrievals below need a certificate. The REST services keep their own lists (s3.ts, lambda.ts).
import type { JsonValue } from '../../certs/sab/types.ts';

const names = (text: string): ReadonlySet<string> => new Set(text.trim().split(/\s+/));

/** Read-only operations by service. Kept to what agents use to look around; a missing read costs a refusal, a
 * wrong one a leak. */
export const READ_OPERATIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  ec2: names(`
    DescribeAccountAttributes DescribeAddresses DescribeAddressesAttribute DescribeAvailabilityZones DescribeCapacityReservations
    DescribeCarrierGateways DescribeCustomerGateways DescribeDhcpOptions DescribeEgressOnlyInternetGateways DescribeFlowLogs
    DescribeHosts DescribeIamInstanceProfileAssociations DescribeIdFormat DescribeImageAttribute DescribeImages
    DescribeInstanceAttribute DescribeInstanceCreditSpecifications DescribeInstanceStatus DescribeInstanceTopology
    DescribeInstanceTypeOfferings DescribeInstanceTypes DescribeInstances DescribeInternetGateways DescribeKeyPairs
    DescribeLaunchTemplateVersions DescribeLaunchTemplates DescribeManagedPrefixLists DescribeNatGateways DescribeNetworkAcls
    DescribeNetworkInterfaceAttribute DescribeNetworkInterfaces DescribePlacementGroups DescribePrefixLists DescribeRegions
    DescribeReservedInstances DescribeRouteTables DescribeSecurityGroupReferences DescribeSecurityGroupRules
    DescribeSecurityGroupVpcAssociations DescribeSecurityGroups DescribeSnapshotAttribute DescribeSnapshots
    DescribeSpotPriceHistory DescribeStaleSecurityGroups DescribeSubnets DescribeTags DescribeTransitGatewayAttachments
    DescribeTransitGatewayRouteTables DescribeTransitGatewayVpcAttachments DescribeTransitGateways DescribeVolumeAttribute
    DescribeVolumeStatus DescribeVolumes DescribeVolumesModifications DescribeVpcAttribute DescribeVpcEndpointServices
    DescribeVpcEndpoints DescribeVpcPeeringConnections DescribeVpcs DescribeVpnGateways GetEbsDefaultKmsKeyId
    GetEbsEncryptionByDefault GetInstanceMetadataDefaults GetManagedPrefixListEntries GetSecurityGroupsForVpc
    GetSerialConsoleAccessStatus
  `),
  iam: names(`
    GetAccessKeyLastUsed GetAccountAuthorizationDetails GetAccountPasswordPolicy GetAccountSummary GetContextKeysForCustomPolicy
    GetContextKeysForPrincipalPolicy GetGroup GetGroupPolicy GetInstanceProfile GetMFADevice GetOpenIDConnectProvider GetPolicy
    GetPolicyVersion GetRole GetRolePolicy GetSAMLProvider GetSSHPublicKey GetServerCertificate GetServiceLastAccessedDetails
    GetServiceLastAccessedDetailsWithEntities GetServiceLinkedRoleDeletionStatus GetUser GetUserPolicy ListAccessKeys
    ListAccountAliases ListAttachedGroupPolicies ListAttachedRolePolicies ListAttachedUserPolicies ListEntitiesForPolicy
    ListGroupPolicies ListGroups ListGroupsForUser ListInstanceProfileTags ListInstanceProfiles ListInstanceProfilesForRole
    ListMFADeviceTags ListMFADevices ListOpenIDConnectProviderTags ListOpenIDConnectProviders ListPolicies
    ListPoliciesGrantingServiceAccess ListPolicyTags ListPolicyVersions ListRolePolicies ListRoleTags ListRoles
    ListSAMLProviderTags ListSAMLProviders ListSSHPublicKeys ListServerCertificateTags ListServerCertificates
    ListServiceSpecificCredentials ListSigningCertificates ListUserPolicies ListUserTags ListUsers SimulateCustomPolicy
    SimulatePrincipalPolicy
  `),
  // who the caller is; every other STS operation hands out credentials or tokens
  sts: names('GetCallerIdentity GetAccessKeyInfo'),
  autoscaling: names(`
    DescribeAccountLimits DescribeAdjustmentTypes DescribeAutoScalingGroups DescribeAutoScalingInstances
    DescribeAutoScalingNotificationTypes DescribeInstanceRefreshes DescribeLaunchConfigurations DescribeLifecycleHookTypes
    DescribeLifecycleHooks DescribeLoadBalancerTargetGroups DescribeLoadBalancers DescribeMetricCollectionTypes
    DescribeNotificationConfigurations DescribePolicies DescribeScalingActivities DescribeScalingProcessTypes
    DescribeScheduledActions DescribeTags DescribeTerminationPolicyTypes DescribeTrafficSources DescribeWarmPool
    GetPredictiveScalingForecast
  `),
  // not ExecuteStatement / BatchExecuteStatement: PartiQL writes too
  dynamodb: names(`
    BatchGetItem DescribeBackup DescribeContinuousBackups DescribeContributorInsights DescribeEndpoints DescribeExport
    DescribeGlobalTable DescribeGlobalTableSettings DescribeImport DescribeKinesisStreamingDestination DescribeLimits
    DescribeTable DescribeTableReplicaAutoScaling DescribeTimeToLive GetItem GetResourcePolicy ListBackups
    ListContributorInsights ListExports ListGlobalTables ListImports ListTables ListTagsOfResource Query Scan TransactGetItems
  `),
  // not the GetParameter family (values, SecureStrings decrypted), nor what shows command, task or automation
  // parameters and outputs
  ssm: names(`
    DescribeDocument DescribeDocumentPermission DescribeInstanceInformation
    DescribeInstanceProperties DescribeParameters DescribePatchBaselines DescribeSessions GetCalendarState GetConnectionStatus
    GetDocument GetServiceSetting ListAssociations ListComplianceItems ListComplianceSummaries ListDocumentVersions ListDocuments
    ListResourceComplianceSummaries ListTagsForResource
  `),
  // not GetQueryResults: a query may unmask() protected data
  logs: names(`
    DescribeAccountPolicies DescribeDeliveries DescribeDeliveryDestinations DescribeDeliverySources DescribeDestinations
    DescribeExportTasks DescribeFieldIndexes DescribeIndexPolicies DescribeLogGroups DescribeLogStreams DescribeMetricFilters
    DescribeQueries DescribeQueryDefinitions DescribeResourcePolicies DescribeSubscriptionFilters FilterLogEvents
    GetDataProtectionPolicy GetLogAnomalyDetector GetLogEvents GetLogGroupFields GetLogRecord ListAnomalies
    ListLogAnomalyDetectors ListLogGroups ListLogGroupsForQuery ListTagsForResource ListTagsLogGroup
  `),
  // key metadata and policies; never a cryptographic operation
  kms: names(`
    DescribeKey GetKeyPolicy GetKeyRotationStatus GetPublicKey ListAliases ListGrants ListKeyPolicies ListKeyRotations ListKeys
    ListResourceTags ListRetirableGrants
  `),
};

/** Reads only without this parameter: with it, CloudWatch Logs returns data-protection-masked values unmasked. */
const READ_UNLESS: Readonly<Record<string, string>> = {
  'logs:FilterLogEvents': 'unmask',
  'logs:GetLogEvents': 'unmask',
  'logs:GetLogRecord': 'unmask',
};

/**
 * Operations named like reads that hand out credentials or secrets, with why — never reads, whatever list they
 * might be added to (a test holds the lists apart). Those whose resource seb names (SSM parameters, EC2
 * instances: targets.ts) are mutations a certificate can authorise, executed under the certificate's own minted
 * session; the rest are refused.
 */
export const RELEASES_SECRETS: Readonly<Record<string, string>> = {
  'sts:AssumeRole': 'hands out credentials',
  'sts:AssumeRoleWithSAML': 'hands out credentials',
  'sts:AssumeRoleWithWebIdentity': 'hands out credentials',
  'sts:AssumeRoot': 'hands out credentials',
  'sts:GetSessionToken': 'hands out credentials',
  'sts:GetFederationToken': 'hands out credentials',
  'sts:GetDelegatedAccessToken': 'hands out credentials',
  'sts:GetWebIdentityToken': 'hands out a web identity token',
  'sts:DecodeAuthorizationMessage': 'reveals the policy details AWS keeps out of denial messages',
  'ssm:GetParameter': 'returns parameter values (SecureStrings decrypted with WithDecryption)',
  'ssm:GetParameters': 'returns parameter values (SecureStrings decrypted with WithDecryption)',
  'ssm:GetParametersByPath': 'returns parameter values (SecureStrings decrypted with WithDecryption)',
  'ssm:GetParameterHistory': 'returns parameter values (SecureStrings decrypted with WithDecryption)',
  'ssm:GetAccessToken': 'hands out credentials',
  'ssm:GetCommandInvocation': 'returns command output',
  'ssm:DescribeAutomationExecutions': 'returns automation outputs and variables, which can hold decrypted values',
  'ec2:GetPasswordData': 'returns the instance\'s encrypted administrator password',
  'ec2:GetConsoleScreenshot': 'shows the instance\'s console',
  'ec2:GetConsoleOutput': 'returns the instance\'s console output, where boot scripts print generated passwords',
  'ec2:DescribeVpnConnections': 'returns VPN pre-shared keys',
  'ec2:GetVpnConnectionDeviceSampleConfiguration': 'returns VPN pre-shared keys',
  'ec2:DescribeVerifiedAccessTrustProviders': 'returns OIDC client secrets',
  'ec2:DescribeInstanceSqlHaStates': 'returns SQL Server credentials',
  'ec2:DescribeInstanceSqlHaHistoryStates': 'returns SQL Server credentials',
  'ec2:DescribeBundleTasks': 'returns S3 upload policies and their signatures',
  'ec2:ExportClientVpnClientConfiguration': 'returns a VPN client configuration',
  'iam:GetCredentialReport': 'returns the account\'s credential report',
  'iam:GenerateCredentialReport': 'prepares the account\'s credential report',
  'iam:GetLoginProfile': 'tells whose console password exists',
  'iam:ListVirtualMFADevices': 'may return virtual MFA seeds',
  'kms:Decrypt': 'returns plaintext',
  'kms:GenerateDataKey': 'returns a plaintext data key',
  'kms:GenerateDataKeyPair': 'returns a plaintext private key',
  'kms:GenerateRandom': 'returns key material',
  'kms:GetParametersForImport': 'returns an import token',
  'logs:GetQueryResults': 'returns query results, which unmask() can unmask',
  'secretsmanager:GetSecretValue': 'returns a secret',
  'secretsmanager:BatchGetSecretValue': 'returns secrets',
  'ecr:GetAuthorizationToken': 'hands out a registry password',
  'codeartifact:GetAuthorizationToken': 'hands out a repository token',
  'redshift:GetClusterCredentials': 'hands out database credentials',
  'redshift:GetClusterCredentialsWithIAM': 'hands out database credentials',
  'cognito-identity:GetCredentialsForIdentity': 'hands out credentials',
  'cognito-identity:GetOpenIdToken': 'hands out a token',
};

export function isReadOperation(service: string, action: string, params?: JsonValue): boolean {
  if (!READ_OPERATIONS[service]?.has(action)) return false;
  const unless = READ_UNLESS[`${service}:${action}`];
  // any casing: seb must not guess which spelling the service reads
  return unless === undefined || !hasKey(params, unless);
}

/** Does seb know any read-only operation of `service` (a service it supports)? */
export function knowsReadsOf(service: string): boolean {
  return READ_OPERATIONS[service] !== undefined;
}

function hasKey(params: JsonValue | undefined, key: string): boolean {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return false;
  return Object.keys(params).some((k) => k.toLowerCase() === key.toLowerCase());
}
