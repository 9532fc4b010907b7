// `istio-canary abort [CLUSTER]`: stop the upgrade now; by default roll back
// everything it changed, with --no-rollback leave the mesh as it stands.
import type { Command } from 'commander';
import { abortUpdate } from '../../workflows/messages.js';
import type { CliContext } from '../context.js';
import { actorName, addActorOptions, addExamples, addOutputOption, addTargetArguments, type ActorOptions, type OutputOptions, type TargetOptions } from '../options.js';
import { sendUpdate } from '../send-update.js';

interface AbortOptions extends OutputOptions, TargetOptions, ActorOptions {
  /** commander turns --no-rollback into rollback: false. */
  rollback: boolean;
}

export function registerAbortCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('abort')
    .description('stop the upgrade and roll back what it changed (--no-rollback: leave the mesh as it is)')
    .option('--no-rollback', 'stop where it is, without undoing anything (the status says what was left)');
  addTargetArguments(command);
  addActorOptions(command);
  addOutputOption(command);
  addExamples(command, [
    'istio-canary abort prod-eu --reason "incident INC-4521, freeze changes"',
    'istio-canary abort prod-eu --no-rollback   # keep the mesh as it is now',
  ]);
  command.action(async (cluster: string | undefined, options: AbortOptions) =>
    ctx.emit(
      await sendUpdate(ctx, { cluster, id: options.id }, abortUpdate, {
        by: actorName(options.by, ctx.env),
        reason: options.reason,
        rollback: options.rollback,
      }),
      options.output,
    ),
  );
}
