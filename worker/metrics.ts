// The worker's /metrics endpoint: the Temporal SDK's own metrics (task slots,
// polls, latencies, failures) and the orchestrator's istio_canary_* metrics,
// all exported by the SDK runtime's Prometheus exporter on one address.
// The runtime is a process-wide singleton that must be installed before the
// first connection, so this runs first in runWorker.
import { Runtime, type NativeConnection, type WorkerInterceptors } from '@temporalio/worker';
import { countActivityFailures } from './metrics-activities.js';
import { UpgradePhaseGauge } from './metrics-phases.js';

export const METRICS_ADDRESS_ENV = 'ISTIO_CANARY_METRICS_ADDRESS';

/** Raised for an address the exporter could not bind, before anything else starts. */
export class MetricsAddressError extends Error {
  override name = 'MetricsAddressError';
}

/**
 * Approval waits last from seconds (a test) to a day (the default timeout is
 * 24 h); the exporter's default buckets stop at 10 000, so ours are set here.
 */
export const APPROVAL_WAIT_BUCKETS_SECONDS = [10, 30, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Checks `ip:port` (or `[ipv6]:port`): the exporter binds a socket address,
 * not a host name, and reports a bad one only as a Rust parse error.
 */
export function parseMetricsAddress(text: string): string {
  const value = text.trim();
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  const host = match?.[1] ?? '';
  const hostOk = host.startsWith('[') || IPV4.test(host);
  if (!match || !hostOk || port < 1 || port > 65535) {
    throw new MetricsAddressError(`metrics address ${JSON.stringify(text)} is not <ip>:<port> (e.g. 0.0.0.0:9464 or 127.0.0.1:9464)`);
  }
  return value;
}

/** The address from the flag, else from ISTIO_CANARY_METRICS_ADDRESS; undefined: no endpoint. */
export function metricsAddress(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const raw = flag ?? env[METRICS_ADDRESS_ENV];
  return raw === undefined || raw.trim() === '' ? undefined : parseMetricsAddress(raw);
}

/**
 * Installs the SDK runtime with the Prometheus exporter on `address`
 * (served at /metrics). Throws at once when the port is taken.
 */
export function installMetricsRuntime(address: string): Runtime {
  try {
    return Runtime.install({
      telemetryOptions: {
        metrics: {
          prometheus: {
            bindAddress: address,
            histogramBucketOverrides: { istio_canary_approval_wait_seconds: APPROVAL_WAIT_BUCKETS_SECONDS },
          },
        },
      },
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new MetricsAddressError(`cannot serve metrics on ${address}: ${reason}`);
  }
}

export interface WorkerMetrics {
  address: string;
  /** For WorkerOptions.interceptors. */
  interceptors: WorkerInterceptors;
  /** Starts refreshing istio_canary_upgrades from Temporal visibility. */
  watchUpgrades(connection: NativeConnection, namespace: string, log: (line: string) => void): void;
  stop(): Promise<void>;
}

/** Everything the worker needs for its metrics; call before the first Temporal connection. */
export function enableWorkerMetrics(address: string): WorkerMetrics {
  const runtime = installMetricsRuntime(address);
  let gauge: UpgradePhaseGauge | undefined;
  return {
    address,
    interceptors: { activity: [countActivityFailures] },
    watchUpgrades(connection, namespace, log) {
      gauge = new UpgradePhaseGauge(runtime.metricMeter, connection, namespace, log);
      gauge.start();
    },
    async stop() {
      await gauge?.stop();
    },
  };
}
