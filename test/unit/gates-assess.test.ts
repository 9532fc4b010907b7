import { describe, expect, it } from '@jest/globals';
import { assessGate, plannedChecks } from '../../gates/verdict.js';
import type { GateCheck, Measurement, MeasurementPhase } from '../../workflows/messages.js';

const REASONS: Record<MeasurementPhase, string> = {
  pass: '0.002 <= max 0.01 (1520 requests)',
  fail: '0.052 > max 0.01 (1520 requests)',
  inconclusive: 'no data',
  error: 'query failed: timeout',
};

function measurement(metric: string, phase: MeasurementPhase): Measurement {
  return { metric, query: 'q', value: phase === 'pass' ? 0.002 : 0.052, requests: 1520, phase, reason: REASONS[phase], threshold: 'max 0.01' };
}

/** One check per column: checks({ 'error-rate': 'pfp', latency: 'ppp' }) with p/f/i/e. */
function checks(phasesByMetric: Record<string, string>): GateCheck[] {
  const letters: Record<string, MeasurementPhase> = { p: 'pass', f: 'fail', i: 'inconclusive', e: 'error' };
  const count = Math.max(...Object.values(phasesByMetric).map((s) => s.length));
  return Array.from({ length: count }, (_, i) => ({
    stage: 'canary',
    at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
    index: i + 1,
    namespaces: ['shop'],
    windowMs: 60_000,
    measurements: Object.entries(phasesByMetric).map(([metric, phases]) => measurement(metric, letters[phases[i]!]!)),
  }));
}

const limits = { plannedChecks: 3, failureLimit: 2, inconclusiveLimit: 2 };

describe('plannedChecks', () => {
  it('is the soak divided by the interval, rounded up, at least one', () => {
    expect(plannedChecks(600_000, 60_000)).toBe(10);
    expect(plannedChecks(90_000, 60_000)).toBe(2);
    expect(plannedChecks(0, 60_000)).toBe(1);
    expect(plannedChecks(10_000, 60_000)).toBe(1);
  });

  it('refuses a non-positive interval', () => {
    expect(() => plannedChecks(60_000, 0)).toThrow(RangeError);
  });
});

describe('assessGate', () => {
  it('tallies passes, trailing failures and inconclusive+error per metric', () => {
    const { perMetric } = assessGate(checks({ 'error-rate': 'pfief', latency: 'ppppp' }), { ...limits, failureLimit: 5, inconclusiveLimit: 5 });
    expect(perMetric).toEqual([
      { metric: 'error-rate', passes: 1, consecutiveFailures: 1, inconclusive: 2, last: measurement('error-rate', 'fail') },
      { metric: 'latency', passes: 5, consecutiveFailures: 0, inconclusive: 0, last: measurement('latency', 'pass') },
    ]);
  });

  it('fails on failureLimit consecutive failures, with the last numbers', () => {
    const a = assessGate(checks({ 'error-rate': 'ff', latency: 'pp' }), limits);
    expect(a.verdict).toBe('failed');
    expect(a.reason).toBe('error-rate failed 2 consecutive checks (failureLimit 2); last: 0.052 > max 0.01 (1520 requests)');
  });

  it('fails on consecutive failures even before the planned checks are done', () => {
    expect(assessGate(checks({ m: 'ff' }), { ...limits, plannedChecks: 10 }).verdict).toBe('failed');
  });

  it('does not fail on failures that are not consecutive', () => {
    expect(assessGate(checks({ m: 'fpf' }), { ...limits, plannedChecks: 10 }).verdict).toBe('continue');
  });

  it('failureLimit 0 means the first failure fails, and never fails without one', () => {
    expect(assessGate(checks({ m: 'f' }), { ...limits, failureLimit: 0 }).verdict).toBe('failed');
    expect(assessGate([], { ...limits, failureLimit: 0 }).verdict).toBe('continue');
  });

  it('is inconclusive when inconclusive and errored checks exceed inconclusiveLimit', () => {
    const a = assessGate(checks({ 'error-rate': 'iep', latency: 'ppp' }), { ...limits, inconclusiveLimit: 1 });
    expect(a.verdict).toBe('inconclusive');
    expect(a.reason).toBe('error-rate inconclusive or errored in 2 checks (inconclusiveLimit 1); last: 0.002 <= max 0.01 (1520 requests)');
  });

  it('tolerates inconclusive checks up to inconclusiveLimit', () => {
    expect(assessGate(checks({ m: 'iip' }), limits).verdict).toBe('passed');
  });

  it('consecutive failures win over too many inconclusive checks', () => {
    expect(assessGate(checks({ a: 'iiiff' }), limits).verdict).toBe('failed');
  });

  it('continues until the planned checks are done', () => {
    const a = assessGate(checks({ m: 'pp' }), limits);
    expect(a.verdict).toBe('continue');
    expect(a.reason).toBe('2 of 3 checks done');
    expect(assessGate([], limits).verdict).toBe('continue');
  });

  it('passes when every metric passed its latest check', () => {
    const a = assessGate(checks({ 'error-rate': 'fpp', latency: 'ipp' }), limits);
    expect(a.verdict).toBe('passed');
    expect(a.reason).toBe('all 2 metrics passed their latest check after 3 checks');
  });

  it('extends the soak on a trailing failure instead of passing', () => {
    const a = assessGate(checks({ 'error-rate': 'ppf', latency: 'ppp' }), limits);
    expect(a.verdict).toBe('continue');
    expect(a.reason).toBe('soak extended (0 of at most 4 extra checks): error-rate fail; last: 0.052 > max 0.01 (1520 requests)');
  });

  it('extends the soak on trailing missing data instead of passing', () => {
    expect(assessGate(checks({ 'error-rate': 'ppi' }), limits).verdict).toBe('continue');
    expect(assessGate(checks({ 'error-rate': 'ppe' }), limits).verdict).toBe('continue');
  });

  it('passes once an extended soak recovers', () => {
    expect(assessGate(checks({ m: 'ppfpp' }), limits).verdict).toBe('passed');
  });

  it('fails when the extension exceeds failureLimit + inconclusiveLimit checks', () => {
    // Alternating fail/pass never reaches 2 consecutive failures nor 3 inconclusive checks.
    const limitsWide = { plannedChecks: 2, failureLimit: 2, inconclusiveLimit: 0 };
    expect(assessGate(checks({ m: 'pfpf' }), limitsWide).verdict).toBe('continue');
    const a = assessGate(checks({ m: 'pfpfpf' }), limitsWide);
    expect(a.verdict).toBe('failed');
    expect(a.reason).toMatch(/^not stable after 4 extra checks: m fail; last: /);
  });

  it('a metric missing from the latest check is judged on its last measurement', () => {
    const list = checks({ a: 'ppp', b: 'ppp' });
    list.push({ ...list[2]!, index: 4, measurements: [measurement('a', 'pass')] });
    expect(assessGate(list, limits).verdict).toBe('passed');
  });

  it('is inconclusive when the planned checks measured no metric at all', () => {
    const empty = checks({ m: 'ppp' }).map((c) => ({ ...c, measurements: [] }));
    const a = assessGate(empty, limits);
    expect(a.verdict).toBe('inconclusive');
    expect(a.reason).toBe('no metric was measured in 3 checks');
    expect(a.perMetric).toEqual([]);
  });
});
