// `tsx scripts/rbac-requests.ts AUDIT_LOG [USER]`: what one identity really asked
// the API server for, read from a kube-apiserver audit log (the lab writes one
// with LAB_KUBE_AUDIT=1). One line per API group, resource, verb and namespace
// scope, with the names touched: the evidence deploy/'s RBAC rules are written
// from, and the way to re-derive them for a new Istio version (docs/deploy.md).
import { readFileSync } from 'node:fs';
import { summarizeRequests } from '../lab/audit-log.js';
import { WORKER_USER } from '../lab/worker-identity.js';

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
