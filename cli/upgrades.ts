// The CLI's reads of Temporal: find an upgrade, ask it for its status, list
// upgrades through visibility. Calls that need a worker to answer carry a
// deadline, so a missing worker is reported instead of hanging.
import { WorkflowNotFoundError } from '@temporalio/common';
import type { WorkflowExecutionDescription, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { statusQuery, TASK_QUEUE, upgradeWorkflowId, WORKFLOW_TYPE, type UpgradeStatus } from '../workflows/messages.js';
import { ClusterAttr, PhaseAttr, SourceRevisionAttr, TargetRevisionAttr } from '../workflows/search-attributes.js';
import type { TemporalSession } from './context.js';
import { CliError, refused, rootMessage } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { UpgradeListRow } from './format/list.js';

/** How long a query or update may wait for a worker before we say none is running. */
export const WORKER_ANSWER_TIMEOUT_MS = 15_000;

export interface UpgradeSelector {
  cluster?: string;
  id?: string;
  /** One run of the workflow id (an earlier upgrade of the same cluster); default the latest. */
  runId?: string;
}

export interface FoundUpgrade {
  workflowId: string;
  handle: WorkflowHandle;
  description: WorkflowExecutionDescription;
}

/** The workflow id a selector names, or undefined when it names none (then: the only running upgrade). */
export function selectedWorkflowId(selector: UpgradeSelector): string | undefined {
  if (selector.cluster && selector.id) throw refused('name a cluster or --id, not both');
  if (selector.id) return selector.id;
  if (selector.cluster) return upgradeWorkflowId(selector.cluster);
  return undefined;
}

export async function findUpgrade(session: TemporalSession, selector: UpgradeSelector): Promise<FoundUpgrade> {
  const workflowId = selectedWorkflowId(selector) ?? (await onlyRunningUpgrade(session));
  // Without a run id the handle follows the latest run, so a re-started upgrade is found.
  const handle = session.client.workflow.getHandle(workflowId, selector.runId);
  try {
    return { workflowId, handle, description: await handle.describe() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      if (selector.runId) throw refused(`no run ${selector.runId} of upgrade ${workflowId} found in namespace ${session.target.namespace} (see: istio-canary list --all)`);
      throw noSuchUpgrade(workflowId, session);
    }
    throw err;
  }
}

export function noSuchUpgrade(workflowId: string, session: TemporalSession): CliError {
  return refused(`no upgrade ${workflowId} found in namespace ${session.target.namespace}`);
}

async function onlyRunningUpgrade(session: TemporalSession): Promise<string> {
  const running = await listUpgrades(session, { all: false });
  const [only] = running;
  if (only && running.length === 1) return only.workflowId;
  if (running.length === 0) {
    throw refused(`no running upgrade in namespace ${session.target.namespace}; name a cluster or --id`);
  }
  throw refused(`${running.length} upgrades are running (${running.map((row) => row.workflowId).join(', ')}); name a cluster or --id`);
}

export async function queryStatus(session: TemporalSession, upgrade: FoundUpgrade): Promise<UpgradeStatus> {
  return withWorkerDeadline(session, `the status query of ${upgrade.workflowId}`, () => upgrade.handle.query(statusQuery));
}

/** Runs a call that a worker must answer; past the deadline, says which worker is missing. */
export async function withWorkerDeadline<T>(session: TemporalSession, what: string, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + WORKER_ANSWER_TIMEOUT_MS;
  try {
    return await session.connection.withDeadline(deadline, call);
  } catch (err) {
    // The server answers at once, instead of waiting, when no worker polled the queue lately.
    if (Date.now() < deadline && !/no poller seen for task queue/i.test(rootMessage(err))) throw err;
    throw new CliError(
      `no worker answered ${what} within ${WORKER_ANSWER_TIMEOUT_MS / 1000}s: is \`istio-canary worker\` running ` +
        `on task queue ${TASK_QUEUE} in namespace ${session.target.namespace}?`,
      ExitCode.Crashed,
    );
  }
}

/**
 * Whether any worker polled the task queue recently (the server remembers pollers
 * for a few minutes); undefined when the server would not say.
 */
export async function workerIsPolling(session: TemporalSession): Promise<boolean | undefined> {
  try {
    const response = await session.client.workflowService.describeTaskQueue({
      namespace: session.target.namespace,
      taskQueue: { name: TASK_QUEUE },
    });
    return (response.pollers?.length ?? 0) > 0;
  } catch {
    return undefined;
  }
}

export interface ListFilter {
  /** Include finished upgrades. */
  all: boolean;
  cluster?: string;
}

/** The visibility query behind `list`. */
export function upgradeListQuery(filter: ListFilter): string {
  const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`];
  if (!filter.all) clauses.push(`ExecutionStatus = 'Running'`);
  if (filter.cluster !== undefined) {
    // Cluster names are DNS-1123-like; anything else could break out of the quoted literal.
    if (!/^[A-Za-z0-9._-]+$/.test(filter.cluster)) throw refused(`invalid cluster name ${JSON.stringify(filter.cluster)}`);
    clauses.push(`${ClusterAttr.name} = '${filter.cluster}'`);
  }
  return clauses.join(' AND ');
}

export async function listUpgrades(session: TemporalSession, filter: ListFilter): Promise<UpgradeListRow[]> {
  const rows: UpgradeListRow[] = [];
  for await (const info of session.client.workflow.list({ query: upgradeListQuery(filter) })) rows.push(toListRow(info));
  return rows;
}

export function toListRow(info: WorkflowExecutionInfo): UpgradeListRow {
  const attributes = info.typedSearchAttributes;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    cluster: attributes.get(ClusterAttr),
    phase: attributes.get(PhaseAttr),
    sourceRevision: attributes.get(SourceRevisionAttr),
    targetRevision: attributes.get(TargetRevisionAttr),
    executionStatus: info.status.name,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
  };
}
