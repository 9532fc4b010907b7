// Prometheus adapter: runs the gate queries and returns the raw numbers. It
// decides nothing (gates/verdict.ts does); a failed query is reported as data
// in MetricSample.error so the verdict can tell "query failed" from "no data".

import { ApplicationFailure } from '@temporalio/common';
import prometheusQuery from 'prometheus-query';
import type { PrometheusDriver as Driver, QueryResult } from 'prometheus-query';
import { buildMetricQueries, UnsafePromQLValueError, type MetricQueries } from '../gates/promql.js';
import type { MetricSpec } from '../plan/types.js';
import { PermanentErrors, type GateScope, type MetricSample, type UpgradeActivities } from './contract.js';

// prometheus-query ships CommonJS; under ESM its exports hang off the default import.
const { PrometheusDriver } = prometheusQuery;

/** A gate check runs every interval; a slow Prometheus must not stall it for long. */
const REQUEST_TIMEOUT_MS = 10_000;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw ApplicationFailure.nonRetryable(`Prometheus URL ${JSON.stringify(url)} is not a URL`, PermanentErrors.InvalidInput);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw ApplicationFailure.nonRetryable(`Prometheus URL ${url} must be http or https`, PermanentErrors.InvalidInput);
  }
  return parsed;
}

function createDriver(url: string): Driver {
  const parsed = parseUrl(url);
  // An HTTP(S)_PROXY from the environment can never help reach a loopback
  // Prometheus, and would send its traffic off the machine.
  const direct = LOOPBACK_HOSTS.has(parsed.hostname);
  return new PrometheusDriver({
    endpoint: url.replace(/\/+$/, ''),
    baseURL: '/api/v1',
    timeout: REQUEST_TIMEOUT_MS,
    ...(direct && {
      requestInterceptor: {
        onFulfilled: (config) => {
          config.proxy = false;
          return config;
        },
      },
    }),
  });
}

/** prometheus-query rejects with plain objects ({ errorType, error }), not Errors. */
export function describeFailure(failure: unknown): string {
  if (failure instanceof Error) return failure.message;
  if (failure && typeof failure === 'object') {
    const { errorType, error, httpStatus } = failure as { errorType?: unknown; error?: unknown; httpStatus?: unknown };
    const parts = [errorType, httpStatus, error].filter((part) => part !== undefined && part !== '');
    if (parts.length > 0) return parts.map(String).join(': ');
  }
  return String(failure);
}

/** The single number of an instant query; null for an empty result or a non-finite value ("no data"). */
export function singleValue(result: QueryResult): number | null {
  let raw: unknown;
  if (result.resultType === 'scalar') {
    raw = (result.result as unknown as [number, string])[1];
  } else if (result.resultType === 'vector') {
    if (result.result.length === 0) return null;
    if (result.result.length > 1) throw new Error(`expected at most one series, got ${result.result.length}`);
    raw = (result.result[0] as { value: { value: unknown } }).value.value;
  } else {
    throw new Error(`expected a vector or scalar, got ${result.resultType}`);
  }
  const value = typeof raw === 'number' ? raw : Number.parseFloat(String(raw));
  // NaN is "no data" (0/0 without traffic); infinities would turn into null in JSON anyway.
  return Number.isFinite(value) ? value : null;
}

function metricQueries(metric: MetricSpec, scope: GateScope): MetricQueries {
  try {
    return buildMetricQueries(metric, scope);
  } catch (err) {
    // An unsafe name is a bug upstream of the gate; no retry can fix it.
    if (err instanceof UnsafePromQLValueError) {
      throw ApplicationFailure.nonRetryable(`metric ${metric.name}: ${err.message}`, PermanentErrors.InvalidInput);
    }
    throw err;
  }
}

export function createPrometheusActivities(): Pick<UpgradeActivities, 'checkPrometheus' | 'measureGate'> {
  const drivers = new Map<string, Driver>();
  function driverFor(url: string): Driver {
    let driver = drivers.get(url);
    if (!driver) {
      driver = createDriver(url);
      drivers.set(url, driver);
    }
    return driver;
  }

  async function checkPrometheus({ url }: { url: string }): Promise<{ version: string }> {
    const driver = driverFor(url);
    try {
      const buildInfo = (await driver.statusBuildinfo()) as { version?: unknown };
      return { version: typeof buildInfo?.version === 'string' ? buildInfo.version : 'unknown' };
    } catch (failure) {
      throw new Error(`Prometheus at ${url} is not reachable: ${describeFailure(failure)}`);
    }
  }

  async function measureGate(scope: GateScope): Promise<MetricSample[]> {
    const driver = driverFor(scope.prometheusUrl);
    // Build every query first so an unsafe scope fails before any request is sent.
    const planned = scope.metrics.map((metric) => ({ metric, queries: metricQueries(metric, scope) }));
    // One evaluation instant for every query, so values and request counts line up.
    const at = Date.now();
    const run = async (query: string | undefined): Promise<number | null> =>
      query === undefined ? null : singleValue(await driver.instantQuery(query, at));

    return Promise.all(
      planned.map(async ({ metric, queries }): Promise<MetricSample> => {
        const sample: MetricSample = { metric: metric.name, query: queries.value, value: null, requests: null };
        try {
          const [value, requests] = await Promise.all([run(queries.value), run(queries.requests)]);
          return { ...sample, value, requests };
        } catch (failure) {
          return { ...sample, error: describeFailure(failure) };
        }
      }),
    );
  }

  return { checkPrometheus, measureGate };
}
