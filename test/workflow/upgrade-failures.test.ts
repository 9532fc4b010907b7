// Failures: transient ones are retried, permanent ones roll back, a preflight
// problem changes nothing, and a worker that dies mid-run loses nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/activity';
import { newMesh } from '../support/activity-doubles.js';
import { labelsOf, restartsOf } from '../support/mesh-snapshot.js';
import { createHarness, resultOf, startUpgrade, statusOf, testPlan, waitForStatus, type Harness } from '../support/workflow-harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
}, 120_000);
afterAll(async () => {
  await harness?.teardown();
});

const MUTATIONS = ['setNamespaceInjection', 'restartWorkloads', 'istioctlInstall', 'istioctlTagSet', 'istioctlUninstall', 'setGatewayRevision'];

describe('activity failures', () => {
  it('retries a transient failure and completes with nothing done twice', async () => {
    const mesh = newMesh();
    mesh.failures.setNamespaceInjection = (input: { namespace: string }, attempt: number) =>
      input.namespace === 'catalog' && attempt < 3 ? new Error('connect ECONNREFUSED 127.0.0.1:6443') : undefined;
    const { handle } = await startUpgrade(harness, testPlan(), mesh);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('completed');
    const catalogRelabels = mesh.calls.filter((c) => c.name === 'setNamespaceInjection' && c.input.namespace === 'catalog');
    expect(catalogRelabels).toHaveLength(3); // two refused attempts, then one that took
    expect(restartsOf(mesh)['catalog']).toEqual([1, 1, 1]);
  }, 60_000);

  // An API server that is down refuses every poll of a rollout wait at once;
  // five refused attempts (2+4+8+16 s apart) are 30 s of outage, not a failed rollout.
  it('rides out a rollout wait refused more than five times (an API server outage) and completes', async () => {
    const mesh = newMesh();
    mesh.failures.waitForRollout = (input: { namespace: string }, attempt: number) =>
      input.namespace === 'catalog' && attempt <= 5 ? new Error('list Deployments in catalog: connect ECONNREFUSED 127.0.0.1:6443') : undefined;
    const { handle } = await startUpgrade(harness, testPlan(), mesh);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('completed');
    expect(mesh.calls.filter((c) => c.name === 'waitForRollout' && c.input.namespace === 'catalog')).toHaveLength(6);
    expect(restartsOf(mesh)['catalog']).toEqual([1, 1, 1]);
  }, 180_000);

  it('rolls back on a permanent failure (a rollout past its progress deadline)', async () => {
    const mesh = newMesh();
    const before = labelsOf(mesh);
    let searchRollouts = 0;
    // The migration's rollout in `search` fails; the rollback's rollout there succeeds.
    mesh.failures.waitForRollout = (input: { namespace: string }) =>
      input.namespace === 'search' && ++searchRollouts === 1
        ? ApplicationFailure.nonRetryable('deployment search/api exceeded its progress deadline (1/2 ready)', 'RolloutFailed')
        : undefined;
    const { handle } = await startUpgrade(harness, testPlan(), mesh);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toContain('exceeded its progress deadline');
    // The namespace whose rollout failed is restored too.
    expect(labelsOf(mesh)).toEqual(before);
    expect(mesh.namespaces['search']!.workloads.every((w) => w.proxy === '1-29-4')).toBe(true);
    expect(searchRollouts).toBe(2);
  }, 60_000);

  it('reports a rollback step that fails and still runs the others', async () => {
    const mesh = newMesh({ faulty: new Set(['1-30-3']) });
    mesh.failures.istioctlUninstall = () => ApplicationFailure.nonRetryable('istioctl: context deadline exceeded', 'IstioctlFailed');
    const { handle } = await startUpgrade(harness, testPlan(), mesh);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('failed');
    expect(result.rollbackErrors).toEqual([expect.stringContaining('uninstall canary revision 1-30-3')]);
    expect(mesh.namespaces['canary-test']!.labels).toEqual({ 'istio-injection': 'enabled', 'istio.io/rev': null });
  }, 60_000);

  // The namespace is gone, so there is nothing to restore there; the rest of
  // the rollback is complete and the run says which namespace it could not touch.
  it('rolls back cleanly when a namespace of a wave is deleted just before its relabel', async () => {
    const mesh = newMesh();
    const { catalog: _deleted, ...others } = labelsOf(mesh);
    mesh.hooks.setNamespaceInjection = async (input: { namespace: string }) => {
      if (input.namespace === 'catalog') delete mesh.namespaces['catalog'];
    };
    const { handle } = await startUpgrade(harness, testPlan(), mesh);
    const result = await resultOf(handle);

    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toContain('namespace catalog not found');
    expect(result.rollbackErrors).toEqual([]);
    expect(labelsOf(mesh)).toEqual(others);
    const status = await statusOf(handle);
    expect(status.namespaces.find((n) => n.name === 'catalog')).toMatchObject({ state: 'failed', detail: 'deleted during the upgrade: nothing to restore' });
    expect(status.namespaces.find((n) => n.name === 'search')?.state).toBe('restored');
    expect(status.namespaces.find((n) => n.name === 'canary-test')?.state).toBe('restored');
  }, 60_000);
});

