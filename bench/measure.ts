// What a benchmark run reads back after the fact: the apiserver's audit log
// (requests per client), the Deployments' own rollout timestamps (the physics
// the lower bound is made of), Temporal history sizes, and the worker's peak RSS.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { observedBurst } from '../limits/observed-burst.js';

export interface RequestStats {
  requests: number;
  peakPerSecond: number;
  /** The smallest burst that, at `ratePerSecond`, lets these requests through as the API server received them. */
  burstAtRate: number;
  /** Requests per user agent (the part before the first '/'). */
  byAgent: Record<string, number>;
}

/**
 * Audit events (stage ResponseComplete) received in [fromMs, toMs], by the clients
 * whose agent starts with `agent`, from the audit log and its rotated files.
 */
export function auditRequests(auditLogs: readonly string[], fromMs: number, toMs: number, agent: string, ratePerSecond: number): RequestStats {
  if (!auditLogs.length) throw new Error('no audit log: the benchmark lab must be created with LAB_KUBE_AUDIT=1');
  const byAgent: Record<string, number> = {};
  const received: number[] = [];
  for (const file of auditLogs) {
    // A file last written before the run began (rotated during an earlier run) holds none of it.
    if (statSync(file).mtimeMs < fromMs) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const event = JSON.parse(line) as { stage?: string; userAgent?: string; requestReceivedTimestamp?: string };
      if (event.stage !== 'ResponseComplete' || !event.requestReceivedTimestamp) continue;
      const at = Date.parse(event.requestReceivedTimestamp);
      if (at < fromMs || at > toMs) continue;
      const name = (event.userAgent ?? '').split('/')[0]!;
      byAgent[name] = (byAgent[name] ?? 0) + 1;
      if (event.userAgent?.startsWith(agent)) received.push(at);
    }
  }
  const perSecond = new Map<number, number>();
  for (const at of received) {
    const second = Math.floor(at / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  return { requests: received.length, peakPerSecond: Math.max(0, ...perSecond.values()), burstAtRate: observedBurst(received, ratePerSecond), byAgent };
}

interface DeploymentJson {
  metadata: { namespace: string; name: string };
  spec: { template: { metadata?: { annotations?: Record<string, string> } } };
  status?: { conditions?: Array<{ type: string; reason?: string; lastUpdateTime?: string }> };
}

/**
 * A stage's rollout as Kubernetes saw it: from the earliest restart token
 * (kubectl.kubernetes.io/restartedAt, written by the restart) to the latest
 * Deployment reporting NewReplicaSetAvailable. Second resolution (the condition's).
 */
export function stageRolloutMs(deployments: DeploymentJson[], namespaces: string[]): number {
  const scope = new Set(namespaces);
  let start = Infinity;
  let end = -Infinity;
  for (const d of deployments) {
    if (!scope.has(d.metadata.namespace)) continue;
    const token = d.spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
    const done = d.status?.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'NewReplicaSetAvailable')?.lastUpdateTime;
    if (!token || !done) throw new Error(`deployment ${d.metadata.namespace}/${d.metadata.name} has no restart token or finished rollout`);
    start = Math.min(start, Date.parse(token));
    end = Math.max(end, Date.parse(done));
  }
  if (!Number.isFinite(start)) throw new Error(`no deployments in ${namespaces.join(', ')}`);
  return Math.max(0, end - start);
}

/**
 * Resident memory of the largest node process under `rootPid`, in MB: `VmHWM`
 * is its peak since it started (workflow bundling included), `VmRSS` now.
 */
export function rssMb(rootPid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  let best = 0;
  for (const pid of [rootPid, ...descendants(rootPid)]) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const name = /^Name:\s+(\S+)/m.exec(status)?.[1];
      const hwm = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      if (name?.startsWith('node') || name === 'MainThread') best = Math.max(best, hwm / 1024);
    } catch {
      // gone
    }
  }
  return Math.round(best);
}

export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
