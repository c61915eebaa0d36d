// The Kubernetes protobuf messages seb decodes in request bodies (k8s.io/api generated.proto, proto2), and which
// kind each resource URL takes. Only the built-in kinds below are decoded; everything else is refused. Every
// message lists all the fields a Go client always writes (gogo-protobuf emits non-pointer fields even when zero),
// so that kubectl's bodies decode; a field number not listed is refused, never skipped.
// DSL: `jsonName=fieldNumber[:type]`; type: s string (default), i int64, i32 int32, b bool, y bytes (base64 in
// JSON), time (meta/v1 Time), qty (Quantity), ios (IntOrString), fv1 (FieldsV1), or a message name.
// Prefix `*` = repeated, `map<T>` = map<string,T>, `&` = inlined in JSON (Go `json:",inline"`); suffix `?` = a Go
// pointer field (its zero value is meaningful and kept).

export type FieldType = 's' | 'i' | 'i32' | 'b' | 'y' | 'time' | 'qty' | 'ios' | 'fv1' | string;
export interface FieldDef {
  readonly name: string;
  readonly num: number;
  readonly type: FieldType;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly inline: boolean;
  readonly pointer: boolean;
}
export type MessageDef = ReadonlyMap<number, FieldDef>;

const SRC: Readonly<Record<string, string>> = {
  // apimachinery meta/v1
  ObjectMeta: 'name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 generation=7:i creationTimestamp=8:time deletionTimestamp=9:time? deletionGracePeriodSeconds=10:i? labels=11:map<s> annotations=12:map<s> ownerReferences=13:*OwnerReference finalizers=14:*s managedFields=17:*ManagedFieldsEntry',
  OwnerReference: 'kind=1 name=3 uid=4 apiVersion=5 controller=6:b? blockOwnerDeletion=7:b?',
  ManagedFieldsEntry: 'manager=1 operation=2 apiVersion=3 time=4:time? fieldsType=6 fieldsV1=7:fv1? subresource=8',
  LabelSelector: 'matchLabels=1:map<s> matchExpressions=2:*LabelSelectorRequirement',
  LabelSelectorRequirement: 'key=1 operator=2 values=3:*s',
  // core/v1
  Namespace: 'metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus',
  NamespaceSpec: 'finalizers=1:*s',
  NamespaceStatus: 'phase=1',
  ConfigMap: 'metadata=1:ObjectMeta data=2:map<s> binaryData=3:map<y> immutable=4:b?',
  Secret: 'metadata=1:ObjectMeta data=2:map<y> type=3 stringData=4:map<s> immutable=5:b?',
  ServiceAccount: 'metadata=1:ObjectMeta secrets=2:*ObjectReference imagePullSecrets=3:*LocalObjectReference automountServiceAccountToken=4:b?',
  ObjectReference: 'kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7',
  LocalObjectReference: 'name=1',
  Service: 'metadata=1:ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus',
  ServiceSpec: 'ports=1:*ServicePort selector=2:map<s> clusterIP=3 type=4 externalIPs=5:*s sessionAffinity=7 loadBalancerIP=8 loadBalancerSourceRanges=9:*s externalName=10 externalTrafficPolicy=11 healthCheckNodePort=12:i32 publishNotReadyAddresses=13:b ipFamilyPolicy=17:s? clusterIPs=18:*s ipFamilies=19:*s allocateLoadBalancerNodePorts=20:b? loadBalancerClass=21:s? internalTrafficPolicy=22:s? trafficDistribution=23:s?',
  ServicePort: 'name=1 protocol=2 port=3:i32 targetPort=4:ios nodePort=5:i32 appProtocol=6:s?',
  ServiceStatus: 'loadBalancer=1:LoadBalancerStatus',
  LoadBalancerStatus: '',
  Pod: 'metadata=1:ObjectMeta spec=2:PodSpec status=3:PodStatus',
  PodStatus: 'phase=1 message=3 reason=4 hostIP=5 podIP=6 qosClass=9 nominatedNodeName=11 resize=14 observedGeneration=17:i',
  PodTemplateSpec: 'metadata=1:ObjectMeta spec=2:PodSpec',
  PodSpec: 'volumes=1:*Volume containers=2:*Container restartPolicy=3 terminationGracePeriodSeconds=4:i? activeDeadlineSeconds=5:i? dnsPolicy=6 nodeSelector=7:map<s> serviceAccountName=8 serviceAccount=9 nodeName=10 hostNetwork=11:b hostPID=12:b hostIPC=13:b securityContext=14:PodSecurityContext? imagePullSecrets=15:*LocalObjectReference hostname=16 subdomain=17 schedulerName=19 initContainers=20:*Container automountServiceAccountToken=21:b? priorityClassName=24',
  PodSecurityContext: 'runAsUser=2:i? runAsNonRoot=3:b? fsGroup=5:i?',
  Volume: 'name=1 volumeSource=2:&VolumeSource',
  VolumeSource: 'emptyDir=2:EmptyDirVolumeSource? secret=6:SecretVolumeSource? configMap=19:ConfigMapVolumeSource?',
  EmptyDirVolumeSource: 'medium=1',
  SecretVolumeSource: 'secretName=1 defaultMode=3:i32? optional=4:b?',
  ConfigMapVolumeSource: 'localObjectReference=1:&LocalObjectReference defaultMode=3:i32? optional=4:b?',
  Container: 'name=1 image=2 command=3:*s args=4:*s workingDir=5 ports=6:*ContainerPort env=7:*EnvVar resources=8:ResourceRequirements volumeMounts=9:*VolumeMount terminationMessagePath=13 imagePullPolicy=14 stdin=16:b stdinOnce=17:b tty=18:b terminationMessagePolicy=20 restartPolicy=24:s?',
  ContainerPort: 'name=1 hostPort=2:i32 containerPort=3:i32 protocol=4 hostIP=5',
  EnvVar: 'name=1 value=2',
  VolumeMount: 'name=1 readOnly=2:b mountPath=3 subPath=4 mountPropagation=5:s? subPathExpr=6 recursiveReadOnly=7:s?',
  ResourceRequirements: 'limits=1:map<qty> requests=2:map<qty>',
  // apps/v1
  Deployment: 'metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus',
  DeploymentSpec: 'replicas=1:i32? selector=2:LabelSelector? template=3:PodTemplateSpec strategy=4:DeploymentStrategy minReadySeconds=5:i32 revisionHistoryLimit=6:i32? paused=7:b progressDeadlineSeconds=9:i32?',
  DeploymentStrategy: 'type=1 rollingUpdate=2:RollingUpdateDeployment?',
  RollingUpdateDeployment: 'maxUnavailable=1:ios? maxSurge=2:ios?',
  DeploymentStatus: 'observedGeneration=1:i replicas=2:i32 updatedReplicas=3:i32 availableReplicas=4:i32 unavailableReplicas=5:i32 conditions=6:*DeploymentCondition readyReplicas=7:i32 collisionCount=8:i32? terminatingReplicas=9:i32?',
  DeploymentCondition: 'type=1 status=2 reason=4 message=5 lastUpdateTime=6:time lastTransitionTime=7:time',
  // autoscaling/v1
  Scale: 'metadata=1:ObjectMeta spec=2:ScaleSpec status=3:ScaleStatus',
  ScaleSpec: 'replicas=1:i32',
  ScaleStatus: 'replicas=1:i32 selector=2',
  // rbac.authorization.k8s.io/v1
  Role: 'metadata=1:ObjectMeta rules=2:*PolicyRule',
  ClusterRole: 'metadata=1:ObjectMeta rules=2:*PolicyRule',
  PolicyRule: 'verbs=1:*s apiGroups=2:*s resources=3:*s resourceNames=4:*s nonResourceURLs=5:*s',
  RoleBinding: 'metadata=1:ObjectMeta subjects=2:*Subject roleRef=3:RoleRef',
  ClusterRoleBinding: 'metadata=1:ObjectMeta subjects=2:*Subject roleRef=3:RoleRef',
  Subject: 'kind=1 apiGroup=2 name=3 namespace=4',
  RoleRef: 'apiGroup=1 kind=2 name=3',
  // authentication.k8s.io/v1
  TokenRequest: 'metadata=1:ObjectMeta spec=2:TokenRequestSpec status=3:TokenRequestStatus',
  TokenRequestSpec: 'audiences=1:*s boundObjectRef=3:BoundObjectReference? expirationSeconds=4:i?',
  BoundObjectReference: 'kind=1 apiVersion=2 name=3 uid=4',
  TokenRequestStatus: 'token=1 expirationTimestamp=2:time',
};

