// The upgrade's main paths on a real Temporal server: promoted, rolled back by a
// failing gate (in the canary and in a later wave), rejected, timed out.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { approveUpdate, rejectUpdate } from '../../workflows/messages.js';
import { newMesh } from '../support/activity-doubles.js';
import { createHarness, recordHistory, resultOf, startUpgrade, statusOf, testPlan, waitForStatus, type Harness } from '../support/workflow-harness.js';
import { labelsOf, restartsOf } from '../support/mesh-snapshot.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
}, 120_000);
afterAll(async () => {
  await harness?.teardown();
});

describe('a good target version', () => {
  it('migrates every namespace once, moves the default tag, and removes the old revision', async () => {
    const plan = testPlan({ approval: { beforePromotion: 'required', timeoutMs: 60_000, onTimeout: 'rollback', approvers: ['alice'] } });
    const { handle, mesh } = await startUpgrade(harness, plan);

    await waitForStatus(handle, (s) => s.waitingFor?.kind === 'approval', 'the promotion approval');
    const ack = await handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', reason: 'canary looks good' }] });
    expect(ack.message).toContain('promotion approved');

    const result = await resultOf(handle);
    expect(result.outcome).toBe('completed');

    for (const [name, ns] of Object.entries(mesh.namespaces)) {
      expect([name, ns.labels]).toEqual([name, { 'istio.io/rev': '1-30-3', 'istio-injection': null }]);
      expect(ns.workloads.every((w) => w.proxy === '1-30-3')).toBe(true);
    }
    expect(restartsOf(mesh)).toEqual(Object.fromEntries(Object.keys(mesh.namespaces).map((n) => [n, [1, 1, 1]])));
    expect(mesh.tags['default']).toBe('1-30-3');
    expect(mesh.tags['prod-stable']).toBe('1-29-4'); // not in moveTags
    expect(Object.keys(mesh.revisions)).toEqual(['1-30-3']);
    expect(mesh.gateways['istio-ingressgateway']!.revision).toBe('1-30-3');

    const status = await statusOf(handle);
    expect(status.phase).toBe('completed');
    expect(status.namespaces.map((n) => [n.name, n.wave, n.state])).toEqual([
      ['canary-test', 'canary', 'migrated'],
      ['catalog', 'low-risk', 'migrated'],
      ['search', 'low-risk', 'migrated'],
      ['checkout', 'rest', 'migrated'],
      ['payments', 'rest', 'migrated'],
    ]);
    expect(status.decisions.find((d) => d.kind === 'approve')).toMatchObject({ by: 'alice', reason: 'canary looks good', subject: 'promotion' });
    expect(status.gateChecks.every((c) => c.measurements.every((m) => m.phase === 'pass'))).toBe(true);
    expect(new Set(status.gateChecks.map((c) => c.stage))).toEqual(new Set(['canary', 'low-risk', 'rest', 'gateways']));
    expect(status.timings.map((t) => t.step)).toEqual(['preflight', 'backup', 'install', 'canary', 'approval', 'wave low-risk', 'wave rest', 'gateways', 'finalize']);
    await recordHistory(handle, 'completed-with-approval');
  }, 60_000);
});

