// Is a workload's rollout complete? A pure reading of one Deployment,
// StatefulSet or DaemonSet object, following the rules `kubectl rollout status`
// applies, plus the readiness numbers our contract reports. Pure: unit-tested
// on plain objects.

import type { WorkloadKind } from '../plan/types.js';

/** The parts of a workload object a rollout verdict reads (client-node's V1* types fit). */
export interface WorkloadObject {
  metadata?: { name?: string; generation?: number };
  spec?: {
    replicas?: number;
    paused?: boolean;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number; maxUnavailable?: unknown } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
    conditions?: Array<{ type: string; status?: string; reason?: string; message?: string }>;
  };
}

export interface RolloutProgress {
  /** complete: nothing left to do; progressing: wait; failed: waiting cannot help. */
  state: 'complete' | 'progressing' | 'failed';
  /** What the workload still lacks (or why it failed), in words; empty when complete. */
  lacking: string[];
  /** Desired pods: spec.replicas (default 1), or desiredNumberScheduled for a DaemonSet. */
  replicas: number;
  readyReplicas: number;
  /** Changes whenever the controller makes progress; equal values mean "no progress". */
  fingerprint: string;
}

export function rolloutProgress(kind: WorkloadKind, workload: WorkloadObject): RolloutProgress {
  switch (kind) {
    case 'Deployment':
      return deploymentProgress(workload);
    case 'StatefulSet':
      return statefulSetProgress(workload);
    case 'DaemonSet':
      return daemonSetProgress(workload);
  }
}

function generationLag(workload: WorkloadObject): string | undefined {
  const generation = workload.metadata?.generation ?? 0;
  const observed = workload.status?.observedGeneration ?? 0;
  return observed < generation ? `controller has not observed generation ${generation} yet (observed ${observed})` : undefined;
}

function verdict(lacking: string[], replicas: number, readyReplicas: number, numbers: unknown[], failed?: string): RolloutProgress {
  const fingerprint = JSON.stringify(numbers);
  if (failed !== undefined) return { state: 'failed', lacking: [failed, ...lacking], replicas, readyReplicas, fingerprint };
  return { state: lacking.length ? 'progressing' : 'complete', lacking, replicas, readyReplicas, fingerprint };
}

function deploymentProgress(workload: WorkloadObject): RolloutProgress {
  const status = workload.status ?? {};
  const desired = workload.spec?.replicas ?? 1;
  const total = status.replicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const ready = status.readyReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const numbers = [workload.status?.observedGeneration, total, updated, ready, available];

  const lag = generationLag(workload);
  if (lag) return verdict([lag], desired, ready, numbers);

  const lacking: string[] = [];
  if (updated < desired) lacking.push(`${updated}/${desired} replicas updated`);
  if (total > updated) lacking.push(`${total - updated} old replicas pending termination`);
  if (ready < desired) lacking.push(`${ready}/${desired} replicas ready`);
  if (available < desired) lacking.push(`${available}/${desired} replicas available`);

  // The deployment controller gave up: waiting longer cannot help.
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return verdict(lacking, desired, ready, numbers, `progress deadline exceeded${progressing.message ? `: ${progressing.message}` : ''}`);
  }
  if (lacking.length && workload.spec?.paused) {
    return verdict(lacking, desired, ready, numbers, 'the Deployment is paused, so its rollout cannot progress');
  }
  return verdict(lacking, desired, ready, numbers);
}

function statefulSetProgress(workload: WorkloadObject): RolloutProgress {
  const status = workload.status ?? {};
  const desired = workload.spec?.replicas ?? 1;
  const total = status.replicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const ready = status.readyReplicas ?? 0;
  const available = status.availableReplicas ?? ready;
  const numbers = [status.observedGeneration, total, updated, ready, available, status.currentRevision, status.updateRevision];

  const lag = generationLag(workload);
  if (lag) return verdict([lag], desired, ready, numbers);

  const lacking: string[] = [];
  const partition = workload.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (partition > 0) {
    // Only the ordinals at or above the partition are updated.
    const toUpdate = Math.max(desired - partition, 0);
    if (updated < toUpdate) lacking.push(`${updated}/${toUpdate} replicas updated (partition ${partition})`);
  } else {
    if (updated < desired) lacking.push(`${updated}/${desired} replicas updated`);
    if (status.updateRevision !== status.currentRevision) lacking.push(`revision ${status.updateRevision ?? '?'} not yet current`);
  }
  if (total > desired) lacking.push(`${total - desired} extra replicas pending termination`);
  if (ready < desired) lacking.push(`${ready}/${desired} replicas ready`);
  if (available < desired) lacking.push(`${available}/${desired} replicas available`);

  if (lacking.length && workload.spec?.updateStrategy?.type === 'OnDelete') {
    return verdict(lacking, desired, ready, numbers, 'updateStrategy OnDelete: pods are replaced only when deleted, so a restart cannot roll them');
  }
  return verdict(lacking, desired, ready, numbers);
}

function daemonSetProgress(workload: WorkloadObject): RolloutProgress {
  const status = workload.status ?? {};
  const desired = status.desiredNumberScheduled ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  const ready = status.numberReady ?? 0;
  const available = status.numberAvailable ?? 0;
  const numbers = [status.observedGeneration, desired, updated, ready, available];

  const lag = generationLag(workload);
  if (lag) return verdict([lag], desired, ready, numbers);

  const lacking: string[] = [];
  if (updated < desired) lacking.push(`${updated}/${desired} pods updated`);
  if (ready < desired) lacking.push(`${ready}/${desired} pods ready`);
  if (available < desired) lacking.push(`${available}/${desired} pods available`);

  if (lacking.length && workload.spec?.updateStrategy?.type === 'OnDelete') {
    return verdict(lacking, desired, ready, numbers, 'updateStrategy OnDelete: pods are replaced only when deleted, so a restart cannot roll them');
  }
  return verdict(lacking, desired, ready, numbers);
}
