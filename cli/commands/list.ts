// `istio-canary list`: upgrades found through Temporal visibility and the typed search attributes.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { renderUpgradeList } from '../format/list.js';
import { addExamples, addOutputOption, parseCluster, type OutputOptions } from '../options.js';
import type { CommandOutput } from '../output.js';
import { listUpgrades, upgradeListQuery } from '../upgrades.js';

interface ListOptions extends OutputOptions {
  all?: boolean;
  cluster?: string;
}

export function registerListCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('list')
    .description('list running upgrades (with --all, finished ones too)')
    .option('-a, --all', 'include finished upgrades')
    .option('--cluster <name>', 'only upgrades of this cluster', parseCluster);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary list',
    'istio-canary list --all --cluster prod-eu',
    "istio-canary list -o json | jq -r '.upgrades[].workflowId'",
  ]);
  command.action(async (options: ListOptions) => ctx.emit(await listCommand(ctx, options), options.output));
}

async function listCommand(ctx: CliContext, options: ListOptions): Promise<CommandOutput> {
  const filter = { all: options.all ?? false, cluster: options.cluster };
  const query = upgradeListQuery(filter); // validates --cluster before connecting
  const session = await ctx.temporal();
  const upgrades = await listUpgrades(session, filter);
  return {
    data: { namespace: session.target.namespace, query, upgrades },
    human: renderUpgradeList(upgrades, { namespace: session.target.namespace, all: filter.all }),
  };
}
