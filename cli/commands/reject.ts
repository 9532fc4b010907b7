// `istio-canary reject [CLUSTER]`: refuse promotion; the upgrade rolls back.
import type { Command } from 'commander';
import { rejectUpdate } from '../../workflows/messages.js';
import type { CliContext } from '../context.js';
import { actorName, addActorOptions, addExamples, addOutputOption, addTargetArguments, type ActorOptions, type OutputOptions, type TargetOptions } from '../options.js';
import { sendUpdate } from '../send-update.js';

type RejectOptions = OutputOptions & TargetOptions & ActorOptions;

export function registerRejectCommand(program: Command, ctx: CliContext): void {
  const command = program.command('reject').description('reject what the upgrade is waiting for; it rolls back');
  addTargetArguments(command);
  addActorOptions(command);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary reject prod-eu --reason "p99 creeping up in checkout"',
    'istio-canary reject prod-eu --by alice -o json',
  ]);
  command.action(async (cluster: string | undefined, options: RejectOptions) =>
    ctx.emit(
      await sendUpdate(ctx, { cluster, id: options.id }, rejectUpdate, { by: actorName(options.by, ctx.env), reason: options.reason }),
      options.output,
    ),
  );
}
