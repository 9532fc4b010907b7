// `tsx scripts/rbac-requests.ts AUDIT_LOG [USER]`: what one identity really asked
// the API server for, read from a kube-apiserver audit log (the lab writes one
// with LAB_KUBE_AUDIT=1). One line per API group, resource, verb and namespace
// scope, with the names touched: the evidence deploy/'s RBAC rules are written
// from, and the way to re-derive them for a new Istio version (docs/deploy.md).
import { readFileSync } from 'node:fs';
import { WORKER_USER } from '../lab/worker-identity.js';

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

function main(): void {
  const [file, user = WORKER_USER] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx scripts/rbac-requests.ts AUDIT_LOG [USER]\n');
    process.exit(2);
  }
  for (const row of summarizeRequests(readFileSync(file, 'utf8').split('\n'), user)) {
    const names = row.names.length > 6 ? `${row.names.slice(0, 6).join(',')},… (${row.names.length})` : row.names.join(',');
    const denied = row.denied ? ` DENIED ${row.denied}` : '';
    process.stdout.write(`${row.apiGroup || 'core'}\t${row.resource}\t${row.verb}\t${row.scope}\t${row.count}${denied}\t${names}\n`);
  }
}

main();
