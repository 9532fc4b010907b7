// Faults, against the lab, that end a run: `istioctl install` refusing a bad
// overlay (permanent: not retried, rolled back, nothing left of the canary
// revision), a namespace deleted while the upgrade runs (rolled back, the
// missing namespace reported, everything else restored), a workload whose new
// pods never become Ready (progress deadline, then rollback), and a second
// `start` for the same cluster (refused with the id of the running one).
import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl } from '../../lab/cluster.js';
import { clearPodKnobs, neverReady } from '../../lab/knobs.js';
import { labPaths } from '../../lab/paths.js';
import { cli, cliOk, freshLab, meshSnapshot, restartHistory, statusOf, waitForSettledMesh, type MeshSnapshot } from '../support/e2e.js';
import { activityAttempts, expectRolledBackOnce, faultTestLab, untilApprovalWait, untilPosition, untilRunEnds, writeFaultPlan } from '../support/faults.js';

const TEST_TIMEOUT = 15 * 60_000;

describe('faults that end a run: it rolls back cleanly', () => {
  const lab = faultTestLab();

  it('istioctl install with an invalid IstioOperator overlay: one attempt, rolled back, no trace of the canary revision', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    const beforeHistory = await restartHistory();
    // A real IstioOperator with a field the schema does not have: istioctl refuses it before applying anything.
    const overlay = join(info.root, 'bad-overlay.yaml');
    writeFileSync(overlay, 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  notAField: true\n');
    await cliOk(['start', '-f', writeFaultPlan({ approval: 'required', overlay }), '--by', 'faults']);
    await untilRunEnds();

    const { status } = await statusOf();
    expect(status.result?.reason).toMatch(/unknown field "notAField"/);
    // Permanent: not retried.
    expect((await activityAttempts('istioctlInstall')).attempts).toBe(1);
    for (const ns of status.namespaces) expect([ns.name, ns.state]).toEqual([ns.name, 'pending']);
    // No istiod, webhook or tag of the canary revision: the snapshot is the one from before.
    await expectRolledBackOnce(before, beforeHistory, []);
    expect(before.revisions.some((r) => r.startsWith(info.versions.newRevision))).toBe(false);
  }, TEST_TIMEOUT);

  it('a namespace deleted during the upgrade: a second start is refused meanwhile; the run rolls back, names the namespace, restores the rest', async () => {
    const { before } = await freshLab();
    lab.pristine = before;
    const beforeHistory = await restartHistory();
    const plan = writeFaultPlan({ approval: 'required' });
    const started = JSON.parse((await cliOk(['start', '-f', plan, '--by', 'faults', '-o', 'json'])).stdout) as { workflowId: string; runId: string };

    await untilApprovalWait();
    // One upgrade per cluster: the second start names the running one.
    const second = await cli(['start', '-f', plan, '--by', 'faults']);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toContain(`already running as ${started.workflowId} (run ${started.runId})`);

    // catalog (wave low-risk, not yet migrated) disappears; the approval starts its wave.
    const paths = labPaths();
    await kubectl(paths, ['delete', 'namespace', 'catalog', '--wait=true', '--timeout=120s']);
    await cliOk(['approve', 'lab', '--by', 'faults', '--reason', 'canary clean (namespace deletion test)']);
    await untilRunEnds();

    const { status, runId } = await statusOf();
    expect(runId).toBe(started.runId);
    expect(status.result?.reason).toContain('catalog');
    expect(status.result?.reason).toMatch(/not found/);
    expect(status.result?.outcome).toBe('rolled-back');
    // Everything else is as before: the snapshot without the deleted namespace and its workloads.
    const { namespaces, workloads, ...rest } = before;
    const expected: MeshSnapshot = {
      ...rest,
      namespaces: Object.fromEntries(Object.entries(namespaces).filter(([name]) => name !== 'catalog')),
      workloads: Object.fromEntries(Object.entries(workloads).filter(([key]) => !key.startsWith('catalog/'))),
    };
    const restored = status.namespaces.filter((n) => n.state === 'restored').map((n) => n.name).sort();
    expect(restored).toEqual(expect.arrayContaining(['canary-test']));
    const history = Object.fromEntries(Object.entries(beforeHistory).filter(([key]) => !key.startsWith('catalog/')));
    await expectRolledBackOnce(expected, history, restored);
  }, TEST_TIMEOUT);

  it('a workload whose new pods never become Ready: progress deadline, then rollback to the snapshot from before', async () => {
    const { before } = await freshLab();
    lab.pristine = before;
    const paths = labPaths();
    const deployments = (await kubectl(paths, ['get', 'deploy', '-n', 'canary-test', '-o', 'jsonpath={.items[*].metadata.name}'])).split(/\s+/).filter(Boolean);
    expect(deployments.length).toBeGreaterThan(0);
    await cliOk(['start', '-f', writeFaultPlan({ approval: 'required' }, { 'progressDeadline: 2m': 'progressDeadline: 30s' }), '--by', 'faults']);

    // The canary's new pods (on the new proxy) never become Ready.
    await untilPosition('the canary rollout wait', (p) => p.phase === 'canary' && p.activities.includes('waitForRollout'));
    await neverReady(paths, 'canary-test', deployments[0]!);
    // The lab's knob does not follow the proxy version; a real bad proxy would go
    // away with the rollback, so the knob is lifted once the rollback begins.
    await untilPosition('the rollback', (p) => p.phase === 'rolling-back', 300_000);
    await clearPodKnobs(paths, 'canary-test', deployments[0]!);
    await untilRunEnds();

    const { status } = await statusOf();
    expect(status.result?.outcome).toBe('rolled-back');
    expect(status.result?.reason).toMatch(/made no progress|progress deadline/);
    expect(status.result?.reason).toContain('canary-test');
    expect(status.result?.rollbackErrors).toEqual([]);
    for (const ns of status.namespaces) expect([ns.name, ns.state]).toEqual([ns.name, ns.wave === 'canary' ? 'restored' : 'pending']);
    await waitForSettledMesh();
    expect(await meshSnapshot()).toEqual(before);
  }, TEST_TIMEOUT);
});
