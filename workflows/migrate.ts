// Moving namespaces (and gateways) to the canary revision, each move paired
// with the undo that puts it back exactly as it was.
import { ActivityFailure, ApplicationFailure, sleep } from '@temporalio/workflow';
import { PermanentErrors, type InjectionLabels, type WorkloadRef } from '../activities/contract.js';
import { describeLabels, effectiveRevision, injectionLabelsFor } from '../mesh/revisions.js';
import { call, CLUSTER_CALL, waitCall } from './activities.js';
import type { Run } from './run.js';
import { UpgradeStopped } from './run.js';

/**
 * The restart token written to `kubectl.kubernetes.io/restartedAt`. It is fixed
 * when the step starts and replayed from history, so a retried restart activity
 * sees its own token and restarts nothing twice.
 */
function restartToken(): string {
  return new Date().toISOString();
}

/** Relabel, restart, wait for the rollout, verify every proxy comes from the target. */
export async function migrateNamespace(run: Run, namespace: string, group: string): Promise<void> {
  const { plan, state } = run;
  const target = plan.target.revision;
  const entry = state.namespace(namespace);
  const before = entry.labelsBefore!;

  // Pushed before the first change: a failure half-way through still restores.
  run.rollback.push(group, `restore namespace ${namespace}`, () => restoreNamespace(run, namespace, before));

  await call('setNamespaceInjection', CLUSTER_CALL, `Label ${namespace} istio.io/rev=${target} (was ${describeLabels(before)})`, {
    namespace,
    labels: injectionLabelsFor(target),
  });
  state.markNamespace(namespace, 'relabelled');

  await restartAndVerify(run, namespace, target, restartToken(), 'migrate');
  entry.revisionAfter = target;
  state.markNamespace(namespace, 'migrated');
}

async function restoreNamespace(run: Run, namespace: string, labels: InjectionLabels): Promise<void> {
  const { state } = run;
  const entry = state.namespace(namespace);
  const wasRestarted = entry.state !== 'pending' && entry.state !== 'relabelled';
  state.markNamespace(namespace, 'rolling-back');
  try {
    await call('setNamespaceInjection', CLUSTER_CALL, `Restore ${namespace} labels to ${describeLabels(labels)}`, { namespace, labels });
    const revision = effectiveRevision(labels, run.meshBefore.tags) ?? run.sourceRevision;
    if (wasRestarted) await restartAndVerify(run, namespace, revision, restartToken(), 'rollback');
    entry.revisionAfter = revision;
    state.markNamespace(namespace, 'restored');
  } catch (err) {
    // Someone deleted the namespace during the upgrade: there is nothing left to
    // restore, and the rest of the rollback is still complete. Said, not hidden.
    if (!isNamespaceGone(err)) throw err;
    state.markNamespace(namespace, 'failed', 'deleted during the upgrade: nothing to restore');
  }
}

function isNamespaceGone(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === PermanentErrors.NamespaceNotFound;
}

async function restartAndVerify(run: Run, namespace: string, revision: string, token: string, why: string): Promise<void> {
  const { plan, state } = run;
  const { kinds, progressDeadlineMs } = plan.rollout;
  const restart = await call('restartWorkloads', CLUSTER_CALL, `Restart ${kinds.join('/')} in ${namespace} (${why}, token ${token})`, {
    namespace,
    kinds,
    token,
  });
  if (why === 'migrate') state.markNamespace(namespace, 'restarted', `${restart.restarted.length + restart.alreadyRestarted.length} workloads restarted`);
  await call('waitForRollout', waitCall(progressDeadlineMs), `Wait for rollout in ${namespace}`, { namespace, kinds, progressDeadlineMs });
  await verifyProxies(run, namespace, revision);
}

/** Pods of the old ReplicaSet can still be terminating right after the rollout; look a few times. */
async function verifyProxies(run: Run, namespace: string, revision: string): Promise<void> {
  let report = await call('checkProxyRevision', CLUSTER_CALL, `Verify proxies in ${namespace} come from ${revision}`, { namespace, revision });
  for (let attempt = 1; report.mismatched.length && attempt < 4; attempt++) {
    await sleep(attempt * 5_000, { summary: `let terminating pods in ${namespace} go` });
    report = await call('checkProxyRevision', CLUSTER_CALL, `Verify proxies in ${namespace} come from ${revision} (again)`, { namespace, revision });
  }
  if (report.mismatched.length) {
    const sample = report.mismatched.slice(0, 5).map((p) => `${p.pod} on ${p.revision ?? 'no proxy'}`).join(', ');
    throw new UpgradeStopped('migration', `${report.mismatched.length} pods in ${namespace} are not on revision ${revision}: ${sample}`);
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
