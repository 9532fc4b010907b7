// `istio-canary status [CLUSTER]`: the upgrade's current state, from the workflow's status query.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, refused } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { recordedStatus, RECORDED_STATUS_NOTE } from '../recorded-status.js';
import { renderStatus } from '../format/status.js';
import { addExamples, addOutputOption, addTargetArguments, parseRunId, type OutputOptions, type TargetOptions } from '../options.js';
import type { CommandOutput } from '../output.js';
import { findUpgrade, queryStatus, type UpgradeSelector } from '../upgrades.js';

type StatusOptions = OutputOptions & TargetOptions & { runId?: string };

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  const command = program.command('status').description('show phase, step, namespaces, gate numbers and decisions of an upgrade');
  addTargetArguments(command);
  command.option('--run-id <runId>', 'an earlier run of the same workflow id (from `istio-canary list --all`)', parseRunId);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary status prod-eu',
    'istio-canary status --id istio-canary-prod-eu -o json | jq .status.gateChecks[-1]',
    'istio-canary status            # the only running upgrade',
    'istio-canary status prod-eu --run-id 0196a7b2-5a4e-7c1d-9f00-2b1f6c3d4e5f   # an earlier upgrade of prod-eu',
  ]);
  command.action(async (cluster: string | undefined, options: StatusOptions) =>
    ctx.emit(await showStatus(ctx, { cluster, id: options.id, runId: options.runId }), options.output),
  );
}

async function showStatus(ctx: CliContext, selector: UpgradeSelector): Promise<CommandOutput> {
  if (selector.runId && !selector.cluster && !selector.id) throw refused('--run-id needs the cluster or --id of the upgrade it belongs to');
  const session = await ctx.temporal();
  const upgrade = await findUpgrade(session, selector);
  const base = { workflowId: upgrade.workflowId, runId: upgrade.description.runId, executionStatus: upgrade.description.status.name };
  try {
    const view = { ...base, status: await queryStatus(session, upgrade) };
    return { data: view, human: renderStatus(view) };
  } catch (err) {
    // A finished run's result is in its history; a running one can only answer through a worker.
    const status = base.executionStatus === 'RUNNING' || !isMissingWorker(err) ? undefined : await recordedStatus(upgrade);
    if (!status) throw err;
    const view = { ...base, source: 'history', note: RECORDED_STATUS_NOTE, status };
    return { data: view, human: `${renderStatus(view)}\n\nnote: ${RECORDED_STATUS_NOTE}` };
  }
}

function isMissingWorker(err: unknown): boolean {
  return err instanceof CliError && err.exitCode === ExitCode.Crashed && err.message.startsWith('no worker answered');
}
