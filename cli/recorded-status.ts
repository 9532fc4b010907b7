// The status of a finished upgrade when no worker answers the status query: the
// result the workflow returned is in its history, and it carries every decision
// and the gate numbers behind them. Namespaces and step timings live only in the
// workflow's memory, so they need a worker (which replays the history to answer).
import type { UpgradeResult, UpgradeStatus } from '../workflows/messages.js';
import { ClusterAttr, SourceRevisionAttr, TargetRevisionAttr } from '../workflows/search-attributes.js';
import type { FoundUpgrade } from './upgrades.js';

export const RECORDED_STATUS_NOTE =
  'no worker answered the status query; shown from the result recorded in the workflow history (namespaces and step timings need a running worker)';

/** The recorded result as a status, or undefined when the run closed without one (terminated, timed out). */
export async function recordedStatus(upgrade: FoundUpgrade): Promise<UpgradeStatus | undefined> {
  let result: UpgradeResult;
  try {
    result = (await upgrade.handle.result()) as UpgradeResult;
  } catch {
    return undefined;
  }
  const attributes = upgrade.description.typedSearchAttributes;
  return {
    plan: '(see the workflow input)',
    cluster: attributes.get(ClusterAttr) ?? '(unknown)',
    phase: result.outcome,
    step: result.reason,
    paused: false,
    sourceRevision: attributes.get(SourceRevisionAttr),
    targetRevision: attributes.get(TargetRevisionAttr) ?? '(unknown)',
    namespaces: [],
    gateChecks: result.evidence,
    decisions: result.decisions ?? [],
    timings: [],
    result,
  };
}
