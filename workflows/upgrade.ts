// The Istio canary upgrade, as the runbook in DESIGN.md describes it:
// preflight, backup, install the canary revision, canary wave with soak,
// approval, waves, gateways, finalize, and a saga rollback when anything fails.
import { CancellationScope, isCancellation, log, sleep, workflowInfo } from '@temporalio/workflow';
import { formatDuration } from '../plan/duration.js';
import { effectiveRevision } from '../mesh/revisions.js';
import { BACKUP_CALL, call, CLUSTER_CALL, ISTIOCTL_CALL, waitCall } from './activities.js';
import { awaitApproval } from './approval.js';
import { Control } from './control.js';
import type { UpgradeInput, UpgradeResult } from './messages.js';
import { migrateGateways, migrateNamespace } from './migrate.js';
import { notify, settleNotifications } from './notify.js';
import { countRollback, rollbackReason } from './metrics.js';
import { preflight, type WavePlan } from './preflight.js';
import { errorMessage, RollbackStack } from './rollback.js';
import type { Run } from './run.js';
import { UpgradeStopped } from './run.js';
import { soak } from './soak.js';
import { UpgradeState } from './state.js';

export async function istioCanaryUpgrade(input: UpgradeInput): Promise<UpgradeResult> {
  const { plan } = input;
  const state = new UpgradeState(plan);
  const control = new Control(state);
  // Recorded before the handlers exist: an update sent with the start runs as soon as they do.
  state.decide({ kind: 'start', by: input.startedBy, reason: `upgrade to ${plan.target.version} (revision ${plan.target.revision})` });
  control.register();
  const rollback = new RollbackStack();
  const run: Run = { plan, state, control, rollback, sourceRevision: '', meshBefore: { revisions: [], tags: {}, namespaces: [] } };

  try {
    await CancellationScope.cancellable(async () => {
      control.forward = CancellationScope.current();
      await forward(run);
    });
    return await settleNotifications(run, state.finish({ outcome: 'completed', reason: `every namespace runs revision ${plan.target.revision}`, evidence: state.status.gateChecks, rollbackErrors: [] }));
  } catch (err) {
    return await settleNotifications(run, await stop(run, err));
  }
}

