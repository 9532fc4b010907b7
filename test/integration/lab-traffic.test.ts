// The lab's traffic simulator scraped by a real Prometheus, judged with the
// exact PromQL the orchestrator's gates run (gates/promql.ts): a healthy
// namespace reads ~0.1% errors and p99 ~120 ms; marking its proxy version
// faulty, or moving a namespace onto a faulty version, raises both; clearing
// the fault brings them back. Waiting is only ever "until Prometheus shows
// it"; no assertion is on how long that took.

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { buildMetricQueries } from '../../gates/promql.js';
import { createMemoryPodSource, type MemoryPodSource } from '../../lab/traffic/pod-source.js';
import { HEALTHY_PROFILE } from '../../lab/traffic/profiles.js';
import type { DeploymentLike, PodLike } from '../../lab/traffic/pods.js';
import { startTrafficSimulator, type RunningTrafficSimulator } from '../../lab/traffic/server.js';
import type { MetricSpec } from '../../plan/types.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';

jest.setTimeout(60_000);

const WINDOW_MS = 5_000;
const OLD = { version: '1.29.0', revision: '1-29-0' };
const NEW = { version: '1.30.3', revision: '1-30-3' };
const FAULT = { errorRate: 0.05, latencyMs: 600, xdsRejectsPerMin: 60 };

const errorRate: MetricSpec = { name: 'error-rate', type: 'errorRate', max: 0.01, minRequests: 100 };
const latency: MetricSpec = { name: 'latency-p99', type: 'latencyP99', maxMs: 250, minRequests: 100 };
const volume: MetricSpec = { name: 'volume', type: 'requestVolume', minRps: 1 };
const xdsRejects: MetricSpec = { name: 'xds-rejects', type: 'xdsRejects', max: 0 };

type Proxy = { version: string; revision: string };

function pod(ns: string, deployment: string, index: number, proxy: Proxy, labels: Record<string, string> = {}): PodLike {
  const hash = `h${proxy.revision.replace(/-/g, '')}`;
  return {
    metadata: {
      namespace: ns,
      name: `${deployment}-${hash}-${index}`,
      labels: { app: deployment, 'pod-template-hash': hash, ...labels },
      annotations: { 'sidecar.istio.io/status': JSON.stringify({ containers: ['istio-proxy'], revision: proxy.revision }) },
      ownerReferences: [{ kind: 'ReplicaSet', name: `${deployment}-${hash}`, controller: true }],
    },
    spec: { containers: [{ name: 'app', image: 'app:1' }, { name: 'istio-proxy', image: `docker.io/istio/proxyv2:${proxy.version}` }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function istiod(proxy: Proxy): DeploymentLike {
  return {
    metadata: { namespace: 'istio-system', name: `istiod-${proxy.revision}`, labels: { app: 'istiod', 'istio.io/rev': proxy.revision } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'discovery', image: `docker.io/istio/pilot:${proxy.version}` }] } } },
    status: { readyReplicas: 1 },
  };
}

const WORKLOADS = ['frontend', 'reviews', 'ratings'];
function namespacePods(ns: string, proxy: Proxy): PodLike[] {
  return WORKLOADS.flatMap((d) => [0, 1].map((i) => pod(ns, d, i, proxy)));
}

let source: MemoryPodSource;
let simulator: RunningTrafficSimulator;
let prometheus: RunningPrometheus;

async function query(promql: string): Promise<number | null> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: Array<{ value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
  const first = body.data.result[0];
  if (!first) return null;
  const value = Number(first.value[1]);
  return Number.isNaN(value) ? null : value;
}

/** The gate's number for one metric over `namespaces` (or `revision`). */
async function measure(metric: MetricSpec, namespaces: string[], revision = NEW.revision): Promise<{ value: number | null; requests: number | null }> {
  const q = buildMetricQueries(metric, { namespaces, revision, windowMs: WINDOW_MS });
  return { value: await query(q.value), requests: q.requests ? await query(q.requests) : null };
}