describe('preflight', () => {
  const cases: Array<[string, (mesh: ReturnType<typeof newMesh>) => void, RegExp]> = [
    ['a namespace that does not exist', (m) => delete m.namespaces['search'], /do not exist: search/],
    ['istioctl of the wrong version', (m) => (m.istioctlVersion = '1.29.4'), /istioctl 1\.29\.4, the plan targets 1\.30\.3/],
    ['a namespace without injection', (m) => (m.namespaces['catalog']!.labels = { 'istio-injection': null, 'istio.io/rev': null }), /without sidecar injection.*catalog/],
    ['a source istiod that is not ready', (m) => (m.revisions['1-29-4']!.ready = false), /not Ready/],
    ['a canary without traffic', (m) => (m.noDataChecks = 1), /must pass their gates on 1-29-4 before the upgrade starts: error-rate inconclusive/],
  ];
  it.each(cases)('fails on %s and changes nothing', async (_what, breakIt, message) => {
    const mesh = newMesh();
    breakIt(mesh);
    const { handle } = await startUpgrade(harness, testPlan(), mesh);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(message);
    expect(mesh.calls.filter((c) => MUTATIONS.includes(c.name))).toEqual([]);
  }, 60_000);

  it('refuses a target revision the mesh already runs', async () => {
    const plan = testPlan();
    plan.target.revision = '1-29-4';
    const { handle, mesh } = await startUpgrade(harness, plan);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain('already runs');
    expect(mesh.calls.filter((c) => MUTATIONS.includes(c.name))).toEqual([]);
  }, 60_000);
});

describe('durability', () => {
  it('retries a restart whose result was lost without restarting anything twice', async () => {
    const mesh = newMesh();
    mesh.lostResults.restartWorkloads = (input: { namespace: string }, attempt: number) =>
      attempt === 1 ? new Error(`worker lost the result of restarting ${input.namespace}`) : undefined;
    const { handle } = await startUpgrade(harness, testPlan(), mesh);
    expect((await resultOf(handle)).outcome).toBe('completed');
    // Every namespace's restart ran twice; the token made the second a no-op.
    expect(mesh.calls.filter((c) => c.name === 'restartWorkloads')).toHaveLength(2 * Object.keys(mesh.namespaces).length);
    expect(restartsOf(mesh)).toEqual(Object.fromEntries(Object.keys(mesh.namespaces).map((n) => [n, [1, 1, 1]])));
  }, 60_000);

  it('survives the worker going away mid-wave: a new worker replays the history and finishes', async () => {
    const mesh = newMesh();
    const plan = testPlan();
    plan.waves[0]!.soakMs = 3_000;
    const { handle } = await startUpgrade(harness, plan, mesh);
    await waitForStatus(handle, (s) => s.step.startsWith('soaking low-risk'), 'the low-risk soak');

    await harness.stopWorker();
    // With no worker the soak timer still fires on the server; the run waits for a worker.
    await new Promise((r) => setTimeout(r, 1_500));
    await harness.startWorker();

    const result = await resultOf(handle);
    expect(result.outcome).toBe('completed');
    expect(restartsOf(mesh)).toEqual(Object.fromEntries(Object.keys(mesh.namespaces).map((n) => [n, [1, 1, 1]])));
    const relabels = mesh.calls.filter((c) => c.name === 'setNamespaceInjection');
    expect(relabels).toHaveLength(Object.keys(mesh.namespaces).length);
  }, 90_000);
});