function parse(type: string, src: string): MessageDef {
  const m = new Map<number, FieldDef>();
  for (const tok of src.split(/\s+/).filter(Boolean)) {
    const match = /^(\w+)=(\d+)(?::(\*|&)?(map<)?(\w+)>?)?(\?)?$/.exec(tok);
    if (!match) throw new Error(`bad protobuf schema token ${tok} in ${type}`);
    const [, name, num, prefix, map, fieldType, ptr] = match;
    m.set(Number(num), { name: name!, num: Number(num), type: fieldType ?? 's', repeated: prefix === '*', inline: prefix === '&', map: !!map, pointer: !!ptr });
  }
  return m;
}

export const MESSAGES: ReadonlyMap<string, MessageDef> = new Map(Object.entries(SRC).map(([k, v]) => [k, parse(k, v)]));

/** The kinds decoded as top-level objects, by `apiVersion kind`; their message is named after the kind. */
export const TOP_LEVEL_KINDS: ReadonlySet<string> = new Set([
  'v1 Namespace', 'v1 ConfigMap', 'v1 Secret', 'v1 ServiceAccount', 'v1 Service', 'v1 Pod', 'apps/v1 Deployment',
  'rbac.authorization.k8s.io/v1 Role', 'rbac.authorization.k8s.io/v1 RoleBinding',
  'rbac.authorization.k8s.io/v1 ClusterRole', 'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
  'authentication.k8s.io/v1 TokenRequest', 'autoscaling/v1 Scale',
]);

