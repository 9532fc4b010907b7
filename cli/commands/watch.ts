// `istio-canary watch [CLUSTER]`: follow an upgrade until it finishes, printing
// what changed at every poll. Exits 0 when it completed, 2 when it rolled back,
// was aborted or failed. A server restart or a missing worker is reported and
// waited out, because the upgrade itself survives both.
import { InvalidArgumentError, type Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration, parseDuration } from '../../plan/duration.js';
import { TERMINAL_PHASES, type UpgradeStatus } from '../../workflows/messages.js';
import type { CliContext, TemporalSession } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { rootMessage } from '../errors.js';
import { describeStatusChanges } from '../format/changes.js';
import { renderStatus, type StatusView } from '../format/status.js';
import { addExamples, addOutputOption, addTargetArguments, type OutputOptions, type TargetOptions } from '../options.js';
import { findUpgrade, noSuchUpgrade, queryStatus, type FoundUpgrade } from '../upgrades.js';
import { exitCodeForOutcome } from '../verdict.js';

const DEFAULT_INTERVAL = '2s';

interface WatchOptions extends OutputOptions, TargetOptions {
  interval: number;
}

export function registerWatchCommand(program: Command, ctx: CliContext): void {
  const command = program.command('watch').description('follow an upgrade live until it finishes (exit 0 completed, 2 otherwise)');
  addTargetArguments(command);
  command.option('--interval <duration>', 'time between polls, e.g. 2s or 500ms', parseInterval, parseDuration(DEFAULT_INTERVAL));
  addOutputOption(command);
  addExamples(command, [
    'istio-canary watch prod-eu',
    'istio-canary watch prod-eu -o json    # one JSON status per line, on every change',
    'istio-canary watch prod-eu && echo promoted',
  ]);
  command.action(async (cluster: string | undefined, options: WatchOptions) => {
    ctx.exitCode = await watchUpgrade(ctx, { cluster, id: options.id }, options);
  });
}

function parseInterval(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

async function watchUpgrade(ctx: CliContext, selector: { cluster?: string; id?: string }, options: WatchOptions): Promise<ExitCode> {
  const session = await ctx.temporal();
  const upgrade = await findUpgrade(session, selector);
  const print = (human: string, view: StatusView) =>
    ctx.io.stdout(options.output === 'json' ? `${JSON.stringify(view)}\n` : `${human}\n`);

  let previous: UpgradeStatus | undefined;
  let problem: string | undefined;
  for (;;) {
    let view: StatusView;
    try {
      view = await poll(session, upgrade);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw noSuchUpgrade(upgrade.workflowId, session);
      const message = rootMessage(err);
      if (message !== problem) ctx.io.stderr(`watch: ${message}; retrying every ${formatDuration(options.interval)}\n`);
      problem = message;
      await sleep(options.interval);
      continue;
    }
    if (problem) ctx.io.stderr('watch: back in contact\n');
    problem = undefined;

    const { status } = view;
    if (!previous) print(renderStatus(view), view);
    else {
      const changes = describeStatusChanges(previous, status);
      if (changes.length > 0) print(changes.join('\n'), view);
    }
    previous = status;

    if (TERMINAL_PHASES.includes(status.phase)) return exitCodeForOutcome(status.phase);
    if (view.executionStatus !== 'RUNNING') {
      // Terminated or timed out from outside: the workflow never reached a verdict.
      ctx.io.stderr(`watch: ${upgrade.workflowId} ended ${view.executionStatus} in phase ${status.phase}, without a verdict\n`);
      return ExitCode.Refused;
    }
    await sleep(options.interval);
  }
}

async function poll(session: TemporalSession, upgrade: FoundUpgrade): Promise<StatusView> {
  // Describe before querying: if the run closes in between, it still looks running here
  // and the query already carries its terminal phase, so no verdict is missed.
  const description = await upgrade.handle.describe();
  const status = await queryStatus(session, upgrade);
  return { workflowId: upgrade.workflowId, runId: description.runId, executionStatus: description.status.name, status };
}
