// Activity proxies with named timeout/retry presets. Every call carries a
// one-line summary so the Temporal UI says what each activity does to what.
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { UpgradeActivities } from '../activities/contract.js';
import { PermanentErrors } from '../activities/contract.js';

const permanent = Object.values(PermanentErrors);

/** Kubernetes reads and patches: quick, retried through an API-server outage. */
export const CLUSTER_CALL: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '15 minutes',
  // A mutating call in flight when an abort arrives finishes before rollback starts.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', nonRetryableErrorTypes: permanent },
};

/** Preflight reads: an unreachable cluster should fail the run in minutes, not wait out an outage. */
export const PREFLIGHT_CALL: ActivityOptions = { ...CLUSTER_CALL, scheduleToCloseTimeout: '2 minutes' };

/**
 * Backup lists 13 kinds across the whole cluster; a large mesh takes minutes.
 * It heartbeats after each kind, so a worker that dies mid-backup is noticed in
 * a minute rather than at the 10-minute limit.
 */
export const BACKUP_CALL: ActivityOptions = { ...CLUSTER_CALL, startToCloseTimeout: '10 minutes', scheduleToCloseTimeout: '30 minutes', heartbeatTimeout: '1 minute' };

/** istioctl install/uninstall/tag: minutes, retried a few times; the activity heartbeats every 10 s, so a dead worker is noticed in a minute. */
export const ISTIOCTL_CALL: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 4, nonRetryableErrorTypes: permanent },
};

/** How long a wait rides out failed attempts (an API server outage) before the run gives up on it. */
const WAIT_OUTAGE_BUDGET_MS = 10 * 60_000;

/**
 * Long waits (rollouts, istiod readiness) heartbeat so a dead worker is noticed
 * quickly. Retried by time, not by count: an API server that is down refuses
 * each attempt at once, and a limit of five attempts (2+4+8+16 s apart) is
 * used up by 30 s of outage. The wait keeps its own progress clock across
 * attempts (heartbeat details), so retrying never extends the progress deadline.
 */
export function waitCall(deadlineMs: number): ActivityOptions {
  return {
    startToCloseTimeout: deadlineMs + 120_000,
    scheduleToCloseTimeout: deadlineMs + 120_000 + WAIT_OUTAGE_BUDGET_MS,
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: permanent },
  };
}


/** Prometheus queries: query failures come back as data, so few retries are needed. */
export const METRICS_CALL: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', maximumAttempts: 3, nonRetryableErrorTypes: permanent },
};

// Defaults stay minimal: each call passes its full preset, which is merged over these.
const activities = proxyActivities<UpgradeActivities>({ startToCloseTimeout: '1 minute' });

type Name = keyof UpgradeActivities;
type Fn<K extends Name> = UpgradeActivities[K];

/** Runs one activity with the given preset and UI summary. */
export function call<K extends Name>(
  name: K,
  options: ActivityOptions,
  summary: string,
  ...args: Parameters<Fn<K>>
): ReturnType<Fn<K>> {
  const fn = activities[name] as unknown as {
    executeWithOptions(o: ActivityOptions, a: Parameters<Fn<K>>): ReturnType<Fn<K>>;
  };
  return fn.executeWithOptions({ ...options, summary }, args);
}
