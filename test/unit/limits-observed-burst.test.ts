import { describe, expect, it } from '@jest/globals';
import { observedBurst } from '../../limits/observed-burst.js';
import { TokenBucket } from '../../limits/token-bucket.js';

describe('observedBurst', () => {
  it('is the number of requests sent at one instant', () => {
    expect(observedBurst(Array.from({ length: 100 }, () => 5_000), 50)).toBe(100);
    expect(observedBurst([], 50)).toBe(0);
  });

  it('is 1 for requests exactly at the rate, whatever their number', () => {
    expect(observedBurst(Array.from({ length: 500 }, (_, i) => i * 20), 50)).toBeCloseTo(1);
  });

  it('grows with a stream faster than the rate: 100/s for 10 s against 50/s', () => {
    // 1,000 requests over 9.99 s, of which the rate refills 499.5.
    expect(observedBurst(Array.from({ length: 1_000 }, (_, i) => i * 10), 50)).toBeCloseTo(500.5);
  });

  it('finds a burst in the middle of a calm stream, in any order', () => {
    const calm = Array.from({ length: 100 }, (_, i) => i * 100); // 10/s
    const burst = Array.from({ length: 30 }, () => 4_000); // beside the calm request at 4 s: 31 at one instant
    expect(observedBurst([...burst, ...calm].reverse(), 20)).toBeCloseTo(31, 5);
  });

  it('never exceeds the burst of the token bucket that paced the requests', () => {
    for (const [rate, burst] of [[50, 100], [5, 10], [20, 1]] as const) {
      const bucket = new TokenBucket({ ratePerSecond: rate, burst });
      const sent: number[] = [];
      let now = 0;
      for (let i = 0; i < 2_000; i++) {
        now += i % 300 < 200 ? 1 : 400; // busy spells, then quiet ones that refill the bucket
        sent.push(now + bucket.reserve(now));
      }
      const seen = observedBurst(sent, rate);
      expect(seen).toBeLessThanOrEqual(burst + 1e-9);
      expect(seen).toBeGreaterThan(burst - 1); // and the busy spells did use it all
    }
  });

  it('refuses a rate that cannot work', () => {
    expect(() => observedBurst([1], 0)).toThrow(/rate must be a positive number/);
  });
});
