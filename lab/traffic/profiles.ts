// Fault profiles: how requests served by a proxy of one version turn out. A
// profile is three numbers: the share answered 503, the p99 latency and the
// xDS config rejects per minute its istiod reports. Pure: no I/O, no clock.
//
// Latency is a distribution over Istio's duration buckets built so that
// Prometheus' histogram_quantile(0.99, ...) reads exactly `latencyMs` (it
// interpolates linearly inside a bucket, so the masses around the p99 are
// chosen for that), with a log-normal body (median about a third of the p99)
// below it and a thin tail in the next bucket above it.

/** Istio's default buckets for istio_request_duration_milliseconds (ms). */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export interface FaultProfile {
  /** Share of requests answered 503, 0..1. */
  errorRate: number;
  /** The p99 request duration Prometheus' histogram_quantile reads, in ms (1 .. 3,600,000). */
  latencyMs: number;
  /** Config rejects (pilot_total_xds_rejects) per minute reported by an istiod of this version. */
  xdsRejectsPerMin: number;
}

/** Every version not marked otherwise: 0.1% 5xx, p99 120 ms, no rejects. */
export const HEALTHY_PROFILE: Readonly<FaultProfile> = Object.freeze({ errorRate: 0.001, latencyMs: 120, xdsRejectsPerMin: 0 });

/** A ready-made "bad release": 5% 5xx, p99 600 ms, 6 config rejects a minute. */
export const FAULTY_PROFILE: Readonly<FaultProfile> = Object.freeze({ errorRate: 0.05, latencyMs: 600, xdsRejectsPerMin: 6 });

export const MIN_LATENCY_MS = 1;
export const MAX_LATENCY_MS = 3_600_000;

/** An image tag's characters (versions are read from proxy image tags). */
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class InvalidFaultError extends Error {
  override readonly name = 'InvalidFaultError';
}

export function assertVersionName(version: string): void {
  if (!VERSION_NAME.test(version)) {
    throw new InvalidFaultError(`version ${JSON.stringify(version)} is not an image tag ([A-Za-z0-9][A-Za-z0-9._-]*)`);
  }
}

const FIELDS: Record<keyof FaultProfile, (value: number) => boolean> = {
  errorRate: (v) => v >= 0 && v <= 1,
  latencyMs: (v) => v >= MIN_LATENCY_MS && v <= MAX_LATENCY_MS,
  xdsRejectsPerMin: (v) => v >= 0 && v <= 1_000_000,
};
const FIELD_RULE: Record<keyof FaultProfile, string> = {
  errorRate: 'a number from 0 to 1',
  latencyMs: `a number from ${MIN_LATENCY_MS} to ${MAX_LATENCY_MS}`,
  xdsRejectsPerMin: 'a number from 0 to 1000000',
};

function isField(key: string): key is keyof FaultProfile {
  return Object.hasOwn(FIELDS, key);
}

/**
 * A profile from untrusted JSON: an object with any of errorRate, latencyMs,
 * xdsRejectsPerMin; a missing field takes `base`'s value. Throws
 * InvalidFaultError on anything else.
 */
export function parseFaultProfile(input: unknown, base: FaultProfile = HEALTHY_PROFILE): FaultProfile {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidFaultError('a fault profile is a JSON object {errorRate, latencyMs, xdsRejectsPerMin}');
  }
  const profile: FaultProfile = { ...base };
  for (const [key, value] of Object.entries(input)) {
    if (!isField(key)) throw new InvalidFaultError(`unknown field ${JSON.stringify(key)} (expected errorRate, latencyMs, xdsRejectsPerMin)`);
    if (typeof value !== 'number' || !Number.isFinite(value) || !FIELDS[key](value)) {
      throw new InvalidFaultError(`${key} must be ${FIELD_RULE[key]}, got ${JSON.stringify(value)}`);
    }
    profile[key] = value;
  }
  return profile;
}

