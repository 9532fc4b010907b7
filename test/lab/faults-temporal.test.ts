// Faults, against the lab: the Temporal server stopped and started again (on
// its SQLite file) at several points of one run. The same run, not a new one,
// must finish the upgrade, with each Deployment restarted exactly once.
import { describe, expect, it } from '@jest/globals';
import { cliOk, freshLab, restartLabTemporal, statusOf } from '../support/e2e.js';
import { closeTemporalClient, expectUpgradedOnce, faultTestLab, followRun, writeFaultPlan } from '../support/faults.js';

const TEST_TIMEOUT = 20 * 60_000;

/** A timer (soak), a running activity with heartbeats (rollout wait), and the grace period before uninstall. */
const RESTART_POINTS = new Set(['canary/soak', 'waves/rollout-wait', 'finalize/uninstall-grace']);

describe('faults: the Temporal server restarted mid-run', () => {
  const lab = faultTestLab();

  it('completes the same run after the server is restarted during a soak, a rollout wait and the uninstall grace period', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    const started = JSON.parse((await cliOk(['start', '-f', writeFaultPlan({ approval: 'none', uninstallOldAfter: '8s' }), '--by', 'faults', '-o', 'json'])).stdout) as {
      runId: string;
    };

    const hits = await followRun(
      (point) => RESTART_POINTS.has(point),
      async () => {
        await restartLabTemporal();
        // The old connection's channel may hold on to the dead server; start afresh.
        await closeTemporalClient();
        return 'stopped the Temporal dev server, started it again on its database';
      },
    );
    expect(hits.map((h) => h.point).sort()).toEqual([...RESTART_POINTS].sort());
    const status = await statusOf();
    expect(status.runId).toBe(started.runId);
    expect(status.executionStatus).toBe('COMPLETED');
    await expectUpgradedOnce(before, info.versions.newVersion, info.versions.newRevision);
  }, TEST_TIMEOUT);
});
