// The human view of an upgrade's status: where it is, what it waits for, every
// namespace, the latest numbers behind each gate metric, and who decided what.
import type { Decision, GateCheck, Measurement, NamespaceStatus, UpgradeResult, UpgradeStatus, WaitingFor } from '../../workflows/messages.js';
import { renderTable } from './table.js';
import { formatNumber, formatTimestamp, orDash } from './values.js';

export interface StatusView {
  workflowId: string;
  runId?: string;
  /** Temporal's view of the execution: Running, Completed, Terminated, ... */
  executionStatus?: string;
  status: UpgradeStatus;
}

export function renderStatus(view: StatusView): string {
  const { status } = view;
  const sections = [renderHeader(view), renderNamespaces(status.namespaces), renderGate(status.gateChecks), renderDecisions(status.decisions)];
  if (status.result) sections.push(renderResult(status.result));
  return sections.join('\n\n');
}

const HEADER_LABEL_WIDTH = 'Waiting for'.length;

function renderHeader({ workflowId, executionStatus, status }: StatusView): string {
  const fields: Array<[string, string]> = [
    ['Upgrade', executionStatus ? `${workflowId} (${executionStatus})` : workflowId],
    ['Plan', `${status.plan} on cluster ${status.cluster}`],
    ['Revisions', `${status.sourceRevision ?? '(detecting)'} -> ${status.targetRevision}`],
    ['Phase', status.paused ? `${status.phase} (paused)` : status.phase],
    ['Step', status.step],
  ];
  if (status.waitingFor) fields.push(['Waiting for', describeWaitingFor(status.waitingFor, status.cluster)]);
  if (status.currentWave) fields.push(['Wave', status.currentWave]);
  if (status.backupLocation) fields.push(['Backup', status.backupLocation]);
  // A fixed label column, so values line up the same way in every status.
  return fields.map(([label, value]) => `${label.padEnd(HEADER_LABEL_WIDTH)}  ${value}`).join('\n');
}

/** One line that also says which command answers the wait. */
export function describeWaitingFor(waitingFor: WaitingFor, cluster: string): string {
  if (waitingFor.kind === 'resume') return `resume (${waitingFor.reason}): istio-canary resume ${cluster}`;
  const deadline = waitingFor.deadline ? ` until ${formatTimestamp(waitingFor.deadline)}, then ${waitingFor.onTimeout}` : '';
  return `approval of ${waitingFor.subject}${deadline}: istio-canary approve ${cluster}`;
}

function renderNamespaces(namespaces: readonly NamespaceStatus[]): string {
  if (namespaces.length === 0) return 'Namespaces: none yet';
  const migrated = namespaces.filter((ns) => ns.state === 'migrated').length;
  const rows = namespaces.map((ns) => [ns.name, ns.wave, ns.state, orDash(ns.revisionBefore), orDash(ns.revisionAfter), orDash(ns.detail)]);
  return `Namespaces (${migrated}/${namespaces.length} migrated)\n` + renderTable(['name', 'wave', 'state', 'before', 'after', 'detail'], rows);
}

export interface LatestMeasurement {
  check: GateCheck;
  measurement: Measurement;
}

/** The most recent measurement of each metric, in the order metrics first appeared. */
export function latestMeasurementPerMetric(checks: readonly GateCheck[]): LatestMeasurement[] {
  const latest = new Map<string, LatestMeasurement>();
  for (const check of checks) {
    for (const measurement of check.measurements) latest.set(measurement.metric, { check, measurement });
  }
  return [...latest.values()];
}

export function formatMeasurementValue(measurement: Measurement): string {
  return measurement.error ? 'error' : formatNumber(measurement.value);
}

function renderGate(checks: readonly GateCheck[]): string {
  if (checks.length === 0) return 'Gate: no checks yet';
  const rows = latestMeasurementPerMetric(checks).map(({ check, measurement: m }) => [
    m.metric,
    `${check.stage} #${check.index}`,
    formatTimestamp(check.at),
    m.phase,
    formatMeasurementValue(m),
    m.requests === null ? '-' : formatNumber(m.requests),
    m.threshold,
    m.error ?? m.reason,
  ]);
  return (
    `Gate (${checks.length} checks; latest per metric)\n` +
    renderTable(['metric', 'check', 'at', 'verdict', 'value', 'requests', 'threshold', 'reason'], rows)
  );
}

function renderDecisions(decisions: readonly Decision[]): string {
  if (decisions.length === 0) return 'Decisions: none yet';
  const rows = decisions.map((d) => [formatTimestamp(d.at), d.kind, d.by, orDash(d.subject), d.reason]);
  const sections = ['Decisions\n' + renderTable(['at', 'kind', 'by', 'subject', 'reason'], rows)];
  const evidence = renderGateEvidence(decisions);
  if (evidence) sections.push(evidence);
  return sections.join('\n\n');
}

/**
 * The numbers behind every gate decision that stopped or held the upgrade; a passed
 * gate's reason already says enough, and `-o json` has the numbers of every decision.
 */
export function renderGateEvidence(decisions: readonly Decision[]): string | undefined {
  const rows = decisions
    .filter((d) => d.kind === 'gate' && d.evidence?.length && !d.reason.startsWith('passed'))
    .flatMap((d) =>
      d.evidence!.map((e) => [
        orDash(d.subject),
        `#${e.check}`,
        e.metric,
        e.phase,
        formatNumber(e.value),
        e.requests === null ? '-' : formatNumber(e.requests),
        e.threshold,
        e.reason,
      ]),
    );
  if (rows.length === 0) return undefined;
  return 'Evidence behind gate decisions\n' + renderTable(['decision', 'check', 'metric', 'verdict', 'value', 'requests', 'threshold', 'reason'], rows);
}

function renderResult(result: UpgradeResult): string {
  const lines = [`Result: ${result.outcome}: ${result.reason}`];
  for (const error of result.rollbackErrors) lines.push(`  rollback error: ${error}`);
  return lines.join('\n');
}
