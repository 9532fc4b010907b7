// The orchestrator's own metrics, emitted from workflow code. The SDK drops
// them while a workflow replays (after a worker restart or a cache eviction),
// so each event is counted once, when it really happens. The worker adds
// namespace, taskQueue and workflowType; we add the cluster. Served on the
// worker's /metrics (worker/metrics.ts), documented in docs/observability.md.
import { metricMeter } from '@temporalio/workflow';
import { worstOf } from '../gates/verdict.js';
import type { GateAssessment } from '../gates/verdict.js';
import type { GateCheck, UpgradeResult } from './messages.js';
import { UpgradeStopped } from './run.js';

export type ApprovalOutcome = 'approved' | 'rejected' | 'timed-out' | 'aborted';

/** Why a rollback started: a StopKind, or an operator abort, a cancellation, an activity that gave up. */
export type RollbackReason = UpgradeStopped['kind'] | 'abort' | 'cancelled' | 'error';

export function rollbackReason(aborted: boolean, cancelled: boolean, err: unknown): RollbackReason {
  if (aborted) return 'abort';
  if (err instanceof UpgradeStopped) return err.kind;
  return cancelled ? 'cancelled' : 'error';
}

/** One gate check: its verdict is the worst of its measurements; each measurement counted by metric too. */
export function countGateCheck(cluster: string, check: GateCheck): void {
  const verdict = worstOf(check.measurements.map((m) => m.phase));
  metricMeter.createCounter('istio_canary_gate_checks_total', undefined, 'Gate checks by verdict (worst of their measurements)').add(1, { cluster, stage: check.stage, verdict });
  const measurements = metricMeter.createCounter('istio_canary_gate_measurements_total', undefined, 'Gate measurements by metric and phase');
  for (const m of check.measurements) measurements.add(1, { cluster, stage: check.stage, metric: m.metric, phase: m.phase });
}

/** A soak's outcome once the gate decided (passed, failed, or inconclusive past its limit). */
export function countGateVerdict(cluster: string, stage: string, verdict: GateAssessment['verdict']): void {
  if (verdict === 'continue') return;
  metricMeter.createCounter('istio_canary_gate_verdicts_total', undefined, 'Gate decisions at the end of a soak').add(1, { cluster, stage, verdict });
}

export function countRollback(cluster: string, reason: RollbackReason): void {
  metricMeter.createCounter('istio_canary_rollbacks_total', undefined, 'Rollbacks started, by reason').add(1, { cluster, reason });
}

export function countFinished(cluster: string, outcome: UpgradeResult['outcome']): void {
  metricMeter.createCounter('istio_canary_upgrades_finished_total', undefined, 'Upgrades that ended, by outcome').add(1, { cluster, outcome });
}

export function recordApprovalWait(cluster: string, startedAtMs: number, outcome: ApprovalOutcome): void {
  const seconds = Math.max(0, (Date.now() - startedAtMs) / 1000);
  metricMeter.createHistogram('istio_canary_approval_wait_seconds', 'float', 's', 'Time an upgrade waited for an approval answer').record(seconds, { cluster, outcome });
}