/** The `apiVersion kind` a request body must have, by `group/version resource[/subresource]` of its URL. */
export const KIND_BY_RESOURCE: ReadonlyMap<string, string> = new Map([
  ['/v1 namespaces', 'v1 Namespace'], ['/v1 namespaces/status', 'v1 Namespace'], ['/v1 namespaces/finalize', 'v1 Namespace'],
  ['/v1 configmaps', 'v1 ConfigMap'],
  ['/v1 secrets', 'v1 Secret'],
  ['/v1 serviceaccounts', 'v1 ServiceAccount'], ['/v1 serviceaccounts/token', 'authentication.k8s.io/v1 TokenRequest'],
  ['/v1 services', 'v1 Service'], ['/v1 services/status', 'v1 Service'],
  ['/v1 pods', 'v1 Pod'], ['/v1 pods/status', 'v1 Pod'],
  ['/v1 replicationcontrollers/scale', 'autoscaling/v1 Scale'],
  ['apps/v1 deployments', 'apps/v1 Deployment'], ['apps/v1 deployments/status', 'apps/v1 Deployment'],
  ['apps/v1 deployments/scale', 'autoscaling/v1 Scale'], ['apps/v1 replicasets/scale', 'autoscaling/v1 Scale'],
  ['apps/v1 statefulsets/scale', 'autoscaling/v1 Scale'],
  ['rbac.authorization.k8s.io/v1 roles', 'rbac.authorization.k8s.io/v1 Role'],
  ['rbac.authorization.k8s.io/v1 rolebindings', 'rbac.authorization.k8s.io/v1 RoleBinding'],
  ['rbac.authorization.k8s.io/v1 clusterroles', 'rbac.authorization.k8s.io/v1 ClusterRole'],
  ['rbac.authorization.k8s.io/v1 clusterrolebindings', 'rbac.authorization.k8s.io/v1 ClusterRoleBinding'],
]);
