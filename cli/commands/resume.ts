// `istio-canary resume [CLUSTER]`: continue a paused upgrade.
import type { Command } from 'commander';
import { resumeUpdate } from '../../workflows/messages.js';
import type { CliContext } from '../context.js';
import { actorName, addActorOptions, addExamples, addOutputOption, addTargetArguments, type ActorOptions, type OutputOptions, type TargetOptions } from '../options.js';
import { sendUpdate } from '../send-update.js';

type ResumeOptions = OutputOptions & TargetOptions & ActorOptions;

export function registerResumeCommand(program: Command, ctx: CliContext): void {
  const command = program.command('resume').description('continue a paused upgrade');
  addTargetArguments(command);
  addActorOptions(command);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary resume prod-eu',
    'istio-canary resume prod-eu --by alice --reason "traffic back to normal"',
  ]);
  command.action(async (cluster: string | undefined, options: ResumeOptions) =>
    ctx.emit(
      await sendUpdate(ctx, { cluster, id: options.id }, resumeUpdate, { by: actorName(options.by, ctx.env), reason: options.reason }),
      options.output,
    ),
  );
}
