import { describe, expect, it } from '@jest/globals';
import { describeStatusChanges } from '../../cli/format/changes.js';
import type { GateCheck, UpgradeStatus } from '../../workflows/messages.js';
import { describeWaitingFor, latestMeasurementPerMetric, renderStatus } from '../../cli/format/status.js';
import { renderTable } from '../../cli/format/table.js';
import { formatNumber, formatTimestamp } from '../../cli/format/values.js';

function check(index: number, errorRate: number | null, extra: Partial<GateCheck> = {}): GateCheck {
  return {
    stage: 'canary',
    at: `2026-11-26T10:0${index}:00.123Z`,
    index,
    namespaces: ['shop'],
    windowMs: 300_000,
    measurements: [
      {
        metric: 'error-rate',
        query: 'sum(rate(...))',
        value: errorRate,
        requests: 1520,
        phase: errorRate === null ? 'inconclusive' : errorRate > 0.01 ? 'fail' : 'pass',
        reason: errorRate === null ? 'no data' : `${errorRate} vs max 0.01`,
        threshold: 'max 0.01',
      },
    ],
    ...extra,
  };
}

function sampleStatus(overrides: Partial<UpgradeStatus> = {}): UpgradeStatus {
  return {
    plan: 'prod-eu-1-30',
    cluster: 'prod-eu',
    phase: 'awaiting-approval',
    step: 'waiting for approval of promotion',
    paused: false,
    waitingFor: { kind: 'approval', subject: 'promotion', deadline: '2026-11-27T10:00:00.000Z', onTimeout: 'rollback' },
    sourceRevision: '1-29-4',
    targetRevision: '1-30-3',
    currentWave: 'canary',
    backupLocation: '/var/lib/istio-canary/backups/prod-eu',
    namespaces: [
      { name: 'shop', wave: 'canary', state: 'migrated', revisionBefore: '1-29-4', revisionAfter: '1-30-3' },
      { name: 'catalog', wave: 'low-risk', state: 'pending' },
    ],
    gateChecks: [check(1, 0.004), check(2, 0.0023456)],
    decisions: [{ at: '2026-11-26T09:59:00.000Z', kind: 'gate', by: 'istio-canary', reason: 'canary gate passed', subject: 'canary gate' }],
    timings: [],
    ...overrides,
  };
}

describe('renderTable', () => {
  it('pads columns to the widest cell, upper-cases headers and trims line ends', () => {
    expect(renderTable(['name', 'state'], [['shop', 'migrated'], ['catalog-long', 'x']])).toBe(
      ['NAME          STATE', 'shop          migrated', 'catalog-long  x'].join('\n'),
    );
  });

  it('renders only the header when there are no rows', () => {
    expect(renderTable(['a', 'b'], [])).toBe('A  B');
  });
});

describe('values', () => {
  it('formats metric numbers: integers as is, fractions to 4 significant digits, null as no data', () => {
    expect(formatNumber(1520)).toBe('1520');
    expect(formatNumber(0.0023456)).toBe('0.002346');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(null)).toBe('no data');
  });

  it('drops milliseconds from timestamps and shows a dash for none', () => {
    expect(formatTimestamp('2026-11-26T10:01:00.123Z')).toBe('2026-11-26T10:01:00Z');
    expect(formatTimestamp(undefined)).toBe('-');
  });
});

describe('latestMeasurementPerMetric', () => {
  it('keeps the newest measurement of each metric with the check it came from', () => {
    const latency = check(3, null, {
      measurements: [{ metric: 'p99-latency', query: 'q', value: 120, requests: 900, phase: 'pass', reason: 'ok', threshold: 'max 500ms' }],
    });
    const latest = latestMeasurementPerMetric([check(1, 0.004), check(2, 0.02), latency]);
    expect(latest.map(({ check, measurement }) => [measurement.metric, check.index, measurement.value])).toEqual([
      ['error-rate', 2, 0.02],
      ['p99-latency', 3, 120],
    ]);
  });
});

