// End to end, through the CLI, against the lab: a good version is promoted all
// the way (every proxy moved, tags moved, old control plane removed), and a
// faulty one is rolled back on its own by the canary gate, leaving the mesh
// exactly as it was.
import { describe, expect, it } from '@jest/globals';
import { labInfo } from '../../lab/lab.js';
import {
  CLUSTER,
  clearFault,
  cli,
  cliOk,
  fleetNamespaces,
  freshLab,
  labSuite,
  meshSnapshot,
  restartHistory,
  setFault,
  statusOf,
  Watch,
  waitForSettledMesh,
  workloadsIn,
  writeTestPlan,
} from '../support/e2e.js';

const TEST_TIMEOUT = 15 * 60_000;

describe('end to end: an upgrade of the lab mesh through the CLI', () => {
  const lab = labSuite(TEST_TIMEOUT, () => clearFault(labInfo().versions.newVersion));

  it('promotes a good version: every pod on the new proxy, the default tag on the new revision, the old revision uninstalled', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    const { oldVersion, oldRevision, newVersion, newRevision } = info.versions;
    const fleet = fleetNamespaces(before);
    expect(fleet.length).toBeGreaterThan(10);
    for (const [, workload] of workloadsIn(before, [...fleet, 'istio-system'])) expect(workload.proxies).toEqual([`${oldVersion}@${oldRevision}`]);

    const plan = writeTestPlan();
    const started = await cliOk(['start', '-f', plan, '--by', 'e2e']);
    expect(started.stdout).toContain(`started istio-canary-${CLUSTER}`);
    const watch = new Watch();
    try {
      const waiting = await watch.until('the approval gate', (s) => s.waitingFor?.kind === 'approval');
      expect(waiting.phase).toBe('awaiting-approval');
      expect(waiting.namespaces.filter((n) => n.state === 'migrated').map((n) => n.name)).toEqual(['canary-test']);

      // One upgrade per cluster: a second start is refused while this one runs.
      const second = await cli(['start', '-f', plan]);
      expect(second.exitCode).toBe(2);
      expect(second.stderr).toContain('already running');

      await cliOk(['approve', CLUSTER, '--by', 'e2e', '--reason', 'canary clean']);
      expect(await watch.result()).toBe(0);
    } finally {
      watch.stop();
    }

    const { status, executionStatus } = await statusOf();
    expect(executionStatus).toBe('COMPLETED');
    expect(status.phase).toBe('completed');
    expect(status.result?.outcome).toBe('completed');
    expect(status.namespaces.map((n) => n.name).sort()).toEqual(fleet);
    for (const ns of status.namespaces) {
      expect([ns.name, ns.state, ns.revisionAfter]).toEqual([ns.name, 'migrated', newRevision]);
    }
    expect(status.decisions.some((d) => d.kind === 'approve' && d.by === 'e2e')).toBe(true);

    await waitForSettledMesh();
    const after = await meshSnapshot();
    // Every pod of every migrated namespace, and the gateway, runs the new proxy from the new revision.
    for (const [key, workload] of workloadsIn(after, [...fleet, 'istio-system'])) {
      expect([key, workload.proxies]).toEqual([key, [`${newVersion}@${newRevision}`]]);
      expect(workload.pods).toBe(before.workloads[key]!.pods);
    }
    // Namespaces name the new revision; every other label is untouched.
    for (const ns of fleet) {
      const { 'istio-injection': _injection, 'istio.io/rev': _rev, ...rest } = before.namespaces[ns]!;
      expect([ns, after.namespaces[ns]]).toEqual([ns, { ...rest, 'istio.io/rev': newRevision }]);
    }
    expect(after.workloads['istio-system/istio-ingressgateway']?.templateRevision).toBe(newRevision);
    // Only the new control plane is left, and both tags point at it.
    expect(after.revisions).toEqual([`${newRevision} ${newVersion}`]);
    expect(after.tags).toEqual({ default: newRevision, 'prod-stable': newRevision });
    expect(after.injectorWebhooks).not.toContain(`istio-sidecar-injector-${oldRevision}`);

    // Each Deployment was restarted exactly once: one new ReplicaSet, one restart token.
    const history = await restartHistory();
    for (const [key, h] of Object.entries(history)) {
      expect([key, h.replicaSets, h.restartTokens.length]).toEqual([key, 2, 1]);
    }
  }, TEST_TIMEOUT);

  it('rolls a faulty version back on its own: the canary gate fails on Prometheus data and the mesh is exactly as before', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    const { newVersion } = info.versions;
    await setFault(newVersion);

    const plan = writeTestPlan();
    await cliOk(['start', '-f', plan, '--by', 'e2e']);
    const watch = new Watch();
    try {
      expect(await watch.result()).toBe(2); // watch: 2 when the upgrade did not complete
    } finally {
      watch.stop();
    }

    const { status } = await statusOf();
    expect(status.phase).toBe('rolled-back');
    expect(status.result?.outcome).toBe('rolled-back');
    expect(status.result?.reason).toContain('canary gate failed');
    expect(status.result?.rollbackErrors).toEqual([]);
    // The evidence: the canary's error rate measured above its threshold.
    const failing = status.result!.evidence.flatMap((c) => c.measurements.filter((m) => m.metric === 'error-rate' && m.phase === 'fail').map((m) => ({ c, m })));
    expect(failing.length).toBeGreaterThanOrEqual(2);
    for (const { c, m } of failing) {
      expect(c.stage).toBe('canary');
      expect(c.namespaces).toEqual(['canary-test']);
      expect(m.value).toBeGreaterThan(0.01);
      expect(m.threshold).toBe('max 0.01');
    }
    expect(status.decisions.some((d) => d.kind === 'gate' && d.subject === 'canary gate' && d.reason.startsWith('failed'))).toBe(true);
    // Nothing past the canary was touched.
    for (const ns of status.namespaces) expect([ns.name, ns.state]).toEqual([ns.name, ns.wave === 'canary' ? 'restored' : 'pending']);

    await waitForSettledMesh();
    expect(await meshSnapshot()).toEqual(before);
  }, TEST_TIMEOUT);
});
