// The audit trail: every decision (start, gates, approvals, rejections, aborts, timeouts,
// rollback) is recorded with who and why, a gate decision with the numbers of every check
// behind it, and the final result carries the same list as the status query.
import { describe, expect, it } from '@jest/globals';
import { WithStartWorkflowOperation } from '@temporalio/client';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  rejectUpdate,
  TASK_QUEUE,
  upgradeWorkflowId,
  WORKFLOW_TYPE,
  type Decision,
  type UpgradeResult,
} from '../../workflows/messages.js';
import { newMesh, registerMesh } from '../support/activity-doubles.js';
import { harnessForFile, resultOf, startUpgrade, statusOf, testPlan, waitForStatus } from '../support/workflow-harness.js';

const harness = harnessForFile();

/** A plan that stops for approval before promotion, approvable by alice and bob only. */
function approvalPlan(timeoutMs = 60_000) {
  const plan = testPlan();
  plan.approval = { beforePromotion: 'required', timeoutMs, onTimeout: 'rollback', approvers: ['alice', 'bob'] };
  return plan;
}

// The rollback's subject counts its undo steps, which is the rollback stack's business, not the audit's.
/** A run of approvalPlan, waiting for approval of its promotion. */
async function atApprovalGate() {
  const { handle } = await startUpgrade(harness(), approvalPlan());
  await waitForStatus(handle, (s) => s.waitingFor?.kind === 'approval', 'the promotion approval');
  return handle;
}

const kinds = (decisions: Decision[]) => decisions.map((d) => (d.kind === 'rollback' ? 'rollback' : `${d.kind}${d.subject ? ` ${d.subject}` : ''}`));

/** The result and the status query of the finished run list the same decisions. */
async function finished(handle: Parameters<typeof resultOf>[0]): Promise<UpgradeResult> {
  const result = await resultOf(handle);
  const status = await statusOf(handle);
  expect(status.result).toEqual(result);
  expect(result.decisions).toEqual(status.decisions);
  return result;
}

describe('gate decisions carry their numbers', () => {
  it('a failed canary gate: the failing error rates, their threshold and the checks they came from', async () => {
    const mesh = newMesh({ faulty: new Set(['1-30-3']) });
    const { handle } = await startUpgrade(harness(), testPlan(), mesh);
    const result = await finished(handle);

    expect(result.outcome).toBe('rolled-back');
    expect(kinds(result.decisions)).toEqual(['start', 'gate canary gate', 'rollback']);
    const gate = result.decisions[1]!;
    expect(gate).toMatchObject({ by: 'istio-canary', reason: expect.stringMatching(/^failed: /) });
    const errorRates = gate.evidence!.filter((e) => e.metric === 'error-rate');
    expect(errorRates.map((e) => e.check)).toEqual([1, 2]);
    for (const e of errorRates) {
      expect(e).toMatchObject({ stage: 'canary', phase: 'fail', threshold: expect.stringContaining('0.01') });
      expect(e.value).toBeGreaterThan(0.01);
      expect(e.requests).toBeGreaterThan(0);
    }
    // The same numbers as the checks kept in the result's evidence.
    expect(errorRates.map((e) => e.value)).toEqual(
      result.evidence.map((check) => check.measurements.find((m) => m.metric === 'error-rate')!.value),
    );
    expect(result.decisions.at(-1)).toMatchObject({ kind: 'rollback', by: 'istio-canary', reason: expect.stringContaining('canary gate failed') });
  }, 60_000);

  it('a passed gate and an approval: who approved, why, and every passing check', async () => {
    const handle = await atApprovalGate();
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', reason: 'canary clean for 30m' }] });
    const result = await finished(handle);

    expect(result.outcome).toBe('completed');
    expect(kinds(result.decisions)).toEqual([
      'start',
      'gate canary gate',
      'approve promotion',
      'gate low-risk gate',
      'gate rest gate',
      'gate gateways gate',
    ]);
    expect(result.decisions[0]).toMatchObject({ by: 'test', reason: 'upgrade to 1.30.3 (revision 1-30-3)' });
    expect(result.decisions[2]).toMatchObject({ kind: 'approve', by: 'alice', reason: 'canary clean for 30m', subject: 'promotion' });
    for (const gate of result.decisions.filter((d) => d.kind === 'gate')) {
      expect(gate.reason).toMatch(/^passed: /);
      expect(gate.evidence!.length).toBeGreaterThan(0);
      for (const e of gate.evidence!) {
        expect(e).toMatchObject({ phase: 'pass', threshold: expect.any(String), reason: expect.any(String) });
        expect(e.value).not.toBeNull();
      }
    }
  }, 60_000);
});

describe('operator decisions record who and why', () => {
  it('a rejection: by whom, why, and what it rejected', async () => {
    const handle = await atApprovalGate();
    await handle.executeUpdate(rejectUpdate, { args: [{ by: 'bob', reason: 'p99 drifts up' }] });
    const result = await finished(handle);

    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toContain('promotion rejected by bob: p99 drifts up');
    expect(kinds(result.decisions)).toEqual(['start', 'gate canary gate', 'reject promotion', 'rollback']);
    expect(result.decisions[2]).toMatchObject({ by: 'bob', reason: 'p99 drifts up' });
  }, 60_000);

  it('an abort without a reason says so, and names who aborted', async () => {
    const handle = await atApprovalGate();
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'carol', rollback: true }] });
    const result = await finished(handle);

    expect(result.outcome).toBe('aborted');
    expect(result.reason).toContain('aborted by carol: (no reason given)');
    const abort = result.decisions.find((d) => d.kind === 'abort');
    expect(abort).toMatchObject({ by: 'carol', reason: '(no reason given)', subject: 'abort with rollback' });
    expect(kinds(result.decisions).at(-1)).toBe('rollback');
  }, 60_000);

  it('an approval timeout: decided by istio-canary, with the plan default that applied', async () => {
    const { handle } = await startUpgrade(harness(), approvalPlan(500));
    const result = await finished(handle);

    expect(result.outcome).toBe('rolled-back');
    const timeout = result.decisions.find((d) => d.kind === 'timeout');
    expect(timeout).toMatchObject({ by: 'istio-canary', subject: 'promotion', reason: expect.stringContaining('plan says rollback') });
  }, 60_000);
});

describe('the order of the log', () => {
  it('an update sent with the start comes after the start', async () => {
    const plan = testPlan();
    const workflowId = upgradeWorkflowId(plan.cluster);
    registerMesh(workflowId, newMesh());
    const start = new WithStartWorkflowOperation(WORKFLOW_TYPE, {
      workflowId,
      taskQueue: TASK_QUEUE,
      args: [{ plan, startedBy: 'dave' }],
      workflowIdConflictPolicy: 'FAIL',
    });
    await harness().env.client.workflow.executeUpdateWithStart(pauseUpdate, { args: [{ by: 'dave', reason: 'hold' }], startWorkflowOperation: start });
    const handle = await start.workflowHandle();
    const held = await waitForStatus(handle, (s) => s.step.startsWith('paused:'), 'the pause to take hold');
    expect(held.decisions.map((d) => [d.kind, d.by])).toEqual([
      ['start', 'dave'],
      ['pause', 'dave'],
    ]);
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 'done', rollback: true }] });
    expect((await finished(handle)).outcome).toBe('aborted');
  }, 60_000);
});
