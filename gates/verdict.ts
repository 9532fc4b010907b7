// Gate verdicts, Argo-Rollouts style: one sample evaluates to a measurement
// (pass, fail, inconclusive or error), then the limits are applied over the
// checks of a soak. Pure and workflow-safe: numbers in, verdict out. Missing
// data is never a pass, and a gate never passes on a trailing failure.

import type { MetricSpec } from '../plan/types.js';
import type { MetricSample } from '../activities/contract.js';
import type { GateCheck, Measurement, MeasurementPhase } from '../workflows/messages.js';

/** Best to worst; a combination of phases is the worst of them. */
export const PHASE_ORDER: readonly MeasurementPhase[] = ['pass', 'inconclusive', 'error', 'fail'];

/** The worst phase of the list; an empty list is inconclusive because no evidence is never a pass. */
export function worstOf(phases: readonly MeasurementPhase[]): MeasurementPhase {
  if (phases.length === 0) return 'inconclusive';
  return phases.reduce((worst, phase) => (PHASE_ORDER.indexOf(phase) > PHASE_ORDER.indexOf(worst) ? phase : worst));
}

/** Short, readable numbers for reasons: 3 significant digits, whole numbers from 1000 up. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** A value compared with a limit, with enough digits that the comparison reads true. */
function compared(value: number, op: string, limit: number, unit = ''): string {
  const shown = formatNumber(value) === formatNumber(limit) && value !== limit ? String(value) : formatNumber(value);
  return `${shown}${unit} ${op} ${op === '>' || op === '<=' ? 'max' : 'min'} ${formatNumber(limit)}${unit}`;
}

export function describeThreshold(metric: MetricSpec): string {
  switch (metric.type) {
    case 'errorRate':
      return `max ${formatNumber(metric.max)}`;
    case 'latencyP99':
      return `max ${formatNumber(metric.maxMs)}ms`;
    case 'requestVolume':
      return `min ${formatNumber(metric.minRps)} rps`;
    case 'xdsRejects':
      return `max ${formatNumber(metric.max)}`;
  }
}

type Verdict = Pick<Measurement, 'phase' | 'reason'>;

function hasNumber(value: number | null): value is number {
  return value !== null && Number.isFinite(value);
}

/** Not enough requests behind the value to trust it. */
function tooFewRequests(requests: number | null, minRequests: number): Verdict | undefined {
  if (requests === null || !Number.isFinite(requests)) return { phase: 'inconclusive', reason: 'request count unknown' };
  if (requests < minRequests) {
    return { phase: 'inconclusive', reason: `${formatNumber(requests)} requests < minRequests ${formatNumber(minRequests)}` };
  }
  return undefined;
}

function againstMax(value: number, max: number, evidence: string, unit = ''): Verdict {
  return value > max
    ? { phase: 'fail', reason: `${compared(value, '>', max, unit)} (${evidence})` }
    : { phase: 'pass', reason: `${compared(value, '<=', max, unit)} (${evidence})` };
}

function judge(metric: MetricSpec, value: number, requests: number | null): Verdict {
  switch (metric.type) {
    case 'errorRate':
      return tooFewRequests(requests, metric.minRequests) ?? againstMax(value, metric.max, `${formatNumber(requests ?? 0)} requests`);
    case 'latencyP99':
      return (
        tooFewRequests(requests, metric.minRequests) ??
        againstMax(value, metric.maxMs, `${formatNumber(requests ?? 0)} requests`, 'ms')
      );
    case 'requestVolume':
      // Too little traffic does not mean the canary is broken, only that it is not being exercised.
      return value < metric.minRps
        ? { phase: 'inconclusive', reason: `${compared(value, '<', metric.minRps, ' rps')}` }
        : { phase: 'pass', reason: `${compared(value, '>=', metric.minRps, ' rps')}` };
    case 'xdsRejects':
      // `requests` is the number of proxies connected to the revision: without any,
      // a zero reject count proves nothing.
      if (requests === null || !Number.isFinite(requests)) return { phase: 'inconclusive', reason: 'no data: no connected-proxy count for the revision' };
      if (requests <= 0) return { phase: 'inconclusive', reason: 'no proxies connected to the revision' };
      return againstMax(value, metric.max, `${formatNumber(requests)} proxies`);
  }
}

/** One sample against its metric's threshold. A failed query is 'error', missing data 'inconclusive'. */
export function evaluateSample(metric: MetricSpec, sample: MetricSample): Measurement {
  const threshold = describeThreshold(metric);
  let verdict: Verdict;
  if (sample.error !== undefined) {
    verdict = { phase: 'error', reason: `query failed: ${sample.error}` };
  } else if (!hasNumber(sample.value)) {
    verdict = { phase: 'inconclusive', reason: sample.requests === null ? 'no data' : `no data (${formatNumber(sample.requests)} requests)` };
  } else {
    verdict = judge(metric, sample.value, sample.requests);
  }
  return { ...sample, ...verdict, threshold };
}

