// The Prometheus activities against a real Prometheus scraping the fake mesh.
// Numbers are asserted with tolerances; waiting is only ever "until Prometheus
// has enough scrapes", never an assertion on how long that took.

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createPrometheusActivities } from '../../activities/prometheus.js';
import type { GateScope, MetricSample } from '../../activities/contract.js';
import { evaluateSample } from '../../gates/verdict.js';
import type { MetricSpec } from '../../plan/types.js';
import { startIstioMetricsExporter, type IstioMetricsExporter } from '../support/istio-metrics-exporter.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';

jest.setTimeout(60_000);

const WINDOW_MS = 10_000;
const RPS = 200;
const errorRate: MetricSpec = { name: 'error-rate', type: 'errorRate', max: 0.01, minRequests: 100 };
const latency: MetricSpec = { name: 'latency-p99', type: 'latencyP99', maxMs: 250, minRequests: 100 };
const volume: MetricSpec = { name: 'volume', type: 'requestVolume', minRps: 50 };
const xdsRejects: MetricSpec = { name: 'xds-rejects', type: 'xdsRejects', max: 0 };

let exporter: IstioMetricsExporter;
let prometheus: RunningPrometheus;
const { checkPrometheus, measureGate } = createPrometheusActivities();

function scope(namespaces: string[], metrics: MetricSpec[], revision = 'canary'): GateScope {
  return { prometheusUrl: prometheus.url, namespaces, revision, windowMs: WINDOW_MS, metrics };
}

async function measureOne(namespaces: string[], metric: MetricSpec, revision?: string): Promise<MetricSample> {
  const [sample] = await measureGate(scope(namespaces, [metric], revision));
  return sample!;
}

/** Measures until `ready` holds (a changed profile takes a window to show), then returns that sample. */
async function measureWhen(
  namespaces: string[],
  metric: MetricSpec,
  ready: (sample: MetricSample) => boolean,
  revision?: string,
): Promise<MetricSample> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sample = await measureOne(namespaces, metric, revision);
    if (ready(sample) || Date.now() > deadline) return sample;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  exporter = await startIstioMetricsExporter({
    namespaces: {
      healthy: { rps: RPS, errorShare: 0, latencyMs: 40 },
      checkout: { rps: RPS, errorShare: 0.05, latencyMs: 40 },
      flaky: { rps: RPS, errorShare: 0.001, latencyMs: 40 },
      quiet: { rps: RPS, errorShare: 0, latencyMs: 40 },
    },
    controlPlanes: {
      canary: { connectedProxies: 12, rejectsPerSecond: 0 },
      broken: { connectedProxies: 5, rejectsPerSecond: 1 },
    },
  });
  prometheus = await startPrometheus({ targets: [exporter.target] });
  // rate() under-reads a series that starts inside its window: wait until a
  // whole window (1 s scrapes), plus a spare scrape, lies behind us.
  await prometheus.waitForScrapes(WINDOW_MS / 1000 + 2);
});

afterAll(async () => {
  await prometheus?.stop();
  await exporter?.stop();
});

