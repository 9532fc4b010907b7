import { describe, expect, it } from '@jest/globals';
import { evaluateSample, formatNumber, worstOf } from '../../gates/verdict.js';
import type { MetricSample } from '../../activities/contract.js';
import type { MetricSpec } from '../../plan/types.js';

const errorRate: MetricSpec = { name: 'error-rate', type: 'errorRate', max: 0.01, minRequests: 100 };
const latency: MetricSpec = { name: 'latency-p99', type: 'latencyP99', maxMs: 250, minRequests: 100 };
const volume: MetricSpec = { name: 'volume', type: 'requestVolume', minRps: 1 };
const xds: MetricSpec = { name: 'xds-rejects', type: 'xdsRejects', max: 0 };

function sample(metric: MetricSpec, value: number | null, requests: number | null, error?: string): MetricSample {
  return { metric: metric.name, query: 'q', value, requests, ...(error !== undefined && { error }) };
}

describe('worstOf', () => {
  it('orders pass < inconclusive < error < fail', () => {
    expect(worstOf(['pass', 'pass'])).toBe('pass');
    expect(worstOf(['pass', 'inconclusive'])).toBe('inconclusive');
    expect(worstOf(['error', 'inconclusive', 'pass'])).toBe('error');
    expect(worstOf(['pass', 'fail', 'error'])).toBe('fail');
  });

  it('is inconclusive for no phases: no evidence is never a pass', () => {
    expect(worstOf([])).toBe('inconclusive');
  });
});

describe('formatNumber', () => {
  it.each([
    [0.052, '0.052'],
    [0.0123456, '0.0123'],
    [1519.7, '1520'],
    [42, '42'],
    [812.49, '812'],
    [0, '0'],
  ])('%p -> %s', (value, expected) => {
    expect(formatNumber(value)).toBe(expected);
  });
});

describe('evaluateSample', () => {
  it('keeps the sample and adds phase, reason and threshold', () => {
    const s = sample(errorRate, 0.002, 1519.7);
    expect(evaluateSample(errorRate, s)).toEqual({ ...s, phase: 'pass', reason: '0.002 <= max 0.01 (1520 requests)', threshold: 'max 0.01' });
  });

  it('a failed query is an error, not "no data"', () => {
    const m = evaluateSample(errorRate, sample(errorRate, null, null, 'network_error: connect ECONNREFUSED'));
    expect(m.phase).toBe('error');
    expect(m.reason).toBe('query failed: network_error: connect ECONNREFUSED');
    expect(m.error).toBe('network_error: connect ECONNREFUSED');
  });

  it.each([null, Number.NaN])('value %p is inconclusive "no data", never a pass', (value) => {
    const m = evaluateSample(errorRate, sample(errorRate, value, null));
    expect(m.phase).toBe('inconclusive');
    expect(m.reason).toBe('no data');
  });

  it('"no data" shows the request count when it is known', () => {
    expect(evaluateSample(latency, sample(latency, null, 0)).reason).toBe('no data (0 requests)');
  });

  it('errorRate: too few requests is inconclusive even when the value is bad', () => {
    const m = evaluateSample(errorRate, sample(errorRate, 0.5, 42));
    expect(m.phase).toBe('inconclusive');
    expect(m.reason).toBe('42 requests < minRequests 100');
  });

  it('errorRate: an unknown request count is inconclusive', () => {
    const m = evaluateSample(errorRate, sample(errorRate, 0, null));
    expect(m.phase).toBe('inconclusive');
    expect(m.reason).toBe('request count unknown');
  });

  it('errorRate: over max fails with the numbers', () => {
    const m = evaluateSample(errorRate, sample(errorRate, 0.052, 1520));
    expect(m.phase).toBe('fail');
    expect(m.reason).toBe('0.052 > max 0.01 (1520 requests)');
  });

  it('errorRate: exactly at max passes; a value that rounds to max shows its digits', () => {
    expect(evaluateSample(errorRate, sample(errorRate, 0.01, 100)).phase).toBe('pass');
    const m = evaluateSample(errorRate, sample(errorRate, 0.0100004, 100));
    expect(m.phase).toBe('fail');
    expect(m.reason).toBe('0.0100004 > max 0.01 (100 requests)');
  });

  it('errorRate: zero errors with traffic passes', () => {
    expect(evaluateSample(errorRate, sample(errorRate, 0, 5000)).phase).toBe('pass');
  });

  it('latencyP99: over maxMs fails, under passes, few requests inconclusive', () => {
    expect(evaluateSample(latency, sample(latency, 812.4, 300))).toMatchObject({
      phase: 'fail',
      reason: '812ms > max 250ms (300 requests)',
      threshold: 'max 250ms',
    });
    expect(evaluateSample(latency, sample(latency, 49.75, 300))).toMatchObject({ phase: 'pass', reason: '49.8ms <= max 250ms (300 requests)' });
    expect(evaluateSample(latency, sample(latency, 49.75, 99)).phase).toBe('inconclusive');
  });

  it('requestVolume: below minRps is inconclusive (not exercised), at or above passes', () => {
    expect(evaluateSample(volume, sample(volume, 0.4, null))).toMatchObject({
      phase: 'inconclusive',
      reason: '0.4 rps < min 1 rps',
      threshold: 'min 1 rps',
    });
    expect(evaluateSample(volume, sample(volume, 12.34, null))).toMatchObject({ phase: 'pass', reason: '12.3 rps >= min 1 rps' });
    expect(evaluateSample(volume, sample(volume, 1, null)).phase).toBe('pass');
  });

  it('requestVolume: no data is inconclusive', () => {
    expect(evaluateSample(volume, sample(volume, null, null)).phase).toBe('inconclusive');
  });

  it('xdsRejects: rejects over max fail, none pass', () => {
    expect(evaluateSample(xds, sample(xds, 3, 12))).toMatchObject({ phase: 'fail', reason: '3 > max 0 (12 proxies)', threshold: 'max 0' });
    expect(evaluateSample(xds, sample(xds, 0, 12))).toMatchObject({ phase: 'pass', reason: '0 <= max 0 (12 proxies)' });
  });

  it('xdsRejects: a control plane nobody scrapes, or with no proxies, is inconclusive', () => {
    expect(evaluateSample(xds, sample(xds, 0, null))).toMatchObject({ phase: 'inconclusive', reason: expect.stringMatching(/^no data/) });
    expect(evaluateSample(xds, sample(xds, 0, 0))).toMatchObject({ phase: 'inconclusive', reason: 'no proxies connected to the revision' });
  });
});
