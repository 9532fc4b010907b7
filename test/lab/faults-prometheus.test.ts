// Faults, against the lab: Prometheus stopped during the canary soak. Every
// check turns inconclusive (a failed query is never a pass); past the
// inconclusiveLimit the run pauses for a human (onInconclusive: pause) or
// rolls back (onInconclusive: rollback). It never promotes on missing data.
import { describe, expect, it } from '@jest/globals';
import type { UpgradeStatus } from '../../workflows/messages.js';
import { cliOk, freshLab, restartHistory, statusOf } from '../support/e2e.js';
import {
  expectRolledBackOnce,
  faultTestLab,
  queryStatus,
  startLabPrometheus,
  stopLabPrometheus,
  untilRunEnds,
  writeFaultPlan,
} from '../support/faults.js';

const TEST_TIMEOUT = 15 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A canary soak long enough (20 checks) that Prometheus goes away in its
 * middle: with 10 s the gate could pass before Prometheus has stopped. Nothing
 * after the canary runs in these tests, so only its soak is lengthened.
 */
const LONG_CANARY_SOAK = { 'namespaces: [canary-test]\n    soak: 10s': 'namespaces: [canary-test]\n    soak: 40s' };

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
  const lab = faultTestLab(() => startLabPrometheus().catch(() => undefined));

  it('onInconclusive pause: the run pauses at the canary gate, never promotes, and resumes once Prometheus is back', async () => {
    const { before } = await freshLab();
    lab.pristine = before;
    const beforeHistory = await restartHistory();
    await cliOk(['start', '-f', writeFaultPlan({ approval: 'required' }, LONG_CANARY_SOAK), '--by', 'faults']);

    // Most of a soak is its timers between checks: the status step says where it is.
    await untilStatus('the canary soak', (st) => st.phase === 'canary' && st.step.startsWith('soaking canary'));
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
    await untilRunEnds(300_000);
    await expectRolledBackOnce(before, beforeHistory, ['canary-test']);
  }, TEST_TIMEOUT);

  it('onInconclusive rollback: the run rolls back on its own and never promotes', async () => {
    const { before } = await freshLab();
    lab.pristine = before;
    const beforeHistory = await restartHistory();
    await cliOk(['start', '-f', writeFaultPlan({ approval: 'required' }, { ...LONG_CANARY_SOAK, 'onInconclusive: pause': 'onInconclusive: rollback' }), '--by', 'faults']);

    // Most of a soak is its timers between checks: the status step says where it is.
    await untilStatus('the canary soak', (st) => st.phase === 'canary' && st.step.startsWith('soaking canary'));
    const stoppedAt = Date.now();
    await stopLabPrometheus();
    try {
      await untilRunEnds(300_000);
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
