// A first reading of a Kubernetes API request for logs and metrics: the verb and the resource path.
export interface KubeRequestSummary {
  readonly verb: string;
  readonly operation: string;
}

const VERBS: Readonly<Record<string, string>> = {
  GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete',
};

export function identifyKube(input: { method: string; url: URL }): KubeRequestSummary {
  const watching = ['1', 'true'].includes(input.url.searchParams.get('watch') ?? '');
  const verb = watching ? 'watch' : (VERBS[input.method] ?? input.method.toLowerCase());
  return { verb, operation: `${verb} ${input.url.pathname}` };
}
