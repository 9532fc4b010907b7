// Faults, against the lab: the worker SIGKILLed (with its istioctl and kubectl
// children) at many points of one promoted run and of one rolled-back run, and
// started again each time. Every run must end as if nothing had happened: the
// mesh as expected, each Deployment restarted exactly once per migration.
import { describe, expect, it } from '@jest/globals';
import { killLabWorker, startLabWorker } from '../../lab/worker.js';
import { labInfo } from '../../lab/lab.js';
import { clearFault, cliOk, freshLab, restartHistory, setFault, statusOf } from '../support/e2e.js';
import { expectRolledBackOnce, expectUpgradedOnce, faultTestLab, followRun, untilApprovalWait, writeFaultPlan, type Hit } from '../support/faults.js';

const TEST_TIMEOUT = 30 * 60_000;

/** Points of a promoted run where the worker dies (each costs up to an activity timeout, so not every point). */
const FORWARD_POINTS = new Set([
  'preflight',
  'backup/export',
  'install/istioctl-install',
  'canary/relabel',
  'canary/rollout-wait',
  'canary/soak',
  'awaiting-approval',
  'waves/restart',
  'waves/soak',
  'gateways/rollout-wait',
  'finalize/tag-move',
  'finalize/uninstall-grace',
]);

/** Points of a rollback where the worker dies. */
const ROLLBACK_POINTS = new Set(['rolling-back/relabel', 'rolling-back/rollout-wait', 'rolling-back/uninstall']);

async function killAndRestart(): Promise<string> {
  const pid = await killLabWorker();
  if (pid === undefined) throw new Error('no lab worker was running to kill');
  await new Promise((r) => setTimeout(r, 1_000));
  await startLabWorker();
  return `killed worker ${pid} (SIGKILL), started a new one`;
}

/** Approves once the (restarted) worker answers: the update's validator needs the run to be waiting. */
async function approveWhenWaiting(): Promise<void> {
  await untilApprovalWait();
  await cliOk(['approve', 'lab', '--by', 'faults', '--reason', 'canary clean (worker kill test)']);
}

describe('faults: the worker killed (SIGKILL) at every phase of a run', () => {
  const allHits: Hit[] = [];
  const lab = faultTestLab(async () => {
    process.stderr.write(`[faults] worker killed at ${allHits.length} points: ${allHits.map((h) => h.point).join(', ')}\n`);
    await clearFault(labInfo().versions.newVersion);
  });

  it('promotes all the same, each Deployment restarted once, after kills in every forward phase', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    await cliOk(['start', '-f', writeFaultPlan({ approval: 'required', uninstallOldAfter: '8s' }), '--by', 'faults']);

    const hits = await followRun(
      (point) => FORWARD_POINTS.has(point),
      async (point) => {
        const action = await killAndRestart();
        if (point === 'awaiting-approval') await approveWhenWaiting();
        return action;
      },
    );
    allHits.push(...hits);
    // The approval point is always reached; without it the run would still wait.
    expect(hits.map((h) => h.point)).toContain('awaiting-approval');
    expect(hits.length).toBeGreaterThanOrEqual(9);
    expect((await statusOf()).executionStatus).toBe('COMPLETED');
    await expectUpgradedOnce(before, info.versions.newVersion, info.versions.newRevision);
  }, TEST_TIMEOUT);

  it('rolls a faulty version back all the same after kills during the rollback', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    const beforeHistory = await restartHistory();
    await setFault(info.versions.newVersion);
    try {
      await cliOk(['start', '-f', writeFaultPlan({ approval: 'required' }), '--by', 'faults']);
      const hits = await followRun((point) => ROLLBACK_POINTS.has(point), killAndRestart);
      allHits.push(...hits);
      expect(hits.length).toBeGreaterThanOrEqual(2);
    } finally {
      await clearFault(info.versions.newVersion);
    }
    const { status } = await statusOf();
    expect(status.result?.reason).toContain('canary gate failed');
    await expectRolledBackOnce(before, beforeHistory, ['canary-test']);
    // Both runs together: the issue asks for ten distinct points or more.
    expect(new Set(allHits.map((h) => h.point)).size).toBeGreaterThanOrEqual(10);
  }, TEST_TIMEOUT);
});