/** Measures until `ready` holds (a change takes a window to fill), then returns that value. */
async function measureWhen(metric: MetricSpec, namespaces: string[], ready: (v: number) => boolean, revision?: string): Promise<number | null> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { value } = await measure(metric, namespaces, revision);
    if ((value !== null && ready(value)) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function setFault(version: string, body: unknown): Promise<void> {
  const res = await fetch(`${simulator.url}/faults/${version}`, { method: 'PUT', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  source = createMemoryPodSource({
    deployments: [istiod(OLD), istiod(NEW)],
    pods: [
      pod('istio-system', 'istio-ingressgateway', 0, OLD, { istio: 'ingressgateway' }),
      ...namespacePods('bookinfo', OLD),
      ...namespacePods('canary-test', NEW),
    ],
  });
  simulator = await startTrafficSimulator({ podSource: source, rpsPerWorkload: 50 });
  prometheus = await startPrometheus({ targets: [simulator.target] });
  // rate() under-reads a series that starts inside its window: wait for a whole
  // window of 1 s scrapes, plus spares.
  await prometheus.waitForScrapes(WINDOW_MS / 1000 + 2);
});

afterAll(async () => {
  await prometheus?.stop();
  await simulator?.stop();
});

describe('lab traffic simulator, scraped by a real Prometheus, judged with the gate PromQL', () => {
  it('healthy: ~0.1% errors, p99 ~120 ms, the configured volume, no xDS rejects', async () => {
    for (const ns of ['bookinfo', 'canary-test']) {
      const rate = await measure(errorRate, [ns]);
      expect(rate.value).toBeCloseTo(HEALTHY_PROFILE.errorRate, 4);
      // reporter="source" copies would double this: 3 workloads x 50 rps x 5 s.
      expect(rate.requests).toBeGreaterThan(3 * 50 * 5 * 0.9);
      expect(rate.requests).toBeLessThan(3 * 50 * 5 * 1.1);
      const p99 = await measure(latency, [ns]);
      expect(p99.value).toBeGreaterThan(HEALTHY_PROFILE.latencyMs * 0.95);
      expect(p99.value).toBeLessThan(HEALTHY_PROFILE.latencyMs * 1.05);
      const rps = await measure(volume, [ns]);
      expect(rps.value).toBeGreaterThan(150 * 0.95);
      expect(rps.value).toBeLessThan(150 * 1.05);
    }
    const xds = await measure(xdsRejects, [], NEW.revision);
    expect(xds.value).toBe(0);
    expect(xds.requests).toBe(6); // connected proxies of 1-30-3
  });

  it('PUT /faults/<version>: the namespace on that version rises to ~5% errors and p99 ~600 ms; the other stays healthy', async () => {
    await setFault(NEW.version, FAULT);
    const rate = await measureWhen(errorRate, ['canary-test'], (v) => v > 0.0499);
    expect(rate).toBeCloseTo(0.05, 3);
    const p99 = await measureWhen(latency, ['canary-test'], (v) => v > 590);
    expect(p99).toBeGreaterThan(FAULT.latencyMs * 0.98);
    expect(p99).toBeLessThan(FAULT.latencyMs * 1.02);
    const rejects = await measureWhen(xdsRejects, [], (v) => v > 0, NEW.revision);
    expect(rejects).toBeGreaterThan(0);
    expect((await measure(errorRate, ['bookinfo'])).value).toBeCloseTo(HEALTHY_PROFILE.errorRate, 4);
    expect((await measure(xdsRejects, [], OLD.revision)).value).toBe(0);
  });

  it('moving a namespace onto the faulty version raises its error rate too', async () => {
    for (const p of namespacePods('bookinfo', OLD)) source.deletePod(p.metadata!.namespace!, p.metadata!.name!);
    for (const p of namespacePods('bookinfo', NEW)) source.applyPod(p);
    const rate = await measureWhen(errorRate, ['bookinfo'], (v) => v > 0.0499);
    expect(rate).toBeCloseTo(0.05, 3);
    expect((await measure(xdsRejects, [], NEW.revision)).requests).toBe(12);
  });

  it('DELETE /faults/<version>: back to ~0.1% errors and p99 ~120 ms', async () => {
    const res = await fetch(`${simulator.url}/faults/${NEW.version}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    const rate = await measureWhen(errorRate, ['bookinfo', 'canary-test'], (v) => v < 0.00101);
    expect(rate).toBeCloseTo(HEALTHY_PROFILE.errorRate, 4);
    const p99 = await measureWhen(latency, ['bookinfo', 'canary-test'], (v) => v < 130);
    expect(p99).toBeGreaterThan(HEALTHY_PROFILE.latencyMs * 0.95);
    expect(p99).toBeLessThan(HEALTHY_PROFILE.latencyMs * 1.05);
  });
});
