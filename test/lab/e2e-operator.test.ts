// End to end, through the CLI, against the lab: an operator steers a running
// upgrade. Rejecting at the approval gate and aborting during a wave roll back
// to exactly the mesh as it was; aborting without rollback stops where it is,
// and what it reports is what the cluster shows.
import { describe, expect, it } from '@jest/globals';
import type { NamespaceStatus, UpgradeStatus } from '../../workflows/messages.js';
import {
  CLUSTER,
  cli,
  cliOk,
  freshLab,
  labSuite,
  meshSnapshot,
  statusOf,
  Watch,
  waitForSettledMesh,
  workloadsIn,
  writeTestPlan,
} from '../support/e2e.js';

const TEST_TIMEOUT = 15 * 60_000;

const inWave = (wave: string, states: Array<NamespaceStatus['state']>) => (s: UpgradeStatus) =>
  s.phase === 'waves' && s.currentWave === wave && s.namespaces.some((n) => n.wave === wave && states.includes(n.state));

describe('end to end: operator decisions on a running upgrade', () => {
  const lab = labSuite(TEST_TIMEOUT);

  it('reject at the approval gate rolls the canary back', async () => {
    const { before } = await freshLab();
    lab.pristine = before;
    await cliOk(['start', '-f', writeTestPlan(), '--by', 'e2e']);
    const watch = new Watch();
    try {
      await watch.until('the approval gate', (s) => s.waitingFor?.kind === 'approval');
      const rejected = await cliOk(['reject', CLUSTER, '--by', 'e2e', '--reason', 'p99 looks odd']);
      expect(rejected.stdout).toContain('rejected');
      expect(await watch.result()).toBe(2);
    } finally {
      watch.stop();
    }

    const { status } = await statusOf();
    expect(status.phase).toBe('rolled-back');
    expect(status.result?.reason).toContain('rejected by e2e: p99 looks odd');
    expect(status.decisions.some((d) => d.kind === 'reject' && d.by === 'e2e' && d.subject === 'promotion')).toBe(true);
    // Refused once it is over, without touching the run.
    const late = await cli(['approve', CLUSTER, '--by', 'e2e']);
    expect(late.exitCode).toBe(2);
    expect(late.stderr).toContain('refused');

    await waitForSettledMesh();
    expect(await meshSnapshot()).toEqual(before);
  }, TEST_TIMEOUT);

  it('abort during a wave rolls back every namespace moved so far', async () => {
    const { before } = await freshLab();
    lab.pristine = before;
    await cliOk(['start', '-f', writeTestPlan({ approval: 'none' }), '--by', 'e2e']);
    const watch = new Watch();
    try {
      await watch.until('wave low-risk under way', inWave('low-risk', ['restarted', 'migrated']));
      const aborted = await cliOk(['abort', CLUSTER, '--by', 'e2e', '--reason', 'change freeze']);
      expect(aborted.stdout).toContain('rolling back');
      expect(await watch.result()).toBe(2);
    } finally {
      watch.stop();
    }

    const { status } = await statusOf();
    expect(status.phase).toBe('aborted');
    expect(status.result?.reason).toContain('aborted by e2e: change freeze');
    expect(status.result?.reason).toContain('every change was undone');
    for (const ns of status.namespaces) {
      expect([ns.name, ns.state]).toEqual([ns.name, ns.wave === 'canary' || ns.wave === 'low-risk' ? 'restored' : 'pending']);
    }

    await waitForSettledMesh();
    expect(await meshSnapshot()).toEqual(before);
  }, TEST_TIMEOUT);

  it('abort --no-rollback leaves the mesh where it stood, and says what it left', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    const { oldVersion, oldRevision, newVersion, newRevision } = info.versions;
    await cliOk(['start', '-f', writeTestPlan({ approval: 'none' }), '--by', 'e2e']);
    const watch = new Watch();
    try {
      // Every namespace of the wave moved, its soak running.
      await watch.until('wave low-risk soaking', (s) => s.currentWave === 'low-risk' && s.step.startsWith('soaking low-risk'));
      const aborted = await cliOk(['abort', CLUSTER, '--no-rollback', '--by', 'e2e', '--reason', 'keep it as is']);
      expect(aborted.stdout).toContain('without rollback');
      expect(await watch.result()).toBe(2);
    } finally {
      watch.stop();
    }

    const { status } = await statusOf();
    expect(status.phase).toBe('aborted');
    const moved = status.namespaces.filter((n) => n.state !== 'pending');
    const untouched = status.namespaces.filter((n) => n.state === 'pending');
    expect(moved.map((n) => n.name).sort()).toEqual(['canary-test', 'cart', 'catalog', 'reviews', 'search']);
    for (const ns of moved) expect(ns.state).toBe('migrated');
    expect(untouched.length).toBeGreaterThan(0);
    // The report names exactly what was left on the new revision.
    expect(status.result?.reason).toContain('no rollback: left as they are: ');
    for (const ns of moved) expect(status.result?.reason).toContain(`${ns.name} (migrated)`);
    for (const ns of untouched) expect(status.result?.reason).not.toContain(`${ns.name} (`);

    // And the cluster agrees: moved namespaces on the new revision, the rest as they were.
    await waitForSettledMesh();
    const after = await meshSnapshot();
    for (const ns of moved) {
      const { 'istio-injection': _injection, 'istio.io/rev': _rev, ...rest } = before.namespaces[ns.name]!;
      expect([ns.name, after.namespaces[ns.name]]).toEqual([ns.name, { ...rest, 'istio.io/rev': newRevision }]);
      for (const [key, w] of workloadsIn(after, [ns.name])) expect([key, w.proxies]).toEqual([key, [`${newVersion}@${newRevision}`]]);
    }
    for (const ns of untouched) {
      expect([ns.name, after.namespaces[ns.name]]).toEqual([ns.name, before.namespaces[ns.name]]);
      for (const [key, w] of workloadsIn(after, [ns.name])) expect([key, w.proxies]).toEqual([key, [`${oldVersion}@${oldRevision}`]]);
    }
    // Both control planes stay; tags and gateway were not reached.
    expect(after.revisions).toEqual([`${oldRevision} ${oldVersion}`, `${newRevision} ${newVersion}`].sort());
    expect(after.tags).toEqual(before.tags);
    expect(after.workloads['istio-system/istio-ingressgateway']).toEqual(before.workloads['istio-system/istio-ingressgateway']);
  }, TEST_TIMEOUT);
});
