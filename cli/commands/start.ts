// `istio-canary start -f plan.yaml`: validate the plan, then start the upgrade
// workflow. The workflow id is derived from the cluster and a running id is never
// reused, so a second upgrade of the same cluster is refused, not queued.
import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair } from '@temporalio/common';
import type { Command } from 'commander';
import type { ResolvedPlan } from '../../plan/types.js';
import { TASK_QUEUE, upgradeWorkflowId, WORKFLOW_TYPE, type UpgradeInput } from '../../workflows/messages.js';
import { ClusterAttr, PhaseAttr, SourceRevisionAttr, TargetRevisionAttr } from '../../workflows/search-attributes.js';
import type { CliContext, TemporalSession } from '../context.js';
import { refused, type CliError } from '../errors.js';
import { upgradeDetails, upgradeSummary } from '../format/plan.js';
import { workerIsPolling } from '../upgrades.js';
import { actorName, addExamples, addOutputOption, parseActor, parseWorkflowId, type OutputOptions } from '../options.js';
import type { CommandOutput } from '../output.js';
import { checkPlanFile } from './plan.js';

interface StartOptions extends OutputOptions {
  file: string;
  id?: string;
  by?: string;
}

export function registerStartCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('start')
    .description('validate a plan and start the upgrade it describes')
    .requiredOption('-f, --file <path>', 'plan file (YAML)')
    .option('--id <workflowId>', 'workflow id (default: istio-canary-<cluster>, one upgrade per cluster)', parseWorkflowId)
    .option('--by <name>', 'who starts it, for the audit trail (default: $USER)', parseActor);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary start -f plan.yaml',
    'istio-canary start -f plan.yaml --by alice && istio-canary watch prod-eu',
  ]);
  command.action(async (options: StartOptions) => ctx.emit(await startUpgrade(ctx, options), options.output));
}

async function startUpgrade(ctx: CliContext, options: StartOptions): Promise<CommandOutput> {
  const { plan, output: refusal } = await checkPlanFile(options.file);
  if (!plan) return refusal;

  const session = await ctx.temporal();
  const workflowId = options.id ?? upgradeWorkflowId(plan.cluster);
  const input: UpgradeInput = { plan, startedBy: actorName(options.by, ctx.env) };
  const summary = upgradeSummary(plan);
  // How later commands name this upgrade.
  const ref = options.id ? `--id ${workflowId}` : plan.cluster;
  try {
    const handle = await session.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: searchAttributesFor(plan),
      staticSummary: summary,
      staticDetails: upgradeDetails(plan, input.startedBy),
    });
    const workerPolling = await workerIsPolling(session);
    const data = { workflowId, runId: handle.firstExecutionRunId, namespace: session.target.namespace, cluster: plan.cluster, summary, workerPolling };
    const lines = [`started ${workflowId} (run ${data.runId}): ${summary}`, `follow it with: istio-canary watch ${ref}`];
    // The upgrade waits, durably, for a worker; say so rather than let it look stuck.
    if (workerPolling === false) lines.push(`note: no worker is polling task queue ${TASK_QUEUE}; start one with: istio-canary worker`);
    return { data, human: lines.join('\n') };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw await alreadyRunning(session, workflowId, plan.cluster, ref);
    throw err;
  }
}

function searchAttributesFor(plan: ResolvedPlan): SearchAttributePair[] {
  return [
    { key: ClusterAttr, value: plan.cluster },
    { key: PhaseAttr, value: 'preflight' },
    { key: TargetRevisionAttr, value: plan.target.revision },
    // Undefined until preflight detects it; the workflow sets it then.
    ...(plan.source.revision ? [{ key: SourceRevisionAttr, value: plan.source.revision }] : []),
  ];
}

async function alreadyRunning(session: TemporalSession, workflowId: string, cluster: string, ref: string): Promise<CliError> {
  const runId = await session.client.workflow
    .getHandle(workflowId)
    .describe()
    .then((description) => description.runId)
    .catch(() => undefined);
  const run = runId ? ` (run ${runId})` : '';
  return refused(
    `refused: an upgrade of ${cluster} is already running as ${workflowId}${run}; ` +
      `follow it with \`istio-canary watch ${ref}\` or stop it with \`istio-canary abort ${ref}\``,
  );
}
