// The mutating webhook's decision (POST /mutate): an AdmissionReview v1 for a pod CREATE in, an AdmissionReview
// answer out, with seb's sidecar as a base64 RFC 6902 JSONPatch when the pod opted in.
// - not a pod creation, or a pod without the opt-in label: allowed unchanged (the validating webhook, not this one,
//   is what makes seb mandatory);
// - an opted-in pod that is already injected: allowed with no patch (injection converges);
// - an opted-in pod that cannot be injected (a container named seb, host namespaces, privileged containers, hostPath,
//   a token or one of seb's Secrets in the agent, no shared ledger configured ...): denied, SEB_INJECT_REFUSED,
//   saying what to change. The pod would otherwise run without its broker, or with one the agent can rob;
// - a malformed review: denied (SEB_ADMISSION_MALFORMED), with the uid echoed when it can be read, else a 400 Status;
//   never a crash, never an unchanged pod.
import type { SebConfig } from '../config/schema.ts';
import { sebError } from '../errors/codes.ts';
import { injectPodTemplate, optsIn, INJECT_LABEL, type InjectSettings } from './inject.ts';
import { diffJson } from './inject-patch.ts';
import { malformedAnswer, parseReview, reviewAnswer, type ReviewAnswer } from './review.ts';

export type { InjectSettings } from './inject.ts';

export function injectSettingsOf(config: SebConfig): InjectSettings {
  const i = config.inject;
  return {
    image: i.image,
    imagePullPolicy: i.imagePullPolicy,
    configMap: i.configMap,
    ledgerSecret: i.ledgerSecret,
    allowEmbeddedLedger: i.allowEmbeddedLedger,
    sebCredentialsSecret: i.sebCredentialsSecret,
    sebWebIdentity: i.sebWebIdentity ? { ...i.sebWebIdentity } : undefined,
    ports: { ...i.ports },
    runAsUser: i.runAsUser,
    resources: {
      requests: { ...i.resources.requests },
      limits: Object.fromEntries(Object.entries(i.resources.limits).filter(([, v]) => v !== undefined)) as Record<string, string>,
    },
    awsAgent: config.aws.agentAccessKeyId && config.aws.agentSecretAccessKey
      ? { accessKeyId: config.aws.agentAccessKeyId, secretAccessKey: config.aws.agentSecretAccessKey }
      : undefined,
  };
}

export function mutateReview(body: unknown, settings: InjectSettings): { status: number; body: object } {
  const parsed = parseReview(body);
  if (!parsed.ok) return malformedAnswer(parsed);
  const req = parsed.request;
  const isPodCreate = req.resource.group === '' && req.resource.resource === 'pods' && !req.subResource && req.operation === 'CREATE';
  if (!isPodCreate) return reviewAnswer(req.uid, { allowed: true });
  const pod: unknown = req.object;
  if (pod === null || pod === undefined) {
    return malformedAnswer({ ok: false, uid: req.uid, error: sebError('SEB_ADMISSION_MALFORMED', 'the review of a pod creation carries no object, so the pod cannot be given its sidecar and is denied') });
  }
  if (!optsIn(pod)) return reviewAnswer(req.uid, { allowed: true });
  const injected = injectPodTemplate(pod, settings);
  if (!injected.ok) return refused(req.uid, podName(pod, req.namespace), injected.message);
  const patch = diffJson(pod, injected.template);
  const answer = reviewAnswer(req.uid, { allowed: true, warnings: injected.notes.map((n) => `seb: ${n}`) });
  if (patch.length === 0) return answer;
  const response = (answer.body as { response: Record<string, unknown> }).response;
  response.patchType = 'JSONPatch';
  response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  return answer;
}

function refused(uid: string, pod: string, why: string): ReviewAnswer {
  const error = sebError('SEB_INJECT_REFUSED', `pod ${pod} asks for seb's sidecar (label ${INJECT_LABEL}=true) but cannot be given it: ${why}`);
  return reviewAnswer(uid, {
    allowed: false,
    status: { code: 403, reason: 'Forbidden', message: `seb denied this request (${error.code}): ${error.message}` },
  });
}

function podName(pod: unknown, namespace: string | undefined): string {
  const meta = (pod as { metadata?: { name?: unknown; generateName?: unknown } }).metadata;
  const name = typeof meta?.name === 'string' && meta.name ? meta.name : typeof meta?.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
  return namespace ? `${namespace}/${name}` : name;
}
