// Protobuf field numbers of the Kubernetes messages kubectl sends as protobuf request bodies
// (k8s.io/api generated.proto, proto2). Checked against every protobuf body recorded in the HAR fixtures
// (test/kube-apiserver-tests/protobuf.test.ts compares our decoding with their `_decodedProtobuf`).
// DSL: `jsonName=fieldNumber[:type]`; type: s string (default), i int, b bool, y bytes (base64 in JSON),
// time, qty (Quantity), ios (IntOrString), fv1 (FieldsV1), raw (RawExtension), or a message name.
// Prefix `*` = repeated, `map<T>` = map<string,T>, suffix `?` = pointer field (zero value is kept).

export interface FieldDef { name: string; num: number; type: string; repeated: boolean; map: boolean; pointer: boolean }
export type MessageDef = Map<number, FieldDef>;

const SRC: Record<string, string> = {
  // apimachinery meta/v1
  ObjectMeta: 'name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 generation=7:i creationTimestamp=8:time deletionTimestamp=9:time deletionGracePeriodSeconds=10:i? labels=11:map<s> annotations=12:map<s> ownerReferences=13:*OwnerReference finalizers=14:*s managedFields=17:*ManagedFieldsEntry',
  ListMeta: 'selfLink=1 resourceVersion=2 continue=3 remainingItemCount=4:i?',
  OwnerReference: 'kind=1 name=3 uid=4 apiVersion=5 controller=6:b? blockOwnerDeletion=7:b?',
  ManagedFieldsEntry: 'manager=1 operation=2 apiVersion=3 time=4:time fieldsType=6 fieldsV1=7:fv1 subresource=8',
  LabelSelector: 'matchLabels=1:map<s> matchExpressions=2:*LabelSelectorRequirement',
  LabelSelectorRequirement: 'key=1 operator=2 values=3:*s',
  Status: 'metadata=1:ListMeta status=2 message=3 reason=4 details=5:StatusDetails code=6:i',
  StatusDetails: 'name=1 group=2 kind=3 causes=4:*StatusCause retryAfterSeconds=5:i uid=6',
  StatusCause: 'reason=1 message=2 field=3',
  DeleteOptions: 'gracePeriodSeconds=1:i? preconditions=2:Preconditions orphanDependents=3:b? propagationPolicy=4 dryRun=5:*s',
  Preconditions: 'uid=1 resourceVersion=2',
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
  ServiceSpec: 'ports=1:*ServicePort selector=2:map<s> clusterIP=3 type=4 externalIPs=5:*s sessionAffinity=7 loadBalancerIP=8 externalName=10 clusterIPs=18:*s',
  ServicePort: 'name=1 protocol=2 port=3:i targetPort=4:ios nodePort=5:i appProtocol=6',
  ServiceStatus: '',
  Pod: 'metadata=1:ObjectMeta spec=2:PodSpec status=3:PodStatus',
  PodStatus: 'phase=1',
  PodTemplateSpec: 'metadata=1:ObjectMeta spec=2:PodSpec',
  PodSpec: 'volumes=1:*Volume containers=2:*Container restartPolicy=3 terminationGracePeriodSeconds=4:i? activeDeadlineSeconds=5:i? dnsPolicy=6 nodeSelector=7:map<s> serviceAccountName=8 serviceAccount=9 nodeName=10 hostNetwork=11:b hostPID=12:b hostIPC=13:b securityContext=14:PodSecurityContext imagePullSecrets=15:*LocalObjectReference hostname=16 subdomain=17 schedulerName=19 initContainers=20:*Container automountServiceAccountToken=21:b? priorityClassName=24',
  PodSecurityContext: 'runAsUser=2:i? runAsNonRoot=3:b? fsGroup=5:i?',
  Volume: 'name=1 volumeSource=2:VolumeSource',
  VolumeSource: 'emptyDir=2:EmptyDirVolumeSource secret=6:SecretVolumeSource configMap=19:ConfigMapVolumeSource',
  EmptyDirVolumeSource: 'medium=1',
  SecretVolumeSource: 'secretName=1',
  ConfigMapVolumeSource: 'localObjectReference=1:LocalObjectReference',
  Container: 'name=1 image=2 command=3:*s args=4:*s workingDir=5 ports=6:*ContainerPort env=7:*EnvVar resources=8:ResourceRequirements volumeMounts=9:*VolumeMount terminationMessagePath=13 imagePullPolicy=14 stdin=16:b stdinOnce=17:b tty=18:b terminationMessagePolicy=20 restartPolicy=24',
  ContainerPort: 'name=1 hostPort=2:i containerPort=3:i protocol=4 hostIP=5',
  EnvVar: 'name=1 value=2',
  VolumeMount: 'name=1 readOnly=2:b mountPath=3 subPath=4',
  ResourceRequirements: 'limits=1:map<qty> requests=2:map<qty>',
  // apps/v1, autoscaling/v1
  Deployment: 'metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus',
  DeploymentSpec: 'replicas=1:i? selector=2:LabelSelector template=3:PodTemplateSpec strategy=4:DeploymentStrategy minReadySeconds=5:i revisionHistoryLimit=6:i? paused=7:b progressDeadlineSeconds=9:i?',
  DeploymentStrategy: 'type=1 rollingUpdate=2:RollingUpdateDeployment',
  RollingUpdateDeployment: 'maxUnavailable=1:ios maxSurge=2:ios',
  DeploymentStatus: 'observedGeneration=1:i replicas=2:i updatedReplicas=3:i availableReplicas=4:i unavailableReplicas=5:i conditions=6:*DeploymentCondition readyReplicas=7:i collisionCount=8:i? terminatingReplicas=9:i?',
  DeploymentCondition: 'type=1 status=2 reason=4 message=5 lastUpdateTime=6:time lastTransitionTime=7:time',
  Scale: 'metadata=1:ObjectMeta spec=2:ScaleSpec status=3:ScaleStatus',
  ScaleSpec: 'replicas=1:i',
  ScaleStatus: 'replicas=1:i selector=2',
  // rbac/v1
  Role: 'metadata=1:ObjectMeta rules=2:*PolicyRule',
  ClusterRole: 'metadata=1:ObjectMeta rules=2:*PolicyRule',
  PolicyRule: 'verbs=1:*s apiGroups=2:*s resources=3:*s resourceNames=4:*s nonResourceURLs=5:*s',
  RoleBinding: 'metadata=1:ObjectMeta subjects=2:*Subject roleRef=3:RoleRef',
  ClusterRoleBinding: 'metadata=1:ObjectMeta subjects=2:*Subject roleRef=3:RoleRef',
  Subject: 'kind=1 apiGroup=2 name=3 namespace=4',
  RoleRef: 'apiGroup=1 kind=2 name=3',
  // authentication/v1
  TokenRequest: 'metadata=1:ObjectMeta spec=2:TokenRequestSpec status=3:TokenRequestStatus',
  TokenRequestSpec: 'audiences=1:*s boundObjectRef=3:BoundObjectReference expirationSeconds=4:i?',
  BoundObjectReference: 'kind=1 apiVersion=2 name=3 uid=4',
  TokenRequestStatus: 'token=1 expirationTimestamp=2:time',
  SelfSubjectReview: 'metadata=1:ObjectMeta status=2:SelfSubjectReviewStatus',
  SelfSubjectReviewStatus: 'userInfo=1:UserInfo',
  UserInfo: 'username=1 uid=2 groups=3:*s extra=4:map<ExtraValue>',
  ExtraValue: 'items=1:*s',
  // authorization/v1
  SelfSubjectAccessReview: 'metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec status=3:SubjectAccessReviewStatus',
  SelfSubjectAccessReviewSpec: 'resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes',
  SubjectAccessReview: 'metadata=1:ObjectMeta spec=2:SubjectAccessReviewSpec status=3:SubjectAccessReviewStatus',
  SubjectAccessReviewSpec: 'resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes user=3 groups=4:*s extra=5:map<ExtraValue> uid=6',
  ResourceAttributes: 'namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7',
  NonResourceAttributes: 'path=1 verb=2',
  SubjectAccessReviewStatus: 'allowed=1:b reason=2 evaluationError=3 denied=4:b',
  SelfSubjectRulesReview: 'metadata=1:ObjectMeta spec=2:SelfSubjectRulesReviewSpec status=3:SubjectRulesReviewStatus',
  SelfSubjectRulesReviewSpec: 'namespace=1',
  SubjectRulesReviewStatus: 'resourceRules=1:*ResourceRule nonResourceRules=2:*NonResourceRule incomplete=3:b evaluationError=4',
  ResourceRule: 'verbs=1:*s apiGroups=2:*s resources=3:*s resourceNames=4:*s',
  NonResourceRule: 'verbs=1:*s nonResourceURLs=2:*s',
};

function parse(src: string): MessageDef {
  const m: MessageDef = new Map();
  for (const tok of src.split(/\s+/).filter(Boolean)) {
    const match = /^(\w+)=(\d+)(?::(\*?)(map<)?([\w]+)>?)?(\?)?$/.exec(tok);
    if (!match) throw new Error(`bad proto schema token ${tok}`);
    const [, name, num, star, map, type, ptr] = match;
    m.set(Number(num), { name: name!, num: Number(num), type: type ?? 's', repeated: star === '*', map: !!map, pointer: !!ptr });
  }
  return m;
}

export const MESSAGES: ReadonlyMap<string, MessageDef> = new Map(Object.entries(SRC).map(([k, v]) => [k, parse(v)]));
