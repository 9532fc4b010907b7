// Step 5 (and optional between-wave approvals): wait for a human, with a
// deadline and the plan's default when it passes.
import { condition } from '@temporalio/workflow';
import { formatDuration } from '../plan/duration.js';
import { answers, notify } from './notify.js';
import { recordApprovalWait, type ApprovalOutcome } from './metrics.js';
import type { Run } from './run.js';
import { UpgradeStopped } from './run.js';

export async function awaitApproval(run: Run, subject: string): Promise<void> {
  const startedAt = Date.now();
  // Stays 'aborted' when the wait ends without an answer or a deadline: an abort cancelled it.
  const waited: { outcome: ApprovalOutcome } = { outcome: 'aborted' };
  try {
    await waitForAnswer(run, subject, waited);
  } finally {
    recordApprovalWait(run.plan.cluster, startedAt, waited.outcome);
  }
}

async function waitForAnswer(run: Run, subject: string, waited: { outcome: ApprovalOutcome }): Promise<void> {
  const { state, control, plan } = run;
  const { timeoutMs, onTimeout } = plan.approval;
  control.approvalAnswer = undefined;
  state.setWaiting({ kind: 'approval', subject, deadline: new Date(Date.now() + timeoutMs).toISOString(), onTimeout });
  state.setStep(`waiting for approval of ${subject}`);
  notify(run, 'approval-needed', `${subject} waits for approval; after ${formatDuration(timeoutMs)} without an answer: ${onTimeout}`, answers(plan.cluster, 'approve', 'reject'));

  const answered = await condition(() => control.approvalAnswer !== undefined, timeoutMs, { summary: `approval of ${subject}: deadline (then ${onTimeout})` });
  if (!answered) {
    state.decide({ kind: 'timeout', by: 'istio-canary', reason: `no answer within ${timeoutMs / 1000}s; plan says ${onTimeout}`, subject });
    if (onTimeout === 'rollback') {
      waited.outcome = 'timed-out';
      state.setWaiting(undefined);
      throw new UpgradeStopped('approval-timeout', `approval of ${subject} timed out; the plan's default is rollback`);
    }
    state.setWaiting({ kind: 'approval', subject, onTimeout });
    state.setStep(`approval of ${subject} timed out; holding until someone approves or rejects`);
    notify(run, 'approval-needed', `approval of ${subject} timed out; holding until someone approves or rejects`, answers(plan.cluster, 'approve', 'reject'));
    await condition(() => control.approvalAnswer !== undefined);
  }
  const answer = control.approvalAnswer!;
  waited.outcome = answer.approved ? 'approved' : 'rejected';
  state.setWaiting(undefined);
  if (!answer.approved) {
    throw new UpgradeStopped('reject', `${subject} rejected by ${answer.by}: ${answer.reason}`);
  }
}

/** After an inconclusive gate with onInconclusive=pause: wait for `resume` (re-soak) or abort. */
export async function awaitResume(run: Run, reason: string): Promise<void> {
  const { state, control } = run;
  control.resumeRequested = false;
  state.setWaiting({ kind: 'resume', reason });
  state.setStep(`paused: ${reason}; resume re-runs the gate, abort rolls back`);
  notify(run, 'paused', `${reason}; resume re-runs the gate, abort rolls back`, answers(run.plan.cluster, 'resume', 'abort'));
  await condition(() => control.resumeRequested);
  control.resumeRequested = false;
  state.setWaiting(undefined);
}