describe('Prometheus activities against a real Prometheus', () => {
  it('checkPrometheus reports the server version', async () => {
    const { version } = await checkPrometheus({ url: prometheus.url });
    expect(version).toMatch(/^2\.\d+\.\d+/);
  });

  it('errorRate: zero 5xx with traffic is 0 and passes', async () => {
    const sample = await measureOne(['healthy'], errorRate);
    expect(sample.error).toBeUndefined();
    expect(sample.value).toBe(0);
    // reporter="source" copies would double this.
    expect(sample.requests).toBeGreaterThan(RPS * 10 * 0.9);
    expect(sample.requests).toBeLessThan(RPS * 10 * 1.1);
    expect(evaluateSample(errorRate, sample).phase).toBe('pass');
  });

  it('errorRate: reads the configured 5xx share and fails over max', async () => {
    const sample = await measureOne(['checkout'], errorRate);
    expect(sample.value).toBeCloseTo(0.05, 2);
    const m = evaluateSample(errorRate, sample);
    expect(m.phase).toBe('fail');
    expect(m.reason).toMatch(/^0\.05\d* > max 0\.01 \(\d+ requests\)$/);
  });

  it('errorRate: combines the scope namespaces', async () => {
    const sample = await measureOne(['healthy', 'checkout'], errorRate);
    expect(sample.value).toBeCloseTo(0.025, 2);
  });

  it('latencyP99 lands in the bucket of the configured latency', async () => {
    const sample = await measureOne(['healthy'], latency);
    // 40 ms requests fall in Istio's (25, 50] bucket; histogram_quantile interpolates inside it.
    expect(sample.value).toBeGreaterThan(25);
    expect(sample.value).toBeLessThanOrEqual(50);
    expect(evaluateSample(latency, sample).phase).toBe('pass');
  });

  it('requestVolume reads the configured rate', async () => {
    const sample = await measureOne(['healthy', 'checkout'], volume);
    expect(sample.value).toBeGreaterThan(RPS * 2 * 0.95);
    expect(sample.value).toBeLessThan(RPS * 2 * 1.05);
    expect(sample.requests).toBeNull();
    expect(evaluateSample(volume, sample).phase).toBe('pass');
  });

  it('a namespace without traffic is no data: inconclusive, never a pass', async () => {
    const [rate, p99, rps] = await measureGate(scope(['idle'], [errorRate, latency, volume]));
    for (const [metric, sample] of [[errorRate, rate], [latency, p99], [volume, rps]] as const) {
      expect(sample!.error).toBeUndefined();
      expect(sample!.value).toBeNull();
      expect(evaluateSample(metric, sample!).phase).toBe('inconclusive');
    }
  });

  it('xdsRejects: none on a scraped revision passes; rejects fail; an unscraped revision is no data', async () => {
    const good = await measureOne([], xdsRejects, 'canary');
    expect(good.value).toBe(0);
    expect(good.requests).toBe(12);
    expect(evaluateSample(xdsRejects, good).phase).toBe('pass');

    // 1 reject/s over a 10 s window.
    const broken = await measureOne([], xdsRejects, 'broken');
    expect(broken.value).toBeGreaterThan(8);
    expect(broken.value).toBeLessThan(12);
    expect(broken.requests).toBe(5);
    expect(evaluateSample(xdsRejects, broken).phase).toBe('fail');

    const ghost = await measureOne([], xdsRejects, 'ghost');
    expect(ghost.value).toBe(0);
    expect(ghost.requests).toBeNull();
    expect(evaluateSample(xdsRejects, ghost).phase).toBe('inconclusive');
  });

  it('flipping a namespace faulty makes it fail; traffic stopping makes it no data', async () => {
    const before = await measureOne(['flaky'], errorRate);
    expect(before.value).toBeCloseTo(0.001, 4);
    expect(evaluateSample(errorRate, before).phase).toBe('pass');

    exporter.setNamespace('flaky', { rps: RPS, errorShare: 0.2, latencyMs: 400 });
    exporter.setNamespace('quiet', { rps: 0, errorShare: 0, latencyMs: 40 });

    // Once the window holds only faulty traffic, the share reads 0.2.
    const after = await measureWhen(['flaky'], errorRate, (s) => Math.abs((s.value ?? 0) - 0.2) < 0.005);
    expect(after.value).toBeCloseTo(0.2, 2);
    expect(evaluateSample(errorRate, after).phase).toBe('fail');

    const slow = await measureOne(['flaky'], latency);
    // 400 ms requests fall in the (250, 500] bucket.
    expect(slow.value).toBeGreaterThan(250);
    expect(slow.value).toBeLessThanOrEqual(500);
    expect(evaluateSample(latency, slow).phase).toBe('fail');

    // The quiet namespace's counters stopped a full window ago: 0/0 is no data.
    const quiet = await measureWhen(['quiet'], errorRate, (s) => s.value === null);
    expect(quiet.value).toBeNull();
    expect(quiet.requests).toBe(0);
    expect(evaluateSample(errorRate, quiet)).toMatchObject({ phase: 'inconclusive', reason: 'no data (0 requests)' });
  });

  it('measureGate refuses an unsafe namespace before querying', async () => {
    await expect(measureGate(scope(['shop"}'], [errorRate]))).rejects.toThrow(/not a DNS-1123 label/);
  });

  it('reaches a loopback Prometheus directly even with HTTP_PROXY set', async () => {
    // A proxy on a loopback port where nothing listens: using it would fail.
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy };
    process.env.HTTP_PROXY = process.env.http_proxy = 'http://127.0.0.1:9';
    try {
      await expect(checkPrometheus({ url: prometheus.url })).resolves.toMatchObject({ version: expect.any(String) });
      const [sample] = await measureGate(scope(['healthy'], [volume]));
      expect(sample!.error).toBeUndefined();
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('with Prometheus down: checkPrometheus throws a clear error and measureGate reports errors as data', async () => {
    await prometheus.stop();

    await expect(checkPrometheus({ url: prometheus.url })).rejects.toThrow(
      new RegExp(`^Prometheus at ${prometheus.url.replace(/\./g, '\\.')} is not reachable: .*ECONNREFUSED`),
    );

    const samples = await measureGate(scope(['healthy'], [errorRate, xdsRejects]));
    expect(samples).toHaveLength(2);
    for (const sample of samples) {
      expect(sample.error).toMatch(/ECONNREFUSED/);
      expect(sample.value).toBeNull();
      expect(evaluateSample(errorRate, sample).phase).toBe('error');
    }
  });
});
