// What an operator can do to a running upgrade, and what is refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { abortUpdate, approveUpdate, pauseUpdate, rejectUpdate, resumeUpdate } from '../../workflows/messages.js';
import { newMesh } from '../support/activity-doubles.js';
import { labelsOf, restartsOf } from '../support/mesh-snapshot.js';
import { updateRefusal } from '../support/update-refusal.js';
import { createHarness, recordHistory, resultOf, startUpgrade, statusOf, testPlan, waitForStatus, type Harness } from '../support/workflow-harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
}, 120_000);
afterAll(async () => {
  await harness?.teardown();
});

/** A soak long enough for a test to act in the middle of it. */
function slowPlan() {
  const plan = testPlan();
  plan.waves[0]!.soakMs = 8_000;
  return plan;
}

const refusal = updateRefusal;

describe('abort', () => {
  it('with rollback, during a wave soak, restores every migrated namespace', async () => {
    const mesh = newMesh();
    const before = labelsOf(mesh);
    const { handle } = await startUpgrade(harness, slowPlan(), mesh);
    await waitForStatus(handle, (s) => s.step.startsWith('soaking low-risk'), 'the low-risk soak');

    const ack = await handle.executeUpdate(abortUpdate, { args: [{ by: 'erin', reason: 'pager went off', rollback: true }] });
    expect(ack.message).toContain('rolling back');
    const result = await resultOf(handle);
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toContain('aborted by erin: pager went off');
    expect(result.reason).toContain('every change was undone');
    expect(labelsOf(mesh)).toEqual(before);
    expect(Object.keys(mesh.revisions)).toEqual(['1-29-4']);
    // Restarted once to migrate and once to come back; untouched waves never restarted.
    expect(restartsOf(mesh)).toMatchObject({ 'canary-test': [2, 2, 2], catalog: [2, 2, 2], payments: [0, 0, 0] });
    await recordHistory(handle, 'aborted-with-rollback');
  }, 60_000);

  it('without rollback stops where it is and reports what it left', async () => {
    const mesh = newMesh();
    const { handle } = await startUpgrade(harness, slowPlan(), mesh);
    await waitForStatus(handle, (s) => s.step.startsWith('soaking low-risk'), 'the low-risk soak');
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'erin', reason: 'stop here', rollback: false }] });

    const result = await resultOf(handle);
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toMatch(/no rollback: left as they are: canary-test \(migrated\), catalog \(migrated\), search \(migrated\)/);
    expect(mesh.namespaces['catalog']!.labels['istio.io/rev']).toBe('1-30-3');
    expect(mesh.namespaces['payments']!.labels['istio-injection']).toBe('enabled');
    expect(Object.keys(mesh.revisions).sort()).toEqual(['1-29-4', '1-30-3']);
    const status = await statusOf(handle);
    expect(status.decisions.find((d) => d.kind === 'abort')).toMatchObject({ by: 'erin', subject: 'abort without rollback' });
  }, 60_000);
});

describe('pause and resume', () => {
  it('stops before the next step while paused and continues after resume', async () => {
    const mesh = newMesh();
    const { handle } = await startUpgrade(harness, slowPlan(), mesh);
    await waitForStatus(handle, (s) => s.step.startsWith('soaking low-risk'), 'the low-risk soak');
    await handle.executeUpdate(pauseUpdate, { args: [{ by: 'frank', reason: 'change freeze' }] });
    const paused = await waitForStatus(handle, (s) => s.step.startsWith('paused:'), 'the pause to take hold', 40_000);
    expect(paused.paused).toBe(true);
    const checks = paused.gateChecks.length;
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await statusOf(handle)).gateChecks.length).toBe(checks);
    expect(mesh.namespaces['payments']!.labels['istio-injection']).toBe('enabled');

    expect(await refusal(handle.executeUpdate(pauseUpdate, { args: [{ by: 'frank' }] }))).toContain('already paused');
    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'frank', reason: 'freeze over' }] });
    expect((await resultOf(handle)).outcome).toBe('completed');
    expect(restartsOf(mesh)['payments']).toEqual([1, 1, 1]);
    await recordHistory(handle, 'paused-and-resumed');
  }, 90_000);

  it('pauses on an inconclusive gate and re-runs it on resume', async () => {
    // The new proxies report nothing: more than inconclusiveLimit (2) checks without data.
    const mesh = newMesh({ silentRevisions: new Set(['1-30-3']) });
    const { handle } = await startUpgrade(harness, testPlan(), mesh);
    const waiting = await waitForStatus(handle, (s) => s.waitingFor?.kind === 'resume', 'the inconclusive pause');
    expect(waiting.waitingFor).toMatchObject({ kind: 'resume' });
    expect(waiting.step).toContain('canary gate inconclusive');
    expect(waiting.gateChecks.at(-1)!.measurements[0]).toMatchObject({ phase: 'inconclusive', value: null });
    expect(mesh.namespaces['catalog']!.labels['istio.io/rev']).toBe('1-29-4');

    mesh.silentRevisions.clear();
    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'gina', reason: 'scrape fixed' }] });
    expect((await resultOf(handle)).outcome).toBe('completed');
    await recordHistory(handle, 'inconclusive-then-resumed');
  }, 60_000);

  it('rolls back on an inconclusive gate when the plan says so', async () => {
    const mesh = newMesh({ silentRevisions: new Set(['1-30-3']) });
    const before = labelsOf(mesh);
    const plan = testPlan();
    plan.gates.onInconclusive = 'rollback';
    const { handle } = await startUpgrade(harness, plan, mesh);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/canary gate inconclusive/);
    expect(labelsOf(mesh)).toEqual(before);
  }, 60_000);
});

describe('validators refuse updates that make no sense, before history records them', () => {
  it('refuses approve when nothing waits, and an approver outside the allow-list', async () => {
    const plan = slowPlan();
    plan.approval = { beforePromotion: 'required', timeoutMs: 60_000, onTimeout: 'rollback', approvers: ['alice'] };
    plan.canary.soakMs = 3_000;
    const { handle } = await startUpgrade(harness, plan);
    await waitForStatus(handle, (s) => s.step.startsWith('soaking canary'), 'the canary soak');

    expect(await refusal(handle.executeUpdate(approveUpdate, { args: [{ by: 'alice' }] }))).toContain('nothing is waiting for approval');
    expect(await refusal(handle.executeUpdate(resumeUpdate, { args: [{ by: 'alice' }] }))).toContain('nothing to resume');
    expect(await refusal(handle.executeUpdate(abortUpdate, { args: [{ by: '', rollback: true }] }))).toContain('who is acting');

    await waitForStatus(handle, (s) => s.waitingFor?.kind === 'approval', 'the promotion approval');
    expect(await refusal(handle.executeUpdate(approveUpdate, { args: [{ by: 'mallory' }] }))).toContain('mallory is not an approver');
    expect(await refusal(handle.executeUpdate(rejectUpdate, { args: [{ by: 'mallory' }] }))).toContain('not an approver');

    const history = await handle.fetchHistory();
    const updateEvents = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updateEvents).toHaveLength(0);

    await handle.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'test done', rollback: true }] });
    expect((await resultOf(handle)).outcome).toBe('aborted');
    // A finished upgrade takes no more updates.
    await expect(handle.executeUpdate(pauseUpdate, { args: [{ by: 'alice' }] })).rejects.toThrow();
  }, 60_000);
});