export interface MetricAssessment {
  metric: string;
  passes: number;
  /** Length of the trailing run of 'fail'. */
  consecutiveFailures: number;
  /** Checks that were inconclusive or errored: neither counts as evidence of health. */
  inconclusive: number;
  last?: Measurement;
}

export interface GateAssessment {
  verdict: 'continue' | 'passed' | 'failed' | 'inconclusive';
  reason: string;
  perMetric: MetricAssessment[];
}

export interface GateLimits {
  plannedChecks: number;
  failureLimit: number;
  inconclusiveLimit: number;
}

/** Checks a soak of soakMs needs at one per intervalMs; at least one. */
export function plannedChecks(soakMs: number, intervalMs: number): number {
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
  return Math.max(1, Math.ceil(soakMs / intervalMs));
}

/** Per-metric tallies, in the order metrics first appear. */
export function tallyMetrics(checks: readonly GateCheck[]): MetricAssessment[] {
  const byMetric = new Map<string, MetricAssessment>();
  for (const check of checks) {
    for (const m of check.measurements) {
      const tally = byMetric.get(m.metric) ?? { metric: m.metric, passes: 0, consecutiveFailures: 0, inconclusive: 0 };
      if (m.phase === 'pass') tally.passes += 1;
      if (m.phase === 'inconclusive' || m.phase === 'error') tally.inconclusive += 1;
      tally.consecutiveFailures = m.phase === 'fail' ? tally.consecutiveFailures + 1 : 0;
      tally.last = m;
      byMetric.set(m.metric, tally);
    }
  }
  return [...byMetric.values()];
}

function lastReason(tally: MetricAssessment): string {
  return tally.last ? `; last: ${tally.last.reason}` : '';
}

/**
 * Applies the limits to the checks of one soak, in order. Guard blocks, first match wins:
 * fail fast on consecutive failures, stop on too much missing data, wait for the
 * planned checks, pass only when every metric's latest check passed, and otherwise
 * extend the soak until the result is clear or the extension runs out.
 */
export function assessGate(checks: readonly GateCheck[], limits: GateLimits): GateAssessment {
  const perMetric = tallyMetrics(checks);
  // A failureLimit below 1 would fail a gate that never failed; it means "the first failure".
  const failureLimit = Math.max(1, limits.failureLimit);

  // Check if a metric keeps failing.
  const failing = perMetric.find((t) => t.consecutiveFailures >= failureLimit);
  if (failing) {
    return {
      verdict: 'failed',
      reason: `${failing.metric} failed ${failing.consecutiveFailures} consecutive checks (failureLimit ${limits.failureLimit})${lastReason(failing)}`,
      perMetric,
    };
  }

  // Check if a metric has been impossible to judge too often.
  const unclear = perMetric.find((t) => t.inconclusive > limits.inconclusiveLimit);
  if (unclear) {
    return {
      verdict: 'inconclusive',
      reason: `${unclear.metric} inconclusive or errored in ${unclear.inconclusive} checks (inconclusiveLimit ${limits.inconclusiveLimit})${lastReason(unclear)}`,
      perMetric,
    };
  }

  // Wait for the planned soak.
  if (checks.length < limits.plannedChecks) {
    return { verdict: 'continue', reason: `${checks.length} of ${limits.plannedChecks} checks done`, perMetric };
  }

  // Nothing measured at all is missing data, for a human to look at.
  if (perMetric.length === 0) {
    return { verdict: 'inconclusive', reason: `no metric was measured in ${checks.length} checks`, perMetric };
  }

  // Pass only on fresh evidence: every metric's latest check passed.
  const notPassing = perMetric.find((t) => t.last?.phase !== 'pass');
  if (!notPassing) {
    return { verdict: 'passed', reason: `all ${perMetric.length} metrics passed their latest check after ${checks.length} checks`, perMetric };
  }

  // The soak is over but the latest evidence is not clean: extend it, within bounds.
  const extraChecks = checks.length - limits.plannedChecks;
  const maxExtraChecks = limits.failureLimit + limits.inconclusiveLimit;
  const why = `${notPassing.metric} ${notPassing.last?.phase ?? 'unmeasured'}${lastReason(notPassing)}`;
  if (extraChecks > maxExtraChecks) {
    return { verdict: 'failed', reason: `not stable after ${extraChecks} extra checks: ${why}`, perMetric };
  }
  return { verdict: 'continue', reason: `soak extended (${extraChecks} of at most ${maxExtraChecks} extra checks): ${why}`, perMetric };
}
