// Operator messages: the update handlers, their validators, and the flags the
// runbook reads. Validators refuse an update that makes no sense right now
// before it is written to history; handlers only record intent, the runbook acts.
import { CancellationScope, condition, setHandler } from '@temporalio/workflow';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  statusQuery,
  TERMINAL_PHASES,
  type AbortInput,
  type ActorInput,
  type UpdateAck,
} from './messages.js';
import { updateInputProblems } from './operator-input.js';
import type { UpgradeState } from './state.js';

export interface ApprovalAnswer {
  approved: boolean;
  by: string;
  reason: string;
}

export class Control {
  abortRequest?: AbortInput;
  approvalAnswer?: ApprovalAnswer;
  resumeRequested = false;
  /** Set once the old revision is being uninstalled: rollback is no longer possible. */
  pointOfNoReturn = false;
  /** The scope of the forward path; abort cancels it. */
  forward?: CancellationScope;

  constructor(private readonly state: UpgradeState) {}

  /** Blocks between steps while an operator has paused the upgrade. */
  async checkpoint(): Promise<void> {
    if (this.state.status.paused) {
      this.state.setStep(`paused: ${this.state.status.step}`);
      await condition(() => !this.state.status.paused);
    }
  }

  register(): void {
    const { state } = this;
    setHandler(statusQuery, () => state.status);

    setHandler(
      approveUpdate,
      (input) => this.answerApproval(true, input),
      { validator: (input) => this.validateApproval(input) },
    );
    setHandler(
      rejectUpdate,
      (input) => this.answerApproval(false, input),
      { validator: (input) => this.validateApproval(input) },
    );

    setHandler(
      abortUpdate,
      (input) => {
        this.abortRequest = input;
        state.decide({ kind: 'abort', by: input.by, reason: reasonOf(input), subject: input.rollback ? 'abort with rollback' : 'abort without rollback' });
        this.forward?.cancel();
        return this.ack(input.rollback ? 'abort accepted: rolling back' : 'abort accepted: stopping without rollback');
      },
      {
        validator: (input) => {
          requireValidInput(input, { rollback: true });
          this.requireRunning('abort');
          if (this.abortRequest) throw new Error('an abort is already in progress');
          if (input.rollback && this.pointOfNoReturn) {
            throw new Error('the old revision is being uninstalled: rollback is no longer possible (use --no-rollback)');
          }
        },
      },
    );

    setHandler(
      pauseUpdate,
      (input) => {
        state.decide({ kind: 'pause', by: input.by, reason: reasonOf(input) });
        state.setPaused(true);
        return this.ack('paused: the upgrade stops before its next step');
      },
      {
        validator: (input) => {
          requireValidInput(input);
          this.requireRunning('pause');
          if (state.status.paused) throw new Error('the upgrade is already paused');
        },
      },
    );

    setHandler(
      resumeUpdate,
      (input) => {
        state.decide({ kind: 'resume', by: input.by, reason: reasonOf(input) });
        if (state.status.paused) state.setPaused(false);
        if (state.status.waitingFor?.kind === 'resume') this.resumeRequested = true;
        return this.ack('resumed');
      },
      {
        validator: (input) => {
          requireValidInput(input);
          this.requireRunning('resume');
          if (!state.status.paused && state.status.waitingFor?.kind !== 'resume') {
            throw new Error(`nothing to resume: the upgrade is not paused (phase ${state.status.phase})`);
          }
        },
      },
    );
  }

  private answerApproval(approved: boolean, input: ActorInput): UpdateAck {
    const subject = this.state.status.waitingFor?.kind === 'approval' ? this.state.status.waitingFor.subject : 'approval';
    this.approvalAnswer = { approved, by: input.by, reason: reasonOf(input) };
    this.state.decide({ kind: approved ? 'approve' : 'reject', by: input.by, reason: reasonOf(input), subject });
    return this.ack(approved ? `${subject} approved` : `${subject} rejected: rolling back`);
  }

  private validateApproval(input: ActorInput): void {
    requireValidInput(input);
    // Who may decide comes first: someone outside the allow-list gets that answer whatever the phase.
    const approvers = this.state.plan.approval.approvers;
    if (approvers.length && !approvers.includes(input.by)) {
      throw new Error(`by: ${input.by} is not an approver of this plan (spec.approval.approvers: ${approvers.join(', ')})`);
    }
    const waiting = this.state.status.waitingFor;
    if (waiting?.kind !== 'approval' || this.approvalAnswer) {
      throw new Error(`nothing is waiting for approval (phase ${this.state.status.phase}: ${this.state.status.step})`);
    }
  }

  private requireRunning(action: string): void {
    const phase = this.state.status.phase;
    if (TERMINAL_PHASES.includes(phase)) throw new Error(`cannot ${action}: the upgrade has ended (${phase})`);
    if (phase === 'rolling-back') throw new Error(`cannot ${action}: the upgrade is rolling back`);
  }

  private ack(message: string): UpdateAck {
    return { accepted: true, phase: this.state.status.phase, message };
  }
}

/** Refuses a payload of the wrong shape, naming each field; it may come from any Temporal client, not only the CLI. */
function requireValidInput(input: unknown, extra: { rollback?: boolean } = {}): void {
  const problems = updateInputProblems(input, extra);
  if (problems.length) throw new Error(problems.join('; '));
}

function reasonOf(input: ActorInput): string {
  return input.reason?.trim() || '(no reason given)';
}
