// A namespace deleted while the upgrade runs: the step that meets it fails for
// good (NamespaceNotFound), the rollback restores every other namespace, and
// the deleted one is reported, not counted as a failed undo.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { newMesh } from '../support/activity-doubles.js';
import { labelsOf } from '../support/mesh-snapshot.js';
import { createHarness, resultOf, startUpgrade, statusOf, testPlan, type Harness } from '../support/workflow-harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
}, 120_000);
afterAll(async () => {
  await harness?.teardown();
});

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
