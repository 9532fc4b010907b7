// What `watch` prints between two polls: one line per thing that changed, so a
// terminal log reads like the runbook being executed.
import type { Decision, GateCheck, UpgradeStatus } from '../../workflows/messages.js';
import { describeWaitingFor, formatMeasurementValue } from './status.js';

export function describeStatusChanges(previous: UpgradeStatus, next: UpgradeStatus): string[] {
  const lines: string[] = [];
  if (previous.phase !== next.phase) lines.push(`phase: ${previous.phase} -> ${next.phase}`);
  if (previous.step !== next.step) lines.push(`step: ${next.step}`);
  if (previous.paused !== next.paused) lines.push(next.paused ? 'paused' : 'resumed');
  if (!previous.sourceRevision && next.sourceRevision) lines.push(`source revision: ${next.sourceRevision}`);
  if (next.backupLocation && previous.backupLocation !== next.backupLocation) lines.push(`backup: ${next.backupLocation}`);

  const waitingBefore = previous.waitingFor && describeWaitingFor(previous.waitingFor, previous.cluster);
  const waitingNow = next.waitingFor && describeWaitingFor(next.waitingFor, next.cluster);
  if (waitingNow && waitingNow !== waitingBefore) lines.push(`waiting for ${waitingNow}`);

  const statesBefore = new Map(previous.namespaces.map((ns) => [`${ns.wave}/${ns.name}`, ns.state]));
  for (const ns of next.namespaces) {
    const before = statesBefore.get(`${ns.wave}/${ns.name}`);
    if (before === ns.state) continue;
    const detail = ns.detail ? ` (${ns.detail})` : '';
    lines.push(`namespace ${ns.name} [${ns.wave}]: ${before ? `${before} -> ` : ''}${ns.state}${detail}`);
  }

  // Keyed, not counted: a status that keeps only recent checks must not hide new ones.
  const seenChecks = new Set(previous.gateChecks.map(checkKey));
  for (const check of next.gateChecks) if (!seenChecks.has(checkKey(check))) lines.push(describeGateCheck(check));

  const seenDecisions = new Set(previous.decisions.map(decisionKey));
  for (const decision of next.decisions) if (!seenDecisions.has(decisionKey(decision))) lines.push(describeDecision(decision));

  if (next.result && !previous.result) lines.push(`result: ${next.result.outcome}: ${next.result.reason}`);
  return lines;
}

export function describeGateCheck(check: GateCheck): string {
  const measurements = check.measurements.map(
    (m) => `${m.metric} ${m.phase} ${formatMeasurementValue(m)} (${m.error ?? m.reason})`,
  );
  return `gate ${check.stage} #${check.index}: ${measurements.join('; ') || 'no metrics'}`;
}

export function describeDecision(decision: Decision): string {
  const subject = decision.subject ? ` (${decision.subject})` : '';
  return `decision: ${decision.kind}${subject} by ${decision.by}: ${decision.reason}`;
}

function checkKey(check: GateCheck): string {
  return `${check.stage}#${check.index}@${check.at}`;
}

function decisionKey(decision: Decision): string {
  return `${decision.at}|${decision.kind}|${decision.by}|${decision.subject ?? ''}`;
}
