import { describe, expect, it } from '@jest/globals';
import {
  FAULTY_PROFILE,
  HEALTHY_PROFILE,
  ISTIO_DURATION_BUCKETS_MS,
  InvalidFaultError,
  assertVersionName,
  histogramQuantile,
  latencyDistribution,
  normalCdf,
  parseFaultMap,
  parseFaultProfile,
} from '../../lab/traffic/profiles.js';

describe('parseFaultProfile', () => {
  it('takes every field', () => {
    expect(parseFaultProfile({ errorRate: 0.05, latencyMs: 600, xdsRejectsPerMin: 6 })).toEqual({ errorRate: 0.05, latencyMs: 600, xdsRejectsPerMin: 6 });
  });

  it('fills missing fields from the base profile', () => {
    expect(parseFaultProfile({ errorRate: 0.2 })).toEqual({ ...HEALTHY_PROFILE, errorRate: 0.2 });
    expect(parseFaultProfile({}, FAULTY_PROFILE)).toEqual(FAULTY_PROFILE);
  });

  it.each([
    [null, /JSON object/],
    [[1], /JSON object/],
    ['0.05', /JSON object/],
    [{ errorRate: 1.5 }, /errorRate must be a number from 0 to 1/],
    [{ errorRate: -0.1 }, /errorRate/],
    [{ errorRate: '0.05' }, /errorRate/],
    [{ latencyMs: 0.5 }, /latencyMs must be a number from 1 to 3600000/],
    [{ latencyMs: 4_000_000 }, /latencyMs/],
    [{ xdsRejectsPerMin: -1 }, /xdsRejectsPerMin/],
    [{ xdsRejectsPerMin: Number.NaN }, /xdsRejectsPerMin/],
    [{ errorrate: 0.1 }, /unknown field "errorrate"/],
  ])('refuses %p', (input, message) => {
    expect(() => parseFaultProfile(input)).toThrow(InvalidFaultError);
    expect(() => parseFaultProfile(input)).toThrow(message);
  });
});

describe('parseFaultMap', () => {
  it('reads versions to profiles, filling from the base', () => {
    const faults = parseFaultMap({ '1.31.0': { errorRate: 0.05 }, '1.30.3-distroless': FAULTY_PROFILE });
    expect([...faults.keys()]).toEqual(['1.31.0', '1.30.3-distroless']);
    expect(faults.get('1.31.0')).toEqual({ ...HEALTHY_PROFILE, errorRate: 0.05 });
  });

  it('names the version of a bad profile', () => {
    expect(() => parseFaultMap({ '1.31.0': { errorRate: 2 } })).toThrow(/^faults\.1\.31\.0: errorRate/);
  });

  it('refuses a version that is no image tag, and non-objects', () => {
    expect(() => parseFaultMap({ '../x': {} })).toThrow(InvalidFaultError);
    expect(() => parseFaultMap({ '': {} })).toThrow(InvalidFaultError);
    expect(() => parseFaultMap([])).toThrow(/JSON object/);
  });

  it('assertVersionName accepts tags and refuses the rest', () => {
    expect(() => assertVersionName('1.30.3')).not.toThrow();
    expect(() => assertVersionName('1.31.0-beta.1')).not.toThrow();
    expect(() => assertVersionName('unknown')).not.toThrow();
    expect(() => assertVersionName('a/b')).toThrow(InvalidFaultError);
    expect(() => assertVersionName('-1')).toThrow(InvalidFaultError);
    expect(() => assertVersionName('x'.repeat(129))).toThrow(InvalidFaultError);
  });
});

describe('normalCdf', () => {
  it.each([
    [0, 0.5],
    [1, 0.8413447],
    [-1, 0.1586553],
    [2.3263479, 0.99],
    [-3, 0.0013499],
  ])('Φ(%d) = %d', (z, p) => {
    expect(normalCdf(z)).toBeCloseTo(p, 6);
  });
});

describe('latencyDistribution', () => {
  const p99s = [1, 2, 7.5, 40, 100, 120, 249, 250, 251, 600, 1000, 1234, 30_000, 2_000_000, 3_600_000];

  it.each(p99s)('p99 %d ms reads back exactly through histogram_quantile', (p99) => {
    const { perBucket } = latencyDistribution(p99);
    expect(histogramQuantile(0.99, perBucket)).toBeCloseTo(p99, 6);
  });

  it.each(p99s)('p99 %d ms: one share per bucket and +Inf, none negative, summing to 1', (p99) => {
    const { perBucket } = latencyDistribution(p99);
    expect(perBucket).toHaveLength(ISTIO_DURATION_BUCKETS_MS.length + 1);
    for (const share of perBucket) expect(share).toBeGreaterThanOrEqual(-1e-12);
    expect(perBucket.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('healthy default: p99 120 ms, median well below it, mean between', () => {
    const { perBucket, meanMs } = latencyDistribution(HEALTHY_PROFILE.latencyMs);
    const p50 = histogramQuantile(0.5, perBucket);
    expect(p50).toBeGreaterThan(25);
    expect(p50).toBeLessThan(60);
    expect(meanMs).toBeGreaterThan(p50 * 0.8);
    expect(meanMs).toBeLessThan(120);
  });

  it('a slower profile is slower at every quantile', () => {
    const fast = latencyDistribution(120).perBucket;
    const slow = latencyDistribution(600).perBucket;
    for (const q of [0.5, 0.9, 0.99, 0.999]) expect(histogramQuantile(q, slow)).toBeGreaterThan(histogramQuantile(q, fast));
    expect(latencyDistribution(600).meanMs).toBeGreaterThan(latencyDistribution(120).meanMs);
  });

  it('refuses latencies outside 1 ms .. 1 h', () => {
    expect(() => latencyDistribution(0.5)).toThrow(InvalidFaultError);
    expect(() => latencyDistribution(3_600_001)).toThrow(InvalidFaultError);
    expect(() => latencyDistribution(Number.NaN)).toThrow(InvalidFaultError);
  });

  it('is memoised (the same object for the same latency)', () => {
    expect(latencyDistribution(321)).toBe(latencyDistribution(321));
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket like Prometheus, from 0 in the first bucket', () => {
    const perBucket = new Array<number>(ISTIO_DURATION_BUCKETS_MS.length + 1).fill(0);
    perBucket[0] = 10; // (0, 0.5]
    perBucket[6] = 10; // (50, 100]
    expect(histogramQuantile(0.25, perBucket)).toBeCloseTo(0.25, 9);
    expect(histogramQuantile(0.75, perBucket)).toBeCloseTo(75, 9);
  });
  it('is NaN without observations', () => {
    expect(histogramQuantile(0.99, new Array<number>(20).fill(0))).toBeNaN();
  });
});
