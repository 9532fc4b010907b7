// End to end, through the CLI, against the lab: the upgrade is durable. The
// worker is killed outright in the middle of a wave and started again, and the
// Temporal server is stopped and started again on its database file; each time
// the run completes, and no Deployment is restarted twice for one migration.
import { describe, expect, it } from '@jest/globals';
import type { UpgradeStatus } from '../../workflows/messages.js';
import { killLabWorker, startLabWorker } from '../../lab/worker.js';
import {
  cliOk,
  freshLab,
  labSuite,
  restartLabTemporal,
  statusOf,
  Watch,
  writeTestPlan,
} from '../support/e2e.js';
import { expectUpgradedOnce } from '../support/faults.js';

const TEST_TIMEOUT = 15 * 60_000;

/** Wave `rest` (two batches of up to four namespaces) has begun moving namespaces. */
const restWaveMoving = (s: UpgradeStatus) =>
  s.phase === 'waves' && s.currentWave === 'rest' && s.namespaces.some((n) => n.wave === 'rest' && (n.state === 'migrating' || n.state === 'relabelled' || n.state === 'restarted'));

describe('end to end: the upgrade survives its worker and its server', () => {
  const lab = labSuite(TEST_TIMEOUT);

  it('completes after the worker is killed (SIGKILL) during a wave and started again, restarting each Deployment once', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    await cliOk(['start', '-f', writeTestPlan({ approval: 'none' }), '--by', 'e2e']);
    const watch = new Watch();
    try {
      const moving = await watch.until('wave rest moving namespaces', restWaveMoving);
      const killed = await killLabWorker();
      expect(killed).toBeDefined();
      process.stderr.write(`[e2e] killed worker ${killed} during: ${moving.step}\n`);
      await new Promise((r) => setTimeout(r, 5_000));
      await startLabWorker();
      expect(await watch.result()).toBe(0);
    } finally {
      watch.stop();
    }
    await expectUpgradedOnce(before, info.versions.newVersion, info.versions.newRevision);
  }, TEST_TIMEOUT);

  it('completes after the Temporal server is restarted mid-run on its database file', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    const { runId } = JSON.parse((await cliOk(['start', '-f', writeTestPlan({ approval: 'none' }), '--by', 'e2e', '-o', 'json'])).stdout) as { runId: string };
    const watch = new Watch();
    try {
      const moving = await watch.until('wave rest moving namespaces', restWaveMoving);
      process.stderr.write(`[e2e] restarting Temporal during: ${moving.step}\n`);
      await restartLabTemporal();
      // The watch waits the outage out (the CLI's client reconnects) and sees the end.
      expect(await watch.result()).toBe(0);
    } finally {
      watch.stop();
    }
    // The same run, not a new one, finished the job.
    expect((await statusOf()).runId).toBe(runId);
    await expectUpgradedOnce(before, info.versions.newVersion, info.versions.newRevision);
  }, TEST_TIMEOUT);
});
