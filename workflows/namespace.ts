// One namespace's move, as its own child workflow: its relabel, restart, rollout
// wait and proxy checks live in the child's small history, so the upgrade's own
// history grows by a few events per namespace however many workloads it holds.
// Both directions converge on a target (labels, proxy revision), so a child that
// is retried, replayed or started for a namespace half-way through is harmless.
import { ApplicationFailure, sleep } from '@temporalio/workflow';
import type { InjectionLabels } from '../activities/contract.js';
import type { WorkloadKind } from '../plan/types.js';
import { describeLabels } from '../mesh/revisions.js';
import { call, CLUSTER_CALL, waitCall } from './activities.js';

export interface NamespaceMoveInput {
  namespace: string;
  /** Labels the namespace ends with. */
  labels: InjectionLabels;
  /** Revision every pod's proxy must come from afterwards. */
  revision: string;
  /** Labels it had before, for the summaries only. */
  labelsBefore: InjectionLabels;
  kinds: WorkloadKind[];
  progressDeadlineMs: number;
}

export interface NamespaceMoveResult {
  /** Workloads restarted (0 when a restore found nothing to restart). */
  restarted: number;
  /** Restart plus rollout wait: the part of the move a rollout bounds. */
  rolloutMs: number;
}

/**
 * The restart token written to `kubectl.kubernetes.io/restartedAt`. It is fixed
 * when the step starts and replayed from history, so a retried restart activity
 * sees its own token and restarts nothing twice.
 */
function restartToken(): string {
  return new Date().toISOString();
}

/** Relabel, restart, wait for the rollout, verify every proxy comes from the target. */
export async function migrateNamespace(input: NamespaceMoveInput): Promise<NamespaceMoveResult> {
  const { namespace, labels, labelsBefore, revision } = input;
  await call('setNamespaceInjection', CLUSTER_CALL, `Label ${namespace} ${describeLabels(labels)} (was ${describeLabels(labelsBefore)})`, { namespace, labels });
  return restartAndVerify(input, 'migrate', revision);
}

/**
 * Put the recorded labels back, then restart only if some pod runs another
 * revision's proxy: a migration cancelled before its restart leaves nothing to undo.
 */
export async function restoreNamespace(input: NamespaceMoveInput): Promise<NamespaceMoveResult> {
  const { namespace, labels, revision } = input;
  await call('setNamespaceInjection', CLUSTER_CALL, `Restore ${namespace} labels to ${describeLabels(labels)}`, { namespace, labels });
  const report = await call('checkProxyRevision', CLUSTER_CALL, `Which proxies in ${namespace} left ${revision}`, { namespace, revision });
  if (!report.mismatched.length) return { restarted: 0, rolloutMs: 0 };
  return restartAndVerify(input, 'rollback', revision);
}

async function restartAndVerify(input: NamespaceMoveInput, why: string, revision: string): Promise<NamespaceMoveResult> {
  const { namespace, kinds, progressDeadlineMs } = input;
  const token = restartToken();
  const started = Date.now();
  const restart = await call('restartWorkloads', CLUSTER_CALL, `Restart ${kinds.join('/')} in ${namespace} (${why}, token ${token})`, { namespace, kinds, token });
  await call('waitForRollout', waitCall(progressDeadlineMs), `Wait for rollout in ${namespace}`, { namespace, kinds, progressDeadlineMs });
  const rolloutMs = Date.now() - started;
  await verifyProxies(namespace, revision);
  return { restarted: restart.restarted.length + restart.alreadyRestarted.length, rolloutMs };
}

/** Pods of the old ReplicaSet can still be terminating right after the rollout; look a few times. */
async function verifyProxies(namespace: string, revision: string): Promise<void> {
  let report = await call('checkProxyRevision', CLUSTER_CALL, `Verify proxies in ${namespace} come from ${revision}`, { namespace, revision });
  for (let attempt = 1; report.mismatched.length && attempt < 4; attempt++) {
    await sleep(attempt * 5_000, { summary: `let terminating pods in ${namespace} go` });
    report = await call('checkProxyRevision', CLUSTER_CALL, `Verify proxies in ${namespace} come from ${revision} (again)`, { namespace, revision });
  }
  if (report.mismatched.length) {
    const sample = report.mismatched.slice(0, 5).map((p) => `${p.pod} on ${p.revision ?? 'no proxy'}`).join(', ');
    throw ApplicationFailure.nonRetryable(`${report.mismatched.length} pods in ${namespace} are not on revision ${revision}: ${sample}`, 'ProxyMismatch');
  }
}
