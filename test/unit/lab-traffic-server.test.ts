// The control API and the in-memory pod source, over a real 127.0.0.1 socket.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { assertLoopbackServer, createKubePodSource, createMemoryPodSource, type MemoryPodSource } from '../../lab/traffic/pod-source.js';
import { FAULTY_PROFILE, HEALTHY_PROFILE } from '../../lab/traffic/profiles.js';
import type { PodLike } from '../../lab/traffic/pods.js';
import { startTrafficSimulator, type RunningTrafficSimulator } from '../../lab/traffic/server.js';
import type { SimulatorState } from '../../lab/traffic/simulator.js';
import { renderPrometheusConfig, scrapeIntervalSeconds } from '../../lab/prometheus.js';

function pod(ns: string, deployment: string, index: number, version: string, revision: string): PodLike {
  return {
    metadata: {
      namespace: ns,
      name: `${deployment}-h${version.replace(/\./g, '')}-${index}`,
      labels: { app: deployment, 'pod-template-hash': `h${version.replace(/\./g, '')}` },
      annotations: { 'sidecar.istio.io/status': JSON.stringify({ revision }) },
      ownerReferences: [{ kind: 'ReplicaSet', name: `${deployment}-h${version.replace(/\./g, '')}`, controller: true }],
    },
    spec: { containers: [{ name: 'app' }, { name: 'istio-proxy', image: `docker.io/istio/proxyv2:${version}` }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

let source: MemoryPodSource;
let running: RunningTrafficSimulator;

beforeAll(async () => {
  source = createMemoryPodSource({
    pods: [pod('shop', 'web', 0, '1.29.0', '1-29-0'), pod('shop', 'web', 1, '1.29.0', '1-29-0')],
    deployments: [
      {
        metadata: { namespace: 'istio-system', name: 'istiod-1-29-0', labels: { app: 'istiod', 'istio.io/rev': '1-29-0' } },
        spec: { template: { spec: { containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.29.0' }] } } },
        status: { readyReplicas: 1 },
      },
    ],
  });
  running = await startTrafficSimulator({ podSource: source, faults: { '1.31.0': FAULTY_PROFILE } });
});

afterAll(async () => {
  await running?.stop();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string; type: string | null }> {
  const res = await fetch(`${running.url}${path}`, {
    method,
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json, text, type: res.headers.get('content-type') };
}

describe('startTrafficSimulator', () => {
  it('listens on 127.0.0.1 and names its Prometheus target', () => {
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(running.target).toBe(`127.0.0.1:${running.port}`);
  });

  it('needs a pod source or a kubeconfig', async () => {
    await expect(startTrafficSimulator({})).rejects.toThrow(/podSource or a kubeconfig/);
  });
});

describe('GET /metrics', () => {
  it('serves the exposition as text/plain version 0.0.4', async () => {
    const { status, text, type } = await call('GET', '/metrics');
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE istio_requests_total counter');
    expect(text).toContain('pilot_xds{revision="1-29-0",version="1.29.0"} 2');
  });
  it('refuses other methods', async () => {
    expect((await call('POST', '/metrics')).status).toBe(405);
  });
});

describe('fault knobs', () => {
  it('GET /faults lists the default and the initial faults', async () => {
    const { status, json } = await call('GET', '/faults');
    expect(status).toBe(200);
    expect(json).toEqual({ default: HEALTHY_PROFILE, versions: { '1.31.0': FAULTY_PROFILE } });
  });

  it('PUT /faults/<version> marks a version; missing fields take the default profile', async () => {
    const put = await call('PUT', '/faults/1.29.0', { errorRate: 0.2 });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ version: '1.29.0', ...HEALTHY_PROFILE, errorRate: 0.2 });
    expect((await call('GET', '/faults/1.29.0')).json).toEqual({ ...HEALTHY_PROFILE, errorRate: 0.2 });
    const state = (await call('GET', '/state')).json as SimulatorState;
    expect(state.workloads[0]!.errorRate).toBeCloseTo(0.2, 12);
  });

  it('DELETE /faults/<version> restores the default, and is idempotent', async () => {
    expect((await call('DELETE', '/faults/1.29.0')).status).toBe(204);
    expect((await call('DELETE', '/faults/1.29.0')).status).toBe(204);
    expect((await call('GET', '/faults/1.29.0')).status).toBe(404);
    const state = (await call('GET', '/state')).json as SimulatorState;
    expect(state.workloads[0]!.errorRate).toBeCloseTo(HEALTHY_PROFILE.errorRate, 12);
  });

  it.each([
    ['a bad field', { errorRate: 2 }, 400, /errorRate must be/],
    ['an unknown field', { errors: 0.1 }, 400, /unknown field/],
    ['a non-object', [0.1], 400, /JSON object/],
    ['broken JSON', '{"errorRate":', 400, /not JSON/],
  ])('PUT refuses %s', async (_what, body, status, message) => {
    const res = await call('PUT', '/faults/1.30.0', body);
    expect(res.status).toBe(status);
    expect((res.json as { error: string }).error).toMatch(message);
    expect(((await call('GET', '/faults')).json as { versions: Record<string, unknown> }).versions['1.30.0']).toBeUndefined();
  });

  it('refuses a version that is no image tag, and unknown routes and methods', async () => {
    expect((await call('PUT', '/faults/%2E%2E%2Fx', {})).status).toBe(400);
    expect((await call('PUT', '/faults/%E0%A4%A', {})).status).toBe(400);
    expect((await call('POST', '/faults/1.30.0', {})).status).toBe(405);
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('GET', '/healthz')).text).toBe('ok\n');
  });

  it('refuses a body over 64 KiB', async () => {
    expect((await call('PUT', '/faults/1.30.0', `{"errorRate":0.1,"pad":"${'x'.repeat(70_000)}"}`)).status).toBe(413);
  });
});

describe('GET /state follows the pod source', () => {
  it('shows pods per version before and after a rollout to another version', async () => {
    let state = (await call('GET', '/state')).json as SimulatorState;
    expect(state.podsByVersion).toEqual({ '1.29.0': 2 });
    expect(state.workloads.map((w) => [w.namespace, w.workload, w.readyPods, w.readyByVersion])).toEqual([['shop', 'web', 2, { '1.29.0': 2 }]]);

    source.applyPod(pod('shop', 'web', 0, '1.31.0', '1-31-0'));
    source.deletePod('shop', 'web-h1290-0');
    state = (await call('GET', '/state')).json as SimulatorState;
    expect(state.podsByVersion).toEqual({ '1.29.0': 1, '1.31.0': 1 });
    // One pod on the faulty 1.31.0, one healthy.
    expect(state.workloads[0]!.errorRate).toBeCloseTo((FAULTY_PROFILE.errorRate + HEALTHY_PROFILE.errorRate) / 2, 12);
    expect(state.controlPlanes.map((c) => [c.revision, c.connectedProxies])).toEqual([['1-29-0', 1]]);

    source.deleteDeployment('istio-system', 'istiod-1-29-0');
    state = (await call('GET', '/state')).json as SimulatorState;
    expect(state.controlPlanes).toEqual([]);
  });
});

describe('Kubernetes pod source', () => {
  it.each(['https://127.0.0.1:6443', 'https://127.0.0.53:443', 'https://localhost:6443', 'https://[::1]:6443'])('accepts loopback server %s', (server) => {
    expect(() => assertLoopbackServer(server)).not.toThrow();
  });
  it.each(['https://10.0.0.1:6443', 'https://kubernetes.default.svc', 'https://127.0.0.1.nip.io', 'not a url', undefined])(
    'refuses non-loopback server %s',
    (server) => {
      expect(() => assertLoopbackServer(server)).toThrow();
    },
  );

  it('refuses a kubeconfig that points off loopback, before connecting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-traffic-kubeconfig-'));
    try {
      const file = join(dir, 'config');
      await writeFile(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: 'https://192.0.2.10:6443' } }],
          users: [{ name: 'u', user: { token: 't' } }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        }),
      );
      expect(() => createKubePodSource({ kubeconfig: file })).toThrow(/not on loopback/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lab Prometheus config', () => {
  it('scrapes static loopback targets every second, nothing else', () => {
    const text = renderPrometheusConfig({ targets: ['127.0.0.1:9464', '127.0.0.1:15014'] });
    const config = JSON.parse(text.slice(text.indexOf('{'))) as unknown;
    expect(config).toEqual({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'lab', static_configs: [{ targets: ['127.0.0.1:9464', '127.0.0.1:15014'] }] }],
    });
  });
  it('scrapes at the interval LAB_PROMETHEUS_SCRAPE_INTERVAL sets (the benchmark at 200 namespaces), and refuses a bad one', () => {
    expect(scrapeIntervalSeconds({ LAB_PROMETHEUS_SCRAPE_INTERVAL: '5' })).toBe(5);
    expect(scrapeIntervalSeconds({})).toBe(1);
    for (const bad of ['0', '61', '1.5', '5s', ' 5']) {
      expect(() => scrapeIntervalSeconds({ LAB_PROMETHEUS_SCRAPE_INTERVAL: bad })).toThrow(/LAB_PROMETHEUS_SCRAPE_INTERVAL must be whole seconds from 1 to 60/);
    }
    const text = renderPrometheusConfig({ targets: ['127.0.0.1:9464'], scrapeIntervalSeconds: 5 });
    expect((JSON.parse(text.slice(text.indexOf('{'))) as { global: unknown }).global).toEqual({ scrape_interval: '5s', scrape_timeout: '5s', evaluation_interval: '1s' });
  });
  it.each([['10.0.0.1:9090'], ['localhost:9090'], ['127.0.0.1'], ['127.0.0.1:0'], ['127.0.0.1:70000'], ['127.0.0.1:90"\n']])('refuses target %p', (target) => {
    expect(() => renderPrometheusConfig({ targets: [target] })).toThrow(/127\.0\.0\.1:<port> targets only/);
  });
  it('refuses a bad job name', () => {
    expect(() => renderPrometheusConfig({ targets: [], jobName: 'a b' })).toThrow(/job name/);
  });
});
