import { describe, expect, it } from '@jest/globals';
import { TokenBucket } from '../../limits/token-bucket.js';

describe('TokenBucket', () => {
  it('lets a burst through at once, then spaces requests at the rate', () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3 });
    expect([bucket.reserve(0), bucket.reserve(0), bucket.reserve(0)]).toEqual([0, 0, 0]);
    // Queued callers wait 100 ms, 200 ms, 300 ms: in order, one per 1/rate.
    expect([bucket.reserve(0), bucket.reserve(0), bucket.reserve(0)]).toEqual([100, 200, 300]);
  });

  it('refills with time but never above the burst', () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2 });
    bucket.reserve(0);
    bucket.reserve(0);
    expect(bucket.reserve(50)).toBeCloseTo(50); // half a token came back
    // A long idle period refills to the burst only: two free, the third waits.
    expect([bucket.reserve(10_000), bucket.reserve(10_000), bucket.reserve(10_000)]).toEqual([0, 0, 100]);
  });

  it('never grants more than burst + rate × elapsed over any span', () => {
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 5 });
    const startTimes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const now = i * 7; // callers arrive every 7 ms, faster than 20/s
      startTimes.push(now + bucket.reserve(now));
    }
    for (let i = 0; i < startTimes.length; i++) {
      for (let j = i; j < startTimes.length; j++) {
        const span = startTimes[j]! - startTimes[i]!;
        expect(j - i + 1).toBeLessThanOrEqual(5 + (span * 20) / 1000 + 1e-9);
      }
    }
  });

  it('ignores a clock that goes backwards', () => {
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 });
    expect(bucket.reserve(5_000)).toBe(0);
    expect(bucket.reserve(1_000)).toBe(1_000);
  });

  it('refuses a rate or burst that cannot work', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(/rate must be a positive number/);
    expect(() => new TokenBucket({ ratePerSecond: Number.NaN, burst: 1 })).toThrow(/rate/);
    expect(() => new TokenBucket({ ratePerSecond: 5, burst: 0 })).toThrow(/burst must be a whole number/);
    expect(() => new TokenBucket({ ratePerSecond: 5, burst: 1.5 })).toThrow(/burst/);
  });
});
