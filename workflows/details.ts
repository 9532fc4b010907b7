// The markdown the Temporal UI shows as the upgrade's current details. Pure:
// a function of the status, so it is unit-tested and identical on replay.
import { formatNumber } from '../gates/verdict.js';
import type { GateCheck, UpgradeStatus } from './messages.js';

/**
 * Temporal UI 2.42 sizes its markdown frame about 30 px short, hiding the last
 * line; an empty trailing paragraph is what gets hidden instead.
 */
export const UI_CLIP_PADDING = '\n\u00a0';

export function renderDetails(status: UpgradeStatus): string {
  const lines: string[] = [];
  lines.push(`**Phase:** ${status.phase}${status.paused ? ' (paused)' : ''}  `);
  lines.push(`**Now:** ${status.step}  `);
  lines.push(`**Revisions:** ${status.sourceRevision ?? '?'} → ${status.targetRevision}  `);
  if (status.currentWave) lines.push(`**Wave:** ${status.currentWave}  `);
  if (status.waitingFor?.kind === 'approval') {
    const deadline = status.waitingFor.deadline ? ` before ${status.waitingFor.deadline} (then ${status.waitingFor.onTimeout})` : '';
    lines.push(`**Waiting for approval** of ${status.waitingFor.subject}${deadline}: \`istio-canary approve ${status.cluster}\`  `);
  } else if (status.waitingFor?.kind === 'resume') {
    lines.push(`**Waiting for resume:** ${status.waitingFor.reason}  `);
  }
  const done = status.namespaces.filter((n) => n.state === 'migrated').length;
  lines.push('', `**Namespaces:** ${done}/${status.namespaces.length} migrated`, '');
  lines.push('| namespace | wave | state | before | after |', '| --- | --- | --- | --- | --- |');
  for (const ns of status.namespaces) {
    lines.push(`| ${ns.name} | ${ns.wave} | ${ns.state} | ${ns.revisionBefore ?? ''} | ${ns.revisionAfter ?? ''} |`);
  }
  const last = status.gateChecks.at(-1);
  if (last) lines.push('', renderCheck(last));
  if (status.result) lines.push('', `**Result:** ${status.result.outcome}: ${status.result.reason}`);
  lines.push(UI_CLIP_PADDING);
  return lines.join('\n');
}

export function renderCheck(check: GateCheck): string {
  const rows = check.measurements.map(
    (m) => `| ${m.metric} | ${m.phase} | ${m.value === null ? 'no data' : formatNumber(m.value)} | ${m.threshold} | ${m.reason} |`,
  );
  return [
    `**Last gate check** (${check.stage} #${check.index}, ${check.at}):`,
    '',
    '| metric | verdict | value | threshold | reason |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}


