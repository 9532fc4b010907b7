// `istio-canary approve [CLUSTER]`: let a waiting upgrade go on (promotion, or the next wave).
import type { Command } from 'commander';
import { approveUpdate } from '../../workflows/messages.js';
import type { CliContext } from '../context.js';
import { actorName, addActorOptions, addExamples, addOutputOption, addTargetArguments, type ActorOptions, type OutputOptions, type TargetOptions } from '../options.js';
import { sendUpdate } from '../send-update.js';

type ApproveOptions = OutputOptions & TargetOptions & ActorOptions;

export function registerApproveCommand(program: Command, ctx: CliContext): void {
  const command = program.command('approve').description('approve what the upgrade is waiting for (promotion, or the next wave)');
  addTargetArguments(command);
  addActorOptions(command);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary approve prod-eu --reason "canary clean for 30m"',
    'istio-canary approve --id istio-canary-prod-eu --by alice',
  ]);
  command.action(async (cluster: string | undefined, options: ApproveOptions) =>
    ctx.emit(
      await sendUpdate(ctx, { cluster, id: options.id }, approveUpdate, { by: actorName(options.by, ctx.env), reason: options.reason }),
      options.output,
    ),
  );
}
