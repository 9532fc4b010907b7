// The answer a workflow's update validator gave: the message of the refusal, or a
// failed test if the update was accepted.
import { expect } from '@jest/globals';
import { WorkflowUpdateFailedError } from '@temporalio/client';

export async function updateRefusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return String((err as WorkflowUpdateFailedError).cause?.message);
  }
  throw new Error('the update was accepted');
}
