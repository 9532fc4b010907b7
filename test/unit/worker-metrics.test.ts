// The pure parts of the orchestrator's metrics: the endpoint address, the
// phase gauge's counting, failure kinds, rollback reasons, and the lab's
// scrape config for the worker.
import { describe, expect, it } from '@jest/globals';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { runCli } from '../../cli/program.js';
import { renderPrometheusConfig } from '../../lab/prometheus.js';
import { metricsAddress, MetricsAddressError, parseMetricsAddress } from '../../worker/metrics.js';
import { errorKind } from '../../worker/metrics-activities.js';
import { countByPhase, gaugeUpdates, RUNNING_UPGRADES_QUERY } from '../../worker/metrics-phases.js';
import { rollbackReason } from '../../workflows/metrics.js';
import { UpgradeStopped } from '../../workflows/run.js';

describe('metrics address', () => {
  it.each(['0.0.0.0:9464', '127.0.0.1:29464', '[::]:9464', '[::1]:1'])('accepts %p', (address) => {
    expect(parseMetricsAddress(address)).toBe(address);
  });

  it.each(['9464', ':9464', 'localhost:9464', '0.0.0.0', '0.0.0.0:0', '0.0.0.0:70000', '256.0.0.1:9464', 'http://0.0.0.0:9464'])('refuses %p with an example of a good one', (address) => {
    expect(() => parseMetricsAddress(address)).toThrow(MetricsAddressError);
    expect(() => parseMetricsAddress(address)).toThrow(/is not <ip>:<port> \(e\.g\. 0\.0\.0\.0:9464/);
  });

  it('takes the flag over ISTIO_CANARY_METRICS_ADDRESS, and neither means no endpoint', () => {
    expect(metricsAddress('127.0.0.1:1', { ISTIO_CANARY_METRICS_ADDRESS: '0.0.0.0:9464' })).toBe('127.0.0.1:1');
    expect(metricsAddress(undefined, { ISTIO_CANARY_METRICS_ADDRESS: '0.0.0.0:9464' })).toBe('0.0.0.0:9464');
    expect(metricsAddress(undefined, {})).toBeUndefined();
    expect(metricsAddress(undefined, { ISTIO_CANARY_METRICS_ADDRESS: ' ' })).toBeUndefined();
    expect(() => metricsAddress(undefined, { ISTIO_CANARY_METRICS_ADDRESS: 'prom:9464' })).toThrow(MetricsAddressError);
  });
});

describe('istio-canary worker --metrics-address', () => {
  it('refuses a host name with exit 2 and one line, before it connects to anything', async () => {
    let stderr = '';
    const code = await runCli(['node', 'istio-canary', 'worker', '--metrics-address', 'localhost:9464'], {
      stdout: () => undefined,
      stderr: (text) => void (stderr += text),
      // A closed loopback port: reaching the connection step would fail differently (exit 1).
      env: { TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' },
    });
    expect({ code, stderr }).toEqual({ code: 2, stderr: 'metrics address "localhost:9464" is not <ip>:<port> (e.g. 0.0.0.0:9464 or 127.0.0.1:9464)\n' });
  });
});

describe('upgrades by phase', () => {
  it('asks visibility for running upgrades only', () => {
    expect(RUNNING_UPGRADES_QUERY).toBe("WorkflowType = 'istioCanaryUpgrade' AND ExecutionStatus = 'Running'");
  });

  it('counts per cluster and phase; missing attributes count as unknown', () => {
    const counts = countByPhase([
      { cluster: 'eu', phase: 'canary' },
      { cluster: 'us', phase: 'canary' },
      { cluster: 'eu', phase: 'canary' },
      { cluster: 'ap' },
    ]);
    expect([...counts.values()]).toEqual([
      { labels: { cluster: 'eu', phase: 'canary' }, count: 2 },
      { labels: { cluster: 'us', phase: 'canary' }, count: 1 },
      { labels: { cluster: 'ap', phase: 'unknown' }, count: 1 },
    ]);
  });

  it('sets a series it reported before back to 0 when no upgrade is in it any more', () => {
    const previous = new Map([
      ['eu\u0000canary', { cluster: 'eu', phase: 'canary' }],
      ['us\u0000waves', { cluster: 'us', phase: 'waves' }],
    ]);
    const updates = gaugeUpdates(previous, countByPhase([{ cluster: 'eu', phase: 'awaiting-approval' }, { cluster: 'us', phase: 'waves' }]));
    expect(updates).toEqual([
      { labels: { cluster: 'eu', phase: 'awaiting-approval' }, value: 1 },
      { labels: { cluster: 'us', phase: 'waves' }, value: 1 },
      { labels: { cluster: 'eu', phase: 'canary' }, value: 0 },
    ]);
  });
});

describe('activity failure kinds', () => {
  it('names an ApplicationFailure by its type, a cancellation as Cancelled, anything else by its class', () => {
    expect(errorKind(ApplicationFailure.nonRetryable('boom', 'IstioctlFailed'))).toBe('IstioctlFailed');
    expect(errorKind(ApplicationFailure.create({ message: 'no type' }))).toBe('ApplicationFailure');
    expect(errorKind(new CancelledFailure('cancelled'))).toBe('Cancelled');
    expect(errorKind(new TypeError('x'))).toBe('TypeError');
    expect(errorKind('a string')).toBe('string');
  });
});

describe('rollback reasons', () => {
  it('prefers an abort, then the stop kind, then cancelled or error', () => {
    const gate = new UpgradeStopped('gate', 'canary gate failed');
    expect(rollbackReason(true, true, gate)).toBe('abort');
    expect(rollbackReason(false, false, gate)).toBe('gate');
    expect(rollbackReason(false, false, new UpgradeStopped('approval-timeout', 't'))).toBe('approval-timeout');
    expect(rollbackReason(false, true, new Error('cancelled'))).toBe('cancelled');
    expect(rollbackReason(false, false, new Error('activity gave up'))).toBe('error');
  });
});

describe("the lab's scrape of the worker", () => {
  it('adds the worker as its own job with a static loopback target', () => {
    const text = renderPrometheusConfig({ targets: ['127.0.0.1:15090'], extraJobs: [{ jobName: 'istio-canary-worker', targets: ['127.0.0.1:9464'] }] });
    const config = JSON.parse(text.slice(text.indexOf('{'))) as { scrape_configs: unknown[] };
    expect(config.scrape_configs).toEqual([
      { job_name: 'lab', static_configs: [{ targets: ['127.0.0.1:15090'] }] },
      { job_name: 'istio-canary-worker', static_configs: [{ targets: ['127.0.0.1:9464'] }] },
    ]);
  });

  it('refuses a worker target that is not on loopback', () => {
    expect(() => renderPrometheusConfig({ targets: [], extraJobs: [{ jobName: 'istio-canary-worker', targets: ['10.0.0.5:9464'] }] })).toThrow(/127\.0\.0\.1:<port> targets only/);
  });
});
