// `istio-canary status [CLUSTER]`: the upgrade's current state, from the workflow's status query.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { renderStatus } from '../format/status.js';
import { addExamples, addOutputOption, addTargetArguments, type OutputOptions, type TargetOptions } from '../options.js';
import type { CommandOutput } from '../output.js';
import { findUpgrade, queryStatus } from '../upgrades.js';

type StatusOptions = OutputOptions & TargetOptions;

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  const command = program.command('status').description('show phase, step, namespaces, gate numbers and decisions of an upgrade');
  addTargetArguments(command);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary status prod-eu',
    'istio-canary status --id istio-canary-prod-eu -o json | jq .status.gateChecks[-1]',
    'istio-canary status            # the only running upgrade',
  ]);
  command.action(async (cluster: string | undefined, options: StatusOptions) =>
    ctx.emit(await showStatus(ctx, { cluster, id: options.id }), options.output),
  );
}

async function showStatus(ctx: CliContext, selector: { cluster?: string; id?: string }): Promise<CommandOutput> {
  const session = await ctx.temporal();
  const upgrade = await findUpgrade(session, selector);
  const status = await queryStatus(session, upgrade);
  const view = { workflowId: upgrade.workflowId, runId: upgrade.description.runId, executionStatus: upgrade.description.status.name, status };
  return { data: view, human: renderStatus(view) };
}
