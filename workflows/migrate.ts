// Moving namespaces (and gateways) to the canary revision, each move paired
// with the undo that puts it back exactly as it was. A namespace moves in its own
// child workflow (workflows/namespace.ts); this run only starts it, marks the
// namespace around it and keeps the undo, a few history events per namespace.
import { ApplicationFailure, executeChild, isCancellation, rootCause, workflowInfo } from '@temporalio/workflow';
import { PermanentErrors, type InjectionLabels, type WorkloadRef } from '../activities/contract.js';
import { effectiveRevision, injectionLabelsFor } from '../mesh/revisions.js';
import { call, CLUSTER_CALL, waitCall } from './activities.js';
import { migrateNamespace as migrateNamespaceChild, restoreNamespace as restoreNamespaceChild, type NamespaceMoveInput } from './namespace.js';
import { upgradeWorkflowId } from './messages.js';
import type { Run } from './run.js';
import { UpgradeStopped } from './run.js';

/** See workflows/namespace.ts: fixed when the step starts, replayed from history. */
function restartToken(): string {
  return new Date().toISOString();
}

/**
 * Readable and unique per upgrade run: the cluster's upgrade id, a short form of
 * the run id (a later upgrade of the same cluster gets new children), the step
 * and the namespace. From the plan rather than workflowInfo().workflowId, which
 * a replay of a recorded history does not reproduce.
 */
export function childWorkflowId(cluster: string, action: 'migrate' | 'restore', namespace: string): string {
  return `${upgradeWorkflowId(cluster)}/${workflowInfo().runId.slice(0, 8)}/${action}-${namespace}`;
}

/** Relabel, restart, wait for the rollout, verify every proxy comes from the target: in a child workflow. */
export async function migrateNamespace(run: Run, namespace: string, group: string): Promise<void> {
  const { plan, state } = run;
  const target = plan.target.revision;
  const entry = state.namespace(namespace);
  const before = entry.labelsBefore!;

  // Pushed before the first change: a failure half-way through still restores.
  run.rollback.push(group, `restore namespace ${namespace}`, () => restoreNamespace(run, namespace, before));

  state.markNamespace(namespace, 'migrating');
  const moved = await moveInChild(run, 'migrate', namespace, { labels: injectionLabelsFor(target), revision: target, labelsBefore: before });
  entry.revisionAfter = target;
  entry.rolloutMs = moved.rolloutMs;
  state.markNamespace(namespace, 'migrated', `${moved.restarted} workloads restarted`);
}

async function restoreNamespace(run: Run, namespace: string, labels: InjectionLabels): Promise<void> {
  const entry = run.state.namespace(namespace);
  const revision = effectiveRevision(labels, run.meshBefore.tags) ?? run.sourceRevision;
  run.state.markNamespace(namespace, 'rolling-back');
  try {
    const restored = await moveInChild(run, 'restore', namespace, { labels, revision, labelsBefore: labels });
    entry.revisionAfter = revision;
    run.state.markNamespace(namespace, 'restored', restored.restarted ? `${restored.restarted} workloads restarted` : 'labels restored; no pod had left its revision');
  } catch (err) {
    // Someone deleted the namespace during the upgrade: there is nothing left to
    // restore, and the rest of the rollback is still complete. Said, not hidden.
    if (!isNamespaceGone(err)) throw err;
    run.state.markNamespace(namespace, 'failed', 'deleted during the upgrade: nothing to restore');
  }
}

function isNamespaceGone(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type === PermanentErrors.NamespaceNotFound) return true;
  }
  return false;
}

async function moveInChild(
  run: Run,
  action: 'migrate' | 'restore',
  namespace: string,
  move: Pick<NamespaceMoveInput, 'labels' | 'revision' | 'labelsBefore'>,
) {
  const { kinds, progressDeadlineMs } = run.plan.rollout;
  const input: NamespaceMoveInput = { namespace, kinds, progressDeadlineMs, ...move };
  try {
    return await executeChild(action === 'migrate' ? migrateNamespaceChild : restoreNamespaceChild, {
      workflowId: childWorkflowId(run.plan.cluster, action, namespace),
      args: [input],
      staticSummary: `${action} ${namespace} to revision ${move.revision}`,
    });
  } catch (err) {
    // Cancellation (abort) stays a cancellation; anything else names the namespace and the root cause.
    if (isCancellation(err)) throw err;
    // The cause is kept: a rollback tells a deleted namespace apart by it.
    throw new UpgradeStopped('migration', `${action} ${namespace}: ${rootCause(err) ?? String(err)}`, [], { cause: err });
  }
}

/** Step 7: gateways follow the revision through their pod-template label. */
export async function migrateGateways(run: Run): Promise<WorkloadRef[]> {
  const { plan, state } = run;
  const { namespace, selector } = plan.gateways;
  const target = plan.target.revision;
  const gateways = await call('listGateways', CLUSTER_CALL, `List gateways ${selector} in ${namespace}`, { namespace, selector });
  const token = restartToken();
  for (const gateway of gateways) {
    run.rollback.push('gateways', `restore gateway ${namespace}/${gateway.name}`, async () => {
      await call('setGatewayRevision', CLUSTER_CALL, `Restore gateway ${gateway.name} to ${gateway.revision ?? 'no revision label'}`, {
        namespace,
        name: gateway.name,
        revision: gateway.revision,
        token: restartToken(),
      });
      await call('waitForRollout', waitCall(plan.rollout.progressDeadlineMs), `Wait for gateway rollout in ${namespace}`, {
        namespace,
        kinds: ['Deployment'],
        progressDeadlineMs: plan.rollout.progressDeadlineMs,
      });
    });
    state.setStep(`moving gateway ${namespace}/${gateway.name} to ${target}`);
    await call('setGatewayRevision', CLUSTER_CALL, `Move gateway ${gateway.name} to revision ${target}`, { namespace, name: gateway.name, revision: target, token });
  }
  if (gateways.length) {
    await call('waitForRollout', waitCall(plan.rollout.progressDeadlineMs), `Wait for gateway rollout in ${namespace}`, {
      namespace,
      kinds: ['Deployment'],
      progressDeadlineMs: plan.rollout.progressDeadlineMs,
    });
  }
  return gateways.map((g) => ({ kind: 'Deployment', namespace, name: g.name }));
}