async function forward(run: Run): Promise<void> {
  const { plan, state, control, rollback } = run;
  const target = plan.target.revision;

  // 1. Preflight
  state.setPhase('preflight', 'checking the cluster, istioctl, namespaces and Prometheus');
  const checked = await state.timed('preflight', () => preflight(run));
  run.sourceRevision = checked.sourceRevision;
  run.meshBefore = checked.meshBefore;
  state.setSourceRevision(checked.sourceRevision);
  registerNamespaces(run, checked.waves);
  notify(run, 'started', `upgrade to Istio ${plan.target.version} started: ${state.status.namespaces.length} namespaces, canary ${plan.canary.namespaces.join(', ')}`);

  // 2. Backup, beside step 3: installing a revision adds none of the exported
  // kinds, so the export need not hold up the install.
  await control.checkpoint();
  state.setPhase('backup', 'exporting Istio custom resources');
  const backup = state.timed('backup', () =>
    call('backupIstioResources', BACKUP_CALL, 'Export the 13 kinds of Istio custom resources', { cluster: plan.cluster, upgradeId: upgradeId() }),
  );

  // 3. Install the canary revision (gateways untouched: profile minimal)
  state.setPhase('install', `installing istiod revision ${target} (and exporting Istio custom resources)`);
  const preexisting = run.meshBefore.revisions.some((r) => r.revision === target);
  if (!preexisting && plan.rollback.uninstallCanary) {
    rollback.push('install', `uninstall canary revision ${target}`, async () => {
      await call('istioctlUninstall', ISTIOCTL_CALL, `Uninstall canary revision ${target}`, { istioctl: plan.target.istioctl, revision: target });
    });
  }
  const install = state.timed('install', async () => {
    await call('istioctlInstall', ISTIOCTL_CALL, `istioctl install revision ${target} (profile ${plan.target.profile})`, {
      istioctl: plan.target.istioctl,
      revision: target,
      profile: plan.target.profile,
      ...(plan.target.overlay ? { overlay: plan.target.overlay } : {}),
    });
    await call('waitForIstiod', waitCall(plan.rollout.progressDeadlineMs), `Wait for istiod-${target} to be Ready`, {
      revision: target,
      timeoutMs: plan.rollout.progressDeadlineMs,
    });
  });
  const [exported] = await settleBoth(backup, install);
  state.status.backupLocation = exported.location;

  // 4. Canary wave, then soak with gates
  await control.checkpoint();
  state.setPhase('canary', `migrating canary namespaces ${plan.canary.namespaces.join(', ')}`);
  await state.timed('canary', async () => {
    await migrateBatches(run, 'canary', [plan.canary.namespaces]);
    await soak(run, 'canary', plan.canary.namespaces, plan.canary.soakMs);
  });

  // 5. Approval before promotion
  if (plan.approval.beforePromotion === 'required') {
    state.setPhase('awaiting-approval', 'waiting for approval to promote');
    await state.timed('approval', () => awaitApproval(run, 'promotion'));
  }

  // 6. Waves
  for (const wave of checked.waves) {
    await control.checkpoint();
    state.status.currentWave = wave.name;
    if (wave.approval === 'required') {
      state.setPhase('awaiting-approval', `waiting for approval of wave ${wave.name}`);
      await awaitApproval(run, `wave ${wave.name}`);
    }
    const namespaces = wave.batches.flat();
    state.setPhase('waves', `wave ${wave.name}: migrating ${namespaces.length} namespaces`);
    if (!namespaces.length) continue;
    await state.timed(`wave ${wave.name}`, async () => {
      await migrateBatches(run, wave.name, wave.batches);
      await soak(run, wave.name, namespaces, wave.soakMs);
    });
  }
  state.status.currentWave = undefined;

  // 7. Gateways, gated on the ingress traffic they send
  if (plan.gateways.enabled) {
    await control.checkpoint();
    state.setPhase('gateways', `moving gateways ${plan.gateways.selector} in ${plan.gateways.namespace}`);
    await state.timed('gateways', async () => {
      const moved = await migrateGateways(run);
      if (moved.length) await soak(run, 'gateways', [plan.gateways.namespace], plan.gateways.soakMs, 'ingress');
    });
  }

  // 8. Finalize: move tags, then (after a grace period, with no proxy left on it) remove the old revision
  await control.checkpoint();
  state.setPhase('finalize', `moving tags ${plan.finalize.moveTags.join(', ') || '(none)'} to ${target}`);
  await state.timed('finalize', () => finalize(run));
}

async function finalize(run: Run): Promise<void> {
  const { plan, state, control, rollback } = run;
  const target = plan.target.revision;
  for (const tag of plan.finalize.moveTags) {
    const previous = run.meshBefore.tags[tag];
    if (previous) {
      rollback.push('tags', `point tag ${tag} back at ${previous}`, async () => {
        await call('istioctlTagSet', ISTIOCTL_CALL, `Point tag ${tag} back at ${previous}`, { istioctl: plan.target.istioctl, tag, revision: previous });
      });
    }
    await call('istioctlTagSet', ISTIOCTL_CALL, `Point tag ${tag} at ${target}`, { istioctl: plan.target.istioctl, tag, revision: target });
  }
  if (!plan.finalize.uninstallOld) return;

  state.setStep(`waiting ${formatDuration(plan.finalize.uninstallOldAfterMs)} before removing revision ${run.sourceRevision}`);
  await sleep(plan.finalize.uninstallOldAfterMs, { summary: `grace period before removing revision ${run.sourceRevision}` });
  await control.checkpoint();
  const left = await call('countProxiesOnRevision', CLUSTER_CALL, `Count proxies still on ${run.sourceRevision}`, { revision: run.sourceRevision });
  if (left.pods > 0) {
    state.decide({
      kind: 'gate',
      by: 'istio-canary',
      reason: `kept revision ${run.sourceRevision}: ${left.pods} pods in ${left.namespaces.join(', ')} still run its proxy`,
      subject: 'uninstall old revision',
    });
    return;
  }
  control.pointOfNoReturn = true;
  state.setStep(`uninstalling revision ${run.sourceRevision}`);
  await call('istioctlUninstall', ISTIOCTL_CALL, `Uninstall old revision ${run.sourceRevision}`, { istioctl: plan.target.istioctl, revision: run.sourceRevision });
}

