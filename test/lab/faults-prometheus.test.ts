// Faults, against the lab: Prometheus stopped during the canary soak. Every
// check turns inconclusive (a failed query is never a pass); past the
// inconclusiveLimit the run pauses for a human (onInconclusive: pause) or
// rolls back (onInconclusive: rollback). It never promotes on missing data.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { UpgradeStatus } from '../../workflows/messages.js';
import { cliOk, freshLab, leaveLabAsFound, restartHistory, statusOf, type MeshSnapshot } from '../support/e2e.js';
import {
  closeTemporalClient,
  expectRolledBackOnce,
  queryStatus,
  startLabPrometheus,
  stopLabPrometheus,
  untilPosition,
  writeFaultPlan,
} from '../support/faults.js';
import { useTestLab } from '../support/lab.js';

const TEST_TIMEOUT = 15 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilStatus(what: string, predicate: (s: UpgradeStatus) => boolean, timeoutMs = 300_000): Promise<UpgradeStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: UpgradeStatus | undefined;
  while (Date.now() < deadline) {
    last = (await queryStatus()) ?? last;
    if (last && predicate(last)) return last;
    await sleep(1_000);
  }
  throw new Error(`no ${what} within ${timeoutMs / 1000}s (phase ${last?.phase}: ${last?.step})`);
}

/** Nothing past the canary was touched: no promotion. */
function expectNotPromoted(status: UpgradeStatus): void {
  for (const ns of status.namespaces.filter((n) => n.wave !== 'canary')) expect([ns.name, ns.state]).toEqual([ns.name, 'pending']);
  expect(status.decisions.some((d) => d.kind === 'gate' && d.subject === 'canary gate' && d.reason.startsWith('passed'))).toBe(false);
}

/** Every error-rate measurement since Prometheus went away failed its query or had no data. */
function expectOnlyUnclearChecksAfter(status: UpgradeStatus, since: number): void {
  const after = status.gateChecks.filter((c) => c.stage === 'canary' && Date.parse(c.at) > since + 3_000);
  expect(after.length).toBeGreaterThan(0);
  for (const check of after) for (const m of check.measurements) expect([m.metric, m.phase]).toEqual([m.metric, expect.stringMatching(/^(error|inconclusive)$/)]);
}

describe('faults: Prometheus stopped during a soak', () => {
  let pristine: MeshSnapshot | undefined;

  beforeAll(() => useTestLab());
  afterAll(async () => {
    await startLabPrometheus().catch(() => undefined);
    await closeTemporalClient();
    await leaveLabAsFound(pristine);
  }, TEST_TIMEOUT);

  it('onInconclusive pause: the run pauses at the canary gate, never promotes, and resumes once Prometheus is back', async () => {
    const { before } = await freshLab();
    pristine = before;
    const beforeHistory = await restartHistory();
    await cliOk(['start', '-f', writeFaultPlan({ approval: 'required' }), '--by', 'faults']);

    await untilPosition('the canary soak', (p) => p.phase === 'canary' && p.activities.includes('measureGate'));
    const stoppedAt = Date.now();
    await stopLabPrometheus();
    let paused: UpgradeStatus;
    try {
      paused = await untilStatus('a pause for the inconclusive gate', (s) => s.waitingFor?.kind === 'resume');
      expect(paused.phase).toBe('canary');
      expect(paused.decisions.some((d) => d.kind === 'gate' && d.reason.startsWith('inconclusive') && d.reason.includes('onInconclusive pause'))).toBe(true);
      expectOnlyUnclearChecksAfter(paused, stoppedAt);
      expectNotPromoted(paused);
      // It stays paused: time passing does not promote it.
      await sleep(8_000);
      const still = (await queryStatus())!;
      expect([still.phase, still.waitingFor?.kind]).toEqual(['canary', 'resume']);
      expectNotPromoted(still);
    } finally {
      await startLabPrometheus();
    }

    // Prometheus is back: a resumed soak sees data again and reaches the approval gate; reject rolls back.
    await sleep(5_000);
    await cliOk(['resume', 'lab', '--by', 'faults', '--reason', 'Prometheus is back']);
    const waiting = await untilStatus('the approval gate after the resumed soak', (s) => s.waitingFor?.kind === 'approval');
    expect(waiting.decisions.some((d) => d.kind === 'gate' && d.subject === 'canary gate' && d.reason.startsWith('passed'))).toBe(true);
    await cliOk(['reject', 'lab', '--by', 'faults', '--reason', 'end of the Prometheus fault test']);
    await untilPosition('the end of the rollback', () => false, 300_000).catch((err: Error) => {
      if (!/the run ended/.test(err.message)) throw err;
    });
    await expectRolledBackOnce(before, beforeHistory, ['canary-test']);
  }, TEST_TIMEOUT);

  it('onInconclusive rollback: the run rolls back on its own and never promotes', async () => {
    const { before } = await freshLab();
    pristine = before;
    const beforeHistory = await restartHistory();
    await cliOk(['start', '-f', writeFaultPlan({ approval: 'required' }, { 'onInconclusive: pause': 'onInconclusive: rollback' }), '--by', 'faults']);

    await untilPosition('the canary soak', (p) => p.phase === 'canary' && p.activities.includes('measureGate'));
    const stoppedAt = Date.now();
    await stopLabPrometheus();
    try {
      await untilPosition('the end of the run', () => false, 300_000).catch((err: Error) => {
        if (!/the run ended/.test(err.message)) throw err;
      });
    } finally {
      await startLabPrometheus();
    }
    const { status } = await statusOf();
    expect(status.result?.reason).toContain('canary gate inconclusive');
    expectOnlyUnclearChecksAfter(status, stoppedAt);
    expectNotPromoted(status);
    await expectRolledBackOnce(before, beforeHistory, ['canary-test']);
  }, TEST_TIMEOUT);
});