describe('describeWaitingFor', () => {
  it('names the approval, its deadline, the timeout action and the command that answers it', () => {
    expect(describeWaitingFor({ kind: 'approval', subject: 'promotion', deadline: '2026-11-27T10:00:00.000Z', onTimeout: 'rollback' }, 'prod-eu')).toBe(
      'approval of promotion until 2026-11-27T10:00:00Z, then rollback: istio-canary approve prod-eu',
    );
  });

  it('names the reason and the resume command for a pause', () => {
    expect(describeWaitingFor({ kind: 'resume', reason: 'paused by alice' }, 'prod-eu')).toBe('resume (paused by alice): istio-canary resume prod-eu');
  });
});

describe('renderStatus', () => {
  it('shows phase, step, what it waits for, namespaces, the latest gate numbers and decisions', () => {
    const text = renderStatus({ workflowId: 'istio-canary-prod-eu', executionStatus: 'RUNNING', status: sampleStatus() });
    expect(text).toContain('Upgrade      istio-canary-prod-eu (RUNNING)');
    expect(text).toContain('Revisions    1-29-4 -> 1-30-3');
    expect(text).toContain('Phase        awaiting-approval');
    expect(text).toContain('Waiting for  approval of promotion until 2026-11-27T10:00:00Z, then rollback: istio-canary approve prod-eu');
    expect(text).toContain('Namespaces (1/2 migrated)');
    expect(text).toMatch(/shop\s+canary\s+migrated\s+1-29-4\s+1-30-3/);
    expect(text).toMatch(/catalog\s+low-risk\s+pending\s+-\s+-/);
    expect(text).toContain('Gate (2 checks; latest per metric)');
    expect(text).toMatch(/error-rate\s+canary #2\s+2026-11-26T10:02:00Z\s+pass\s+0\.002346\s+1520\s+max 0\.01/);
    expect(text).toMatch(/2026-11-26T09:59:00Z\s+gate\s+istio-canary\s+canary gate\s+canary gate passed/);
    expect(text).not.toContain('Result');
  });

  it('says when nothing happened yet and marks a paused run', () => {
    const text = renderStatus({
      workflowId: 'istio-canary-prod-eu',
      status: sampleStatus({ phase: 'preflight', paused: true, waitingFor: undefined, sourceRevision: undefined, namespaces: [], gateChecks: [], decisions: [] }),
    });
    expect(text).toContain('Phase        preflight (paused)');
    expect(text).toContain('Revisions    (detecting) -> 1-30-3');
    expect(text).toContain('Namespaces: none yet');
    expect(text).toContain('Gate: no checks yet');
    expect(text).toContain('Decisions: none yet');
    expect(text).not.toContain('Waiting for');
  });

  it('shows a failed query as error and the result with rollback errors', () => {
    const failed = check(4, null);
    failed.measurements[0] = { ...failed.measurements[0]!, phase: 'error', error: 'prometheus: connection refused' };
    const text = renderStatus({
      workflowId: 'istio-canary-prod-eu',
      executionStatus: 'COMPLETED',
      status: sampleStatus({
        phase: 'rolled-back',
        gateChecks: [failed],
        result: { outcome: 'rolled-back', reason: 'error-rate failed (2) > failureLimit (1)', evidence: [], rollbackErrors: ['shop: restart timed out'], decisions: [] },
      }),
    });
    expect(text).toMatch(/error-rate\s+canary #4\s+\S+\s+error\s+error\s+1520\s+max 0\.01\s+prometheus: connection refused/);
    expect(text).toContain('Result: rolled-back: error-rate failed (2) > failureLimit (1)');
    expect(text).toContain('  rollback error: shop: restart timed out');
  });

  it('lists the numbers behind a failed gate decision, not behind a passed one', () => {
    const evidence = (check: number, value: number, phase: 'pass' | 'fail') => ({
      stage: 'canary', check, at: '2026-11-26T09:00:00.000Z', metric: 'error-rate', phase, value, requests: 400, threshold: 'max 0.01', reason: `${value} vs max 0.01`,
    });
    const text = renderStatus({
      workflowId: 'istio-canary-prod-eu',
      status: sampleStatus({
        decisions: [
          { at: '2026-11-26T09:00:00.000Z', kind: 'gate', by: 'istio-canary', reason: 'passed: 2 checks', subject: 'canary gate', evidence: [evidence(1, 0.001, 'pass')] },
          { at: '2026-11-26T09:05:00.000Z', kind: 'gate', by: 'istio-canary', reason: 'failed: 2 > failureLimit 1', subject: 'rest gate', evidence: [evidence(1, 0.052, 'fail'), evidence(2, 0.061, 'fail')] },
        ],
      }),
    });
    expect(text).toContain('Evidence behind gate decisions');
    expect(text).toMatch(/rest gate\s+#1\s+error-rate\s+fail\s+0\.052\s+400\s+max 0\.01/);
    expect(text).toMatch(/rest gate\s+#2\s+error-rate\s+fail\s+0\.061/);
    expect(text).not.toMatch(/canary gate\s+#1/);
  });
});

function next(previous: UpgradeStatus, change: Partial<UpgradeStatus>): UpgradeStatus {
  return { ...structuredClone(previous), ...change };
}

describe('describeStatusChanges', () => {
  const before = sampleStatus({ phase: 'canary', step: 'soaking canary', waitingFor: undefined, decisions: [] });

  it('reports nothing when nothing changed', () => {
    expect(describeStatusChanges(before, structuredClone(before))).toEqual([]);
  });

  it('reports phase, step, waiting-for, namespace states, new checks and decisions, one line each', () => {
    const after = next(before, {
      phase: 'awaiting-approval',
      step: 'waiting for approval of promotion',
      waitingFor: { kind: 'approval', subject: 'promotion', onTimeout: 'hold' },
      namespaces: [
        { ...before.namespaces[0]! },
        { name: 'catalog', wave: 'low-risk', state: 'relabelled', detail: 'istio.io/rev=1-30-3' },
        { name: 'search', wave: 'low-risk', state: 'pending' },
      ],
      gateChecks: [
        ...before.gateChecks,
        {
          stage: 'canary',
          at: '2026-11-26T10:05:00.000Z',
          index: 3,
          namespaces: ['shop'],
          windowMs: 60_000,
          measurements: [{ metric: 'error-rate', query: 'q', value: 0.05, requests: 2000, phase: 'fail', reason: '0.05 > max 0.01', threshold: 'max 0.01' }],
        },
      ],
      decisions: [{ at: '2026-11-26T10:06:00.000Z', kind: 'approve', by: 'alice', reason: 'looks good', subject: 'promotion' }],
    });
    expect(describeStatusChanges(before, after)).toEqual([
      'phase: canary -> awaiting-approval',
      'step: waiting for approval of promotion',
      'waiting for approval of promotion: istio-canary approve prod-eu',
      'namespace catalog [low-risk]: pending -> relabelled (istio.io/rev=1-30-3)',
      'namespace search [low-risk]: pending',
      'gate canary #3: error-rate fail 0.05 (0.05 > max 0.01)',
      'decision: approve (promotion) by alice: looks good',
    ]);
  });

  it('reports pause, resume and the result', () => {
    const paused = next(before, { paused: true });
    expect(describeStatusChanges(before, paused)).toEqual(['paused']);
    expect(describeStatusChanges(paused, before)).toEqual(['resumed']);
    const done = next(before, { result: { outcome: 'completed', reason: 'every namespace runs 1-30-3', evidence: [], rollbackErrors: [], decisions: [] } });
    expect(describeStatusChanges(before, done)).toEqual(['result: completed: every namespace runs 1-30-3']);
  });

  it('finds new gate checks by identity, so a status that drops old checks still shows new ones', () => {
    const [first, second] = before.gateChecks;
    const third = { ...second!, index: 3, at: '2026-11-26T10:09:00.000Z' };
    expect(describeStatusChanges(next(before, { gateChecks: [first!, second!] }), next(before, { gateChecks: [second!, third] }))).toEqual([
      'gate canary #3: error-rate pass 0.002346 (0.0023456 vs max 0.01)',
    ]);
  });
});