async function migrateBatches(run: Run, group: string, batches: string[][]): Promise<void> {
  for (const batch of batches) {
    await run.control.checkpoint();
    // allSettled: every namespace of the batch finishes its step before a failure
    // hands over to rollback, so no activity is still mutating during the undo.
    const results = await Promise.allSettled(batch.map((ns) => migrateNamespace(run, ns, group)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

function registerNamespaces(run: Run, waves: WavePlan[]): void {
  const add = (name: string, wave: string) => {
    const snapshot = run.meshBefore.namespaces.find((n) => n.name === name);
    const labels = snapshot?.labels ?? { 'istio-injection': null, 'istio.io/rev': null };
    run.state.addNamespace({
      name,
      wave,
      state: 'pending',
      labelsBefore: labels,
      revisionBefore: effectiveRevision(labels, run.meshBefore.tags) ?? run.sourceRevision,
    });
  };
  run.plan.canary.namespaces.forEach((ns) => add(ns, 'canary'));
  waves.forEach((w) => w.batches.flat().forEach((ns) => add(ns, w.name)));
}

/** Leaves the forward path: decide between rollback, stop, or plain failure, and report. */
async function stop(run: Run, err: unknown): Promise<UpgradeResult> {
  const { state, control, rollback } = run;
  const abort = control.abortRequest;
  const cancelled = isCancellation(err);
  let reason: string;
  let evidence = state.status.gateChecks;
  if (abort) {
    reason = `aborted by ${abort.by}: ${abort.reason?.trim() || '(no reason given)'}`;
  } else if (err instanceof UpgradeStopped) {
    reason = err.message;
    if (err.evidence.length) evidence = err.evidence;
    if (err.kind === 'preflight') {
      return state.finish({ outcome: 'failed', reason: `preflight failed: ${reason}`, evidence, rollbackErrors: [] });
    }
  } else if (cancelled) {
    reason = 'the workflow was cancelled';
  } else {
    reason = errorMessage(err);
  }
  log.warn('upgrade stopped', { reason });

  if (abort && !abort.rollback) {
    const migrated = state.status.namespaces.filter((n) => n.state !== 'pending').map((n) => `${n.name} (${n.state})`);
    return state.finish({
      outcome: 'aborted',
      reason: `${reason}; no rollback: ${migrated.length ? `left as they are: ${migrated.join(', ')}` : 'nothing had been migrated'}`,
      evidence,
      rollbackErrors: [],
    });
  }
  if (control.pointOfNoReturn) {
    return state.finish({ outcome: 'failed', reason: `${reason}; the old revision was being uninstalled, so no rollback was attempted`, evidence, rollbackErrors: [] });
  }

  state.setWaiting(undefined);
  state.setPhase('rolling-back', `rolling back: ${reason}`);
  state.decide({ kind: 'rollback', by: 'istio-canary', reason, subject: `${rollback.size} undo steps` });
  countRollback(run.plan.cluster, rollbackReason(abort !== undefined, cancelled, err));
  const rollbackErrors = await CancellationScope.nonCancellable(() =>
    state.timed('rollback', () => rollback.unwind((label) => state.setStep(`rollback: ${label}`))),
  );
  const outcome = rollbackErrors.length ? 'failed' : abort ? 'aborted' : 'rolled-back';
  const suffix = rollbackErrors.length ? `; rollback incomplete: ${rollbackErrors.join('; ')}` : '; every change was undone';
  return state.finish({ outcome, reason: `${reason}${suffix}`, evidence, rollbackErrors });
}

/** Both finish (nothing still running into a rollback) before the first failure is thrown. */
async function settleBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [first, second] = await Promise.allSettled([a, b]);
  if (first.status === 'rejected') throw first.reason;
  if (second.status === 'rejected') throw second.reason;
  return [first.value, second.value];
}

/** Stable across retries and replays of this run, distinct between runs. */
function upgradeId(): string {
  const { workflowId, runId } = workflowInfo();
  return `${workflowId}-${runId}`;
}
