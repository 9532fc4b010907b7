// Sends one of the upgrade's updates (approve, reject, abort, pause, resume).
// The workflow's validators refuse an update that does not fit the run's state
// without touching its history; that refusal is the operator's answer, printed
// as one line with exit code 2.
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import type { UpdateAck } from '../workflows/messages.js';
import type { CliContext } from './context.js';
import { refused, rootMessage } from './errors.js';
import type { CommandOutput } from './output.js';
import { findUpgrade, withWorkerDeadline, type UpgradeSelector } from './upgrades.js';

export async function sendUpdate<Arg>(
  ctx: CliContext,
  selector: UpgradeSelector,
  update: UpdateDefinition<UpdateAck, [Arg], string>,
  arg: Arg,
): Promise<CommandOutput> {
  const session = await ctx.temporal();
  const upgrade = await findUpgrade(session, selector);
  const finished = () => refused(`refused: ${upgrade.workflowId} has already finished (${upgrade.description.status.name.toLowerCase()})`);
  if (upgrade.description.status.name !== 'RUNNING') throw finished();

  let ack: UpdateAck;
  try {
    ack = await withWorkerDeadline(session, `the ${update.name} update of ${upgrade.workflowId}`, () =>
      execute(upgrade.handle, update, arg),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw refused(`refused: ${rootMessage(err.cause ?? err)}`);
    if (err instanceof WorkflowNotFoundError) throw finished();
    throw err;
  }
  return {
    data: { workflowId: upgrade.workflowId, update: update.name, ...ack },
    human: `${upgrade.workflowId}: ${ack.message} (phase ${ack.phase})`,
  };
}

function execute<Arg>(handle: WorkflowHandle, update: UpdateDefinition<UpdateAck, [Arg], string>, arg: Arg): Promise<UpdateAck> {
  return handle.executeUpdate(update, { args: [arg] });
}
