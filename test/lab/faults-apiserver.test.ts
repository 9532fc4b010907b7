// Faults, against the lab: the Kubernetes API server killed and started again
// with the command line kwokctl gave it, (1) while `istioctl install` runs
// (a transient install failure: retried, then it succeeds), (2) for 30 s while
// the canary's rollout is awaited, and (3) for 30 s while a wave's namespaces
// are relabelled. The activities' retries must carry the run to a normal end.
import { describe, expect, it } from '@jest/globals';
import { cliOk, freshLab, statusOf } from '../support/e2e.js';
import {
  activityAttempts,
  expectUpgradedOnce,
  faultTestLab,
  startStoppedControlPlane,
  stopKubeApiServer,
  untilApprovalWait,
  untilPosition,
  untilRunEnds,
  writeFaultPlan,
} from '../support/faults.js';

const TEST_TIMEOUT = 25 * 60_000;
const OUTAGE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills the API server; returns a function that starts it (and whatever died with it) again. */
async function apiServerDown(what: string): Promise<() => Promise<void>> {
  const pid = await stopKubeApiServer();
  const at = Date.now();
  process.stderr.write(`[faults] kube-apiserver ${pid} killed during ${what}\n`);
  return async () => {
    // The controller manager and scheduler may only notice their lost lease a little later.
    const started = await startStoppedControlPlane();
    await sleep(3_000);
    started.push(...(await startStoppedControlPlane()));
    process.stderr.write(`[faults] API server down ${Math.round((Date.now() - at) / 1000)}s during ${what}; started again: ${started.join(', ')}\n`);
  };
}

describe('faults: the Kubernetes API server stopped mid-run', () => {
  const lab = faultTestLab(async () => {
    await startStoppedControlPlane().catch(() => undefined);
  });

  it('retries through outages during istioctl install, a rollout wait and a relabel, and completes with each Deployment restarted once', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    await cliOk(['start', '-f', writeFaultPlan({ approval: 'required' }), '--by', 'faults']);

    // (1) istioctl install: down until the first attempt has failed, then up again.
    await untilPosition('istioctl install running', (p) => p.activities.includes('istioctlInstall'));
    let restore = await apiServerDown('istioctl install');
    const failed = await untilPosition('a failed istioctl install attempt', (p) => p.activities.includes('istioctlInstall') && !!p.lastFailure, 180_000);
    process.stderr.write(`[faults] istioctl install failed while the API server was down: ${failed.lastFailure?.split('\n')[0]}\n`);
    await restore();

    // (2) the canary's rollout wait: 30 s without an API server.
    await untilPosition('the canary rollout wait', (p) => p.phase === 'canary' && p.activities.includes('waitForRollout'));
    restore = await apiServerDown('the canary rollout wait');
    await sleep(OUTAGE_MS);
    await restore();

    // (3) a relabel: the API server goes down at the approval gate, the
    // approval starts wave low-risk, whose relabels fail for 30 s.
    await untilApprovalWait();
    restore = await apiServerDown('the wave relabel');
    const outageStart = Date.now();
    await cliOk(['approve', 'lab', '--by', 'faults', '--reason', 'canary clean (API server fault test)']);
    const relabel = await untilPosition('a failed relabel attempt', (p) => p.activities.includes('setNamespaceInjection') && !!p.lastFailure, 120_000);
    process.stderr.write(`[faults] relabel failed while the API server was down: ${relabel.lastFailure?.split('\n')[0]}\n`);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStart)));
    await restore();

    // The run carries on to the end on its own.
    await untilRunEnds();
    const { status, executionStatus } = await statusOf();
    expect([executionStatus, status.phase, status.result?.reason]).toEqual(['COMPLETED', 'completed', status.result?.reason]);

    // The install was retried (the failed attempt is on record) and then succeeded.
    const install = await activityAttempts('istioctlInstall');
    expect(install.attempts).toBeGreaterThanOrEqual(2);
    expect(install.failures.length).toBeGreaterThanOrEqual(1);
    const relabels = await activityAttempts('setNamespaceInjection');
    expect(relabels.attempts).toBeGreaterThan(status.namespaces.length);
    await expectUpgradedOnce(before, info.versions.newVersion, info.versions.newRevision);
  }, TEST_TIMEOUT);
});