/** `{ "<version>": profile, ... }` from untrusted JSON (the --faults flag, a faults file). */
export function parseFaultMap(input: unknown, base: FaultProfile = HEALTHY_PROFILE): Map<string, FaultProfile> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidFaultError('faults are a JSON object {"<version>": {errorRate, latencyMs, xdsRejectsPerMin}, ...}');
  }
  const faults = new Map<string, FaultProfile>();
  for (const [version, profile] of Object.entries(input)) {
    assertVersionName(version);
    try {
      faults.set(version, parseFaultProfile(profile, base));
    } catch (err) {
      throw new InvalidFaultError(`faults.${version}: ${(err as Error).message}`);
    }
  }
  return faults;
}

// ---- latency distribution ----

export interface LatencyDistribution {
  /** Share of requests in each bucket (not cumulative): one per bound, then +Inf. Sums to 1. */
  perBucket: number[];
  /** Mean duration (ms), for the histogram's _sum. */
  meanMs: number;
}

/** The standard normal CDF (Abramowitz-Stegun 7.1.26 for erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

// Body: log-normal whose own p99 is the target and whose median is a third of it.
const BODY_SPREAD = 3;
const Z99 = 2.3263478740408408;
const BODY_SIGMA = Math.log(BODY_SPREAD) / Z99;
// Mass between the bucket bounds around the p99 (see latencyDistribution).
const P99_BUCKET_MASS = 0.009;

const distributions = new Map<number, LatencyDistribution>();

/**
 * The bucket masses of a request duration whose p99, as histogram_quantile
 * computes it from these buckets, is exactly `p99Ms`.
 *
 * With the p99 inside bucket (lo, hi] at fraction t = (p99 - lo) / (hi - lo),
 * the cumulative shares are F(lo) = 0.99 - 0.009 t and F(hi) = 0.99 + 0.009 (1 - t):
 * interpolating 0.99 between them gives lo + t (hi - lo). Below lo the shares
 * follow the log-normal body scaled to F(lo); the rest (1 - F(hi)) lies in the
 * next bucket.
 */
export function latencyDistribution(p99Ms: number): LatencyDistribution {
  const cached = distributions.get(p99Ms);
  if (cached) return cached;
  if (!Number.isFinite(p99Ms) || p99Ms < MIN_LATENCY_MS || p99Ms > MAX_LATENCY_MS) {
    throw new InvalidFaultError(`latency must be from ${MIN_LATENCY_MS} to ${MAX_LATENCY_MS} ms, got ${p99Ms}`);
  }
  const bounds = ISTIO_DURATION_BUCKETS_MS;
  // The first bound >= p99; never 0 since p99 > bounds[0].
  const hiIndex = bounds.findIndex((b) => p99Ms <= b);
  const lo = bounds[hiIndex - 1]!;
  const hi = bounds[hiIndex]!;
  const t = (p99Ms - lo) / (hi - lo);
  const atLo = 0.99 - P99_BUCKET_MASS * t;
  const atHi = 0.99 + P99_BUCKET_MASS * (1 - t);

  const median = p99Ms / BODY_SPREAD;
  const body = (x: number): number => normalCdf(Math.log(x / median) / BODY_SIGMA);
  const bodyAtLo = body(lo);

  const cumulative = bounds.map((b, i) => {
    if (i < hiIndex - 1) return (atLo * body(b)) / bodyAtLo;
    if (i === hiIndex - 1) return atLo;
    if (i === hiIndex) return atHi;
    return 1;
  });
  const perBucket: number[] = [];
  let previous = 0;
  for (const c of cumulative) {
    perBucket.push(c - previous);
    previous = c;
  }
  perBucket.push(1 - previous);

  let meanMs = 0;
  let lower = 0;
  bounds.forEach((b, i) => {
    meanMs += perBucket[i]! * ((lower + b) / 2);
    lower = b;
  });
  meanMs += perBucket[bounds.length]! * lower;

  const distribution = { perBucket, meanMs };
  distributions.set(p99Ms, distribution);
  return distribution;
}

/** What histogram_quantile(q, ...) computes from cumulative bucket counts (for tests and /state). */
export function histogramQuantile(q: number, perBucket: readonly number[]): number {
  const bounds = ISTIO_DURATION_BUCKETS_MS;
  const total = perBucket.reduce((a, b) => a + b, 0);
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    const before = cumulative;
    cumulative += perBucket[i]!;
    if (cumulative >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      const inBucket = cumulative - before;
      return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - before)) / inBucket;
    }
  }
  return bounds[bounds.length - 1]!;
}
