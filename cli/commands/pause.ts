// `istio-canary pause [CLUSTER]`: hold the upgrade at the next step boundary (gates keep their state).
import type { Command } from 'commander';
import { pauseUpdate } from '../../workflows/messages.js';
import type { CliContext } from '../context.js';
import { actorName, addActorOptions, addExamples, addOutputOption, addTargetArguments, type ActorOptions, type OutputOptions, type TargetOptions } from '../options.js';
import { sendUpdate } from '../send-update.js';

type PauseOptions = OutputOptions & TargetOptions & ActorOptions;

export function registerPauseCommand(program: Command, ctx: CliContext): void {
  const command = program.command('pause').description('hold the upgrade before its next step until resumed');
  addTargetArguments(command);
  addActorOptions(command);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary pause prod-eu --reason "peak traffic, continue after 18:00"',
    'istio-canary pause && istio-canary status',
  ]);
  command.action(async (cluster: string | undefined, options: PauseOptions) =>
    ctx.emit(
      await sendUpdate(ctx, { cluster, id: options.id }, pauseUpdate, { by: actorName(options.by, ctx.env), reason: options.reason }),
      options.output,
    ),
  );
}
