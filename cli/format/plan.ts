// Human output for plan validation: every problem with its field path, or the
// steps the upgrade will run; plus the one-line summary and markdown details
// the Temporal UI shows for a started upgrade.
import { UI_CLIP_PADDING } from '../../workflows/details.js';
import { describePlan, formatPlanSteps } from '../../plan/index.js';
import type { PlanError, ResolvedPlan } from '../../plan/types.js';

export function renderPlanErrors(file: string, errors: readonly PlanError[]): string {
  const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
  return [`${file} is invalid (${count}):`, ...errors.map((error) => `  ${error.path || '(document)'}: ${error.message}`)].join('\n');
}

export function renderValidPlan(file: string, plan: ResolvedPlan): string {
  return [`${file} is valid: ${upgradeSummary(plan)}`, '', formatPlanSteps(describePlan(plan))].join('\n');
}

/** The static one-line summary of a started upgrade. */
export function upgradeSummary(plan: ResolvedPlan): string {
  return `Istio ${plan.target.version} canary upgrade of ${plan.cluster} (rev ${plan.target.revision})`;
}

/** The static markdown details of a started upgrade: who, from where to where, and the planned steps. */
export function upgradeDetails(plan: ResolvedPlan, startedBy: string): string {
  return [
    `**Plan:** ${plan.name}  `,
    `**Cluster:** ${plan.cluster}  `,
    `**Target:** Istio ${plan.target.version}, revision \`${plan.target.revision}\` (from ${plan.source.revision ?? 'the detected revision'})  `,
    `**Started by:** ${startedBy}`,
    '',
    '**Steps:**',
    '',
    // The numbered list with indented bullets is already markdown.
    formatPlanSteps(describePlan(plan)),
    UI_CLIP_PADDING,
  ].join('\n');
}
