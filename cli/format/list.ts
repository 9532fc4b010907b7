// The `list` table: one row per upgrade found through Temporal visibility.
import { renderTable } from './table.js';
import { formatTimestamp, orDash } from './values.js';

export interface UpgradeListRow {
  workflowId: string;
  runId: string;
  cluster?: string;
  phase?: string;
  sourceRevision?: string;
  targetRevision?: string;
  /** Temporal's execution status: Running, Completed, Failed, Terminated, ... */
  executionStatus: string;
  startTime: string;
  closeTime?: string;
}

export function renderUpgradeList(rows: readonly UpgradeListRow[], scope: { namespace: string; all: boolean }): string {
  if (rows.length === 0) {
    return scope.all
      ? `no upgrades found in namespace ${scope.namespace}`
      : `no running upgrades in namespace ${scope.namespace} (--all includes finished ones)`;
  }
  return renderTable(
    ['id', 'cluster', 'phase', 'source', 'target', 'status', 'started', 'closed'],
    rows.map((row) => [
      row.workflowId,
      orDash(row.cluster),
      orDash(row.phase),
      orDash(row.sourceRevision),
      orDash(row.targetRevision),
      row.executionStatus,
      formatTimestamp(row.startTime),
      formatTimestamp(row.closeTime),
    ]),
  );
}
