// Reading a kube-apiserver audit log (the lab writes one with LAB_KUBE_AUDIT=1):
// what one identity asked the API server for, grouped the way RBAC rules are
// written. scripts/rbac-requests.ts prints it; docs/deploy.md says how deploy/'s
// rules were derived from it.

interface AuditEvent {
  stage?: string;
  verb?: string;
  requestURI?: string;
  user?: { username?: string };
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

export interface RequestSummary {
  apiGroup: string;
  resource: string;
  verb: string;
  scope: string;
  names: string[];
  denied: number;
  count: number;
}

/** Groups one user's completed requests by (group, resource/subresource, verb, namespace or cluster). */
export function summarizeRequests(lines: Iterable<string>, user: string): RequestSummary[] {
  const rows = new Map<string, RequestSummary>();
  for (const line of lines) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as AuditEvent;
    if (event.stage !== 'ResponseComplete' || event.user?.username !== user) continue;
    const ref = event.objectRef;
    const resource = ref?.resource ? `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}` : `(url) ${event.requestURI?.split('?')[0]}`;
    const apiGroup = ref?.apiGroup ?? '';
    const scope = ref?.namespace ?? '(cluster)';
    const verb = event.verb ?? '?';
    const key = [apiGroup, resource, verb, scope].join('|');
    const row = rows.get(key) ?? { apiGroup, resource, verb, scope, names: [], denied: 0, count: 0 };
    row.count++;
    if (event.responseStatus?.code === 403) row.denied++;
    if (ref?.name && !row.names.includes(ref.name)) row.names.push(ref.name);
    rows.set(key, row);
  }
  return [...rows.values()].sort(
    (a, b) => a.apiGroup.localeCompare(b.apiGroup) || a.resource.localeCompare(b.resource) || a.scope.localeCompare(b.scope) || a.verb.localeCompare(b.verb),
  );
}
