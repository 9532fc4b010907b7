// The inverse of the token bucket, for checking a limit after the fact: given
// when requests happened, the smallest burst that a bucket refilling at
// `ratePerSecond` would have needed to let them all through. A client held to
// burst B never shows more than B on its own send times; counting requests per
// clock second cannot show that (a full bucket at a second's start allows
// B + rate in it, and a window straddling two seconds is split).

/**
 * max over every window [t_i, t_j] of (requests in it) − rate × (t_j − t_i).
 * One pass: for each j, the best i is the one maximising rate × t_i − i.
 */
export function observedBurst(timesMs: readonly number[], ratePerSecond: number): number {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be a positive number, got ${ratePerSecond}`);
  const sorted = [...timesMs].sort((a, b) => a - b);
  const perMs = ratePerSecond / 1000;
  let best = 0;
  let bestStart = -Infinity;
  sorted.forEach((t, j) => {
    bestStart = Math.max(bestStart, perMs * t - j);
    best = Math.max(best, j + 1 - perMs * t + bestStart);
  });
  return best;
}