describe('a faulty target version', () => {
  it('fails the canary gate and restores exactly the prior state', async () => {
    const mesh = newMesh({ faulty: new Set(['1-30-3']) });
    const before = labelsOf(mesh);
    const { handle } = await startUpgrade(harness, testPlan(), mesh);

    const result = await resultOf(handle);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/canary gate failed: error-rate failed 2 consecutive checks/);
    expect(result.evidence.length).toBeGreaterThanOrEqual(2);
    expect(result.evidence.at(-1)!.measurements.find((m) => m.metric === 'error-rate')).toMatchObject({ phase: 'fail', value: 0.05 });
    expect(result.rollbackErrors).toEqual([]);

    expect(labelsOf(mesh)).toEqual(before);
    expect(mesh.namespaces['canary-test']!.workloads.every((w) => w.proxy === '1-29-4')).toBe(true);
    expect(mesh.namespaces['catalog']!.workloads.every((w) => w.restarts === 0)).toBe(true);
    expect(Object.keys(mesh.revisions)).toEqual(['1-29-4']);
    expect(mesh.tags).toEqual({ default: '1-29-4', 'prod-stable': '1-29-4' });
    await recordHistory(handle, 'canary-gate-failed');
  }, 60_000);

  it('fails in wave 2 and restores wave 2, wave 1 and the canary in reverse order', async () => {
    const mesh = newMesh();
    const before = labelsOf(mesh);
    // The version turns bad once the second wave runs it: flip it when wave 2 starts relabelling.
    mesh.hooks.setNamespaceInjection = async (input: { namespace: string; labels: { 'istio.io/rev': string | null } }) => {
      if (input.namespace === 'checkout' && input.labels['istio.io/rev'] === '1-30-3') mesh.faulty.add('1-30-3');
    };
    const { handle } = await startUpgrade(harness, testPlan(), mesh);

    const result = await resultOf(handle);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/^rest gate failed/);
    expect(labelsOf(mesh)).toEqual(before);
    for (const ns of Object.values(mesh.namespaces)) expect(ns.workloads.every((w) => w.proxy === '1-29-4')).toBe(true);

    const restores = mesh.calls
      .filter((c) => c.name === 'setNamespaceInjection' && c.input.labels['istio.io/rev'] !== '1-30-3')
      .map((c) => c.input.namespace);
    // Each wave's namespaces are restored together; waves in reverse order.
    expect(new Set(restores.slice(0, 2))).toEqual(new Set(['checkout', 'payments']));
    expect(new Set(restores.slice(2, 4))).toEqual(new Set(['catalog', 'search']));
    expect(restores.slice(4)).toEqual(['canary-test']);
    expect(mesh.calls.at(-1)).toMatchObject({ name: 'istioctlUninstall', input: { revision: '1-30-3' } });
    await recordHistory(handle, 'wave-gate-failed');
  }, 60_000);
});

describe('approval', () => {
  it('rolls back when the promotion is rejected', async () => {
    const mesh = newMesh();
    const before = labelsOf(mesh);
    const plan = testPlan({ approval: { beforePromotion: 'required', timeoutMs: 60_000, onTimeout: 'rollback', approvers: [] } });
    const { handle } = await startUpgrade(harness, plan, mesh);
    await waitForStatus(handle, (s) => s.waitingFor?.kind === 'approval', 'the promotion approval');
    await handle.executeUpdate(rejectUpdate, { args: [{ by: 'bob', reason: 'p99 drifted' }] });

    const result = await resultOf(handle);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toContain('promotion rejected by bob: p99 drifted');
    expect(labelsOf(mesh)).toEqual(before);
    await recordHistory(handle, 'rejected');
  }, 60_000);

  it('rolls back when nobody answers before the timeout and the default is rollback', async () => {
    const mesh = newMesh();
    const before = labelsOf(mesh);
    const plan = testPlan({ approval: { beforePromotion: 'required', timeoutMs: 1_500, onTimeout: 'rollback', approvers: [] } });
    const { handle } = await startUpgrade(harness, plan, mesh);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toContain('approval of promotion timed out');
    expect(labelsOf(mesh)).toEqual(before);
    const status = await statusOf(handle);
    expect(status.decisions.some((d) => d.kind === 'timeout' && d.subject === 'promotion')).toBe(true);
  }, 60_000);

  it('holds after the timeout when the default is hold, and goes on once approved', async () => {
    const plan = testPlan({ approval: { beforePromotion: 'required', timeoutMs: 1_000, onTimeout: 'hold', approvers: [] } });
    const { handle, mesh } = await startUpgrade(harness, plan);
    await waitForStatus(handle, (s) => s.decisions.some((d) => d.kind === 'timeout'), 'the approval timeout');
    const held = await statusOf(handle);
    expect(held.phase).toBe('awaiting-approval');
    expect(held.waitingFor).toMatchObject({ kind: 'approval', subject: 'promotion' });
    expect(mesh.namespaces['catalog']!.labels['istio.io/rev']).toBe('1-29-4');

    await handle.executeUpdate(approveUpdate, { args: [{ by: 'carol' }] });
    expect((await resultOf(handle)).outcome).toBe('completed');
  }, 60_000);

  it('asks again before a wave whose plan requires approval', async () => {
    const plan = testPlan();
    plan.waves[1]!.approval = 'required';
    const { handle, mesh } = await startUpgrade(harness, plan);
    const waiting = await waitForStatus(handle, (s) => s.waitingFor?.kind === 'approval', 'the wave approval');
    expect(waiting.waitingFor).toMatchObject({ subject: 'wave rest' });
    expect(mesh.namespaces['catalog']!.labels['istio.io/rev']).toBe('1-30-3');
    expect(mesh.namespaces['payments']!.labels['istio-injection']).toBe('enabled');
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'dave', reason: 'low-risk wave is fine' }] });
    expect((await resultOf(handle)).outcome).toBe('completed');
  }, 60_000);
});
