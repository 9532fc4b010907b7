import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { MetricFamily, escapeLabelValue, formatLabels, formatValue, renderFamilies } from '../../lab/traffic/exposition.js';
import { FAULTY_PROFILE, HEALTHY_PROFILE, ISTIO_DURATION_BUCKETS_MS, histogramQuantile } from '../../lab/traffic/profiles.js';
import type { DeploymentLike, PodLike } from '../../lab/traffic/pods.js';
import { MeshSimulator, type SimulatorOptions } from '../../lab/traffic/simulator.js';

// ---- fixtures ----

const OLD = { version: '1.29.0', revision: '1-29-0' };
const NEW = { version: '1.30.3', revision: '1-30-3' };
type Proxy = { version: string; revision: string };

interface PodSpec {
  ns: string;
  deployment: string;
  index?: number;
  proxy?: Proxy | null;
  ready?: boolean;
  hash?: string;
  labels?: Record<string, string>;
}

function pod({ ns, deployment, index = 0, proxy = OLD, ready = true, hash = 'abc123', labels = {} }: PodSpec): PodLike {
  return {
    metadata: {
      namespace: ns,
      name: `${deployment}-${hash}-p${index}`,
      labels: { app: deployment, 'pod-template-hash': hash, ...labels },
      annotations: proxy ? { 'sidecar.istio.io/status': JSON.stringify({ containers: ['istio-proxy'], revision: proxy.revision }) } : {},
      ownerReferences: [{ kind: 'ReplicaSet', name: `${deployment}-${hash}`, controller: true }],
    },
    spec: {
      serviceAccountName: deployment,
      containers: [{ name: 'app', image: 'app:1' }, ...(proxy ? [{ name: 'istio-proxy', image: `docker.io/istio/proxyv2:${proxy.version}` }] : [])],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

function gateway(index = 0, proxy: Proxy = OLD): PodLike {
  return pod({ ns: 'istio-system', deployment: 'istio-ingressgateway', index, proxy, labels: { istio: 'ingressgateway' } });
}

function istiod(p: Proxy, ready = true): DeploymentLike {
  return {
    metadata: { namespace: 'istio-system', name: `istiod-${p.revision}`, labels: { app: 'istiod', 'istio.io/rev': p.revision } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'discovery', image: `docker.io/istio/pilot:${p.version}` }] } } },
    status: { readyReplicas: ready ? 1 : 0 },
  };
}

/** A simulator on a hand-driven clock. */
function simulator(options: SimulatorOptions = {}): { sim: MeshSimulator; tick(seconds: number): void } {
  let now = 0;
  const sim = new MeshSimulator({ now: () => now, ...options });
  return {
    sim,
    tick: (seconds) => {
      now += seconds * 1000;
    },
  };
}

/** frontend (2 pods) and reviews (2 pods) in `shop`, on `proxy`, behind one ingress gateway. */
function shop(sim: MeshSimulator, proxy: Proxy = OLD, hash = 'abc123'): void {
  for (const deployment of ['frontend', 'reviews']) {
    for (const index of [0, 1]) sim.upsertPod(pod({ ns: 'shop', deployment, index, proxy, hash }));
  }
}

// ---- a small parser of the exposition ----

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: match[1]!, labels, value: match[3] === '+Inf' ? Infinity : Number(match[3]) });
  }
  return samples;
}

function select(samples: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return select(samples, name, match).reduce((sum, s) => sum + s.value, 0);
}

const served = (ns: string) => ({ reporter: 'destination', destination_workload_namespace: ns });

// ---- tests ----

describe('exposition helpers', () => {
  it('escapes label values', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(formatLabels([['a', 'x"y']])).toBe('{a="x\\"y"}');
    expect(formatLabels([])).toBe('');
  });
  it('formats values Go can parse', () => {
    expect(formatValue(3)).toBe('3');
    expect(formatValue(0.1)).toBe('0.1');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(Number.NaN)).toBe('NaN');
  });
  it('renders a histogram cumulative, its labels (escaped) before le, with and without labels', () => {
    const family = new MetricFamily('d', 'histogram', 'h');
    family.histogram([['a', 'x"y']], [5, 10], [1, 2, 3], 42.5);
    family.histogram([], [5], [0, 1], 7);
    expect(renderFamilies([family]).split('\n')).toEqual([
      '# HELP d h',
      '# TYPE d histogram',
      'd_bucket{a="x\\"y",le="5"} 1',
      'd_bucket{a="x\\"y",le="10"} 3',
      'd_bucket{a="x\\"y",le="+Inf"} 6',
      'd_sum{a="x\\"y"} 42.5',
      'd_count{a="x\\"y"} 6',
      'd_bucket{le="5"} 0',
      'd_bucket{le="+Inf"} 1',
      'd_sum 7',
      'd_count 1',
      '',
    ]);
  });
});

describe('rendering', () => {
  it('renders nothing before any traffic', () => {
    const { sim } = simulator();
    expect(sim.render()).toBe('');
  });

  it("emits Istio's request metrics with the standard labels", () => {
    const { sim, tick } = simulator();
    sim.upsertPod(gateway());
    shop(sim);
    tick(10);
    const samples = parse(sim.render());
    const frontend200 = select(samples, 'istio_requests_total', { reporter: 'destination', destination_workload: 'frontend', response_code: '200' });
    expect(frontend200).toHaveLength(1);
    expect(frontend200[0]!.labels).toEqual({
      reporter: 'destination',
      source_workload: 'istio-ingressgateway',
      source_workload_namespace: 'istio-system',
      source_principal: 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway',
      source_app: 'istio-ingressgateway',
      source_version: 'unknown',
      source_canonical_service: 'istio-ingressgateway',
      source_canonical_revision: 'latest',
      source_cluster: 'Kubernetes',
      destination_workload: 'frontend',
      destination_workload_namespace: 'shop',
      destination_principal: 'spiffe://cluster.local/ns/shop/sa/frontend',
      destination_app: 'frontend',
      destination_version: 'unknown',
      destination_service: 'frontend.shop.svc.cluster.local',
      destination_service_name: 'frontend',
      destination_service_namespace: 'shop',
      destination_canonical_service: 'frontend',
      destination_canonical_revision: 'latest',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      connection_security_policy: 'mutual_tls',
      response_code: '200',
      response_flags: '-',
    });
    const frontend503 = select(samples, 'istio_requests_total', { reporter: 'destination', destination_workload: 'frontend', response_code: '503' });
    expect(frontend503[0]!.labels.response_flags).toBe('UF');
    // The caller's copy says the security policy is unknown, as Istio does.
    expect(select(samples, 'istio_requests_total', { reporter: 'source', destination_workload: 'frontend' })[0]!.labels.connection_security_policy).toBe(
      'unknown',
    );
  });

  it('renders each histogram with every Istio bucket, +Inf, _sum and _count, cumulative', () => {
    const { sim, tick } = simulator();
    shop(sim);
    tick(10);
    const samples = parse(sim.render());
    const match = { reporter: 'destination', destination_workload: 'reviews', response_code: '200' };
    const buckets = select(samples, 'istio_request_duration_milliseconds_bucket', match);
    expect(buckets.map((b) => b.labels.le)).toEqual([...ISTIO_DURATION_BUCKETS_MS.map(String), '+Inf']);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    const count = total(samples, 'istio_request_duration_milliseconds_count', match);
    expect(buckets.at(-1)!.value).toBeCloseTo(count, 9);
    expect(count).toBeCloseTo(total(samples, 'istio_requests_total', match), 9);
    expect(total(samples, 'istio_request_duration_milliseconds_sum', match) / count).toBeGreaterThan(20);
  });

  it('groups each family under one HELP and TYPE', () => {
    const { sim, tick } = simulator();
    sim.upsertDeployment(istiod(OLD));
    sim.upsertPod(gateway());
    shop(sim);
    tick(5);
    const text = sim.render();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(types).toEqual([
      'istio_requests_total counter',
      'istio_request_duration_milliseconds histogram',
      'istio_build gauge',
      'pilot_xds gauge',
      'pilot_xds_pushes counter',
    ]);
    // Each family's samples follow its TYPE line without interleaving.
    let family = '';
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+)/.exec(line);
      if (type) family = type[1]!;
      else if (line && !line.startsWith('#')) expect(line.startsWith(family)).toBe(true);
    }
    expect(text.endsWith('\n')).toBe(true);
  });

  const promtool = '/usr/bin/promtool';
  (existsSync(promtool) ? it : it.skip)('is valid exposition for promtool check metrics', () => {
    const { sim, tick } = simulator({ faults: { [NEW.version]: FAULTY_PROFILE } });
    sim.upsertDeployment(istiod(OLD));
    sim.upsertDeployment(istiod(NEW));
    sim.upsertPod(gateway());
    shop(sim, NEW);
    tick(30);
    const result = spawnSync(promtool, ['check', 'metrics'], { input: sim.render(), encoding: 'utf8' });
    // Exit 1 is a parse error; 3 is lint only (Istio's own counter names lack _total).
    expect(result.status === 0 || result.status === 3).toBe(true);
    expect(result.stderr + result.stdout).not.toMatch(/error/i);
  });
});

describe('rate accounting', () => {
  it('advances counters with time at the per-workload rate, split over Ready pods', () => {
    const { sim, tick } = simulator({ rpsPerWorkload: 20 });
    shop(sim);
    tick(10);
    const samples = parse(sim.render());
    // frontend: 20 rps from clients outside the mesh, reported by its proxies only.
    expect(total(samples, 'istio_requests_total', { ...served('shop'), destination_workload: 'frontend' })).toBeCloseTo(200, 9);
    // reviews: 20 rps from frontend, less the 0.1% that fail in frontend's own proxy.
    expect(total(samples, 'istio_requests_total', { ...served('shop'), destination_workload: 'reviews' })).toBeCloseTo(200 * 0.999, 9);
    expect(total(samples, 'istio_requests_total', { reporter: 'source', destination_workload: 'reviews' })).toBeCloseTo(200, 9);
  });

  it('computes errors as share x requests, deterministically', () => {
    const { sim, tick } = simulator();
    shop(sim);
    tick(100);
    const samples = parse(sim.render());
    const all = total(samples, 'istio_requests_total', served('shop'));
    const failed = total(samples, 'istio_requests_total', { ...served('shop'), response_code: '503' });
    expect(failed / all).toBeCloseTo(HEALTHY_PROFILE.errorRate, 12);
    // The caller sees failures of both proxies.
    const sent = total(samples, 'istio_requests_total', { reporter: 'source', destination_workload: 'reviews' });
    const sentFailed = total(samples, 'istio_requests_total', { reporter: 'source', destination_workload: 'reviews', response_code: '503' });
    expect(sentFailed / sent).toBeCloseTo(1 - 0.999 * 0.999, 12);
  });

  it('reads the same totals however often it is scraped', () => {
    const once = simulator();
    const often = simulator();
    shop(once.sim);
    shop(often.sim);
    once.tick(30);
    for (let i = 0; i < 30; i++) {
      often.tick(1);
      often.sim.render();
    }
    const a = total(parse(once.sim.render()), 'istio_requests_total', served('shop'));
    const b = total(parse(often.sim.render()), 'istio_requests_total', served('shop'));
    expect(b).toBeCloseTo(a, 9);
  });

  it('counts nothing for pods that are not Ready, and nothing for workloads outside the mesh', () => {
    const { sim, tick } = simulator();
    sim.upsertPod(pod({ ns: 'shop', deployment: 'frontend', ready: false }));
    sim.upsertPod(pod({ ns: 'plain', deployment: 'web', proxy: null }));
    tick(10);
    expect(sim.render()).toBe('');
  });

  it("gives a Ready pod without a proxy its share, unreported", () => {
    const { sim, tick } = simulator();
    sim.upsertPod(pod({ ns: 'shop', deployment: 'frontend', index: 0 }));
    sim.upsertPod(pod({ ns: 'shop', deployment: 'frontend', index: 1, proxy: null }));
    tick(10);
    expect(total(parse(sim.render()), 'istio_requests_total', served('shop'))).toBeCloseTo(100, 9);
  });

  it('never decreases a counter, across pod churn, fault changes and deletions', () => {
    const { sim, tick } = simulator();
    sim.upsertPod(gateway());
    shop(sim);
    const previous = new Map<string, number>();
    const check = (): void => {
      for (const s of parse(sim.render())) {
        if (!/_total$|_bucket$|_count$|_sum$|pushes$|rejects$/.test(s.name)) continue;
        const key = `${s.name}${JSON.stringify(s.labels)}`;
        expect(s.value).toBeGreaterThanOrEqual(previous.get(key) ?? 0);
        previous.set(key, s.value);
      }
    };
    const steps: Array<() => void> = [
      () => sim.setFault(OLD.version, FAULTY_PROFILE),
      () => sim.deletePod('shop', 'reviews-abc123-p0'),
      () => sim.deleteFault(OLD.version),
      () => shop(sim, NEW, 'def456'),
      () => sim.deletePod('shop', 'frontend-abc123-p0'),
      () => sim.deletePod('istio-system', 'istio-ingressgateway-abc123-p0'),
    ];
    for (const step of steps) {
      tick(3);
      check();
      step();
      tick(2);
      check();
    }
  });
});

describe('fault profiles follow the proxy a pod runs now', () => {
  it('a namespace moved to a faulty version fails more, and less again when moved back', () => {
    const { sim, tick } = simulator({ faults: { [NEW.version]: FAULTY_PROFILE } });
    sim.upsertPod(gateway());
    shop(sim, OLD, 'old111');
    const errorRateOver = (seconds: number): number => {
      const before = parse(sim.render());
      tick(seconds);
      const after = parse(sim.render());
      const d = (match: Record<string, string>): number => total(after, 'istio_requests_total', match) - total(before, 'istio_requests_total', match);
      return d({ ...served('shop'), response_code: '503' }) / d(served('shop'));
    };
    expect(errorRateOver(10)).toBeCloseTo(0.001, 12);

    // Rollout restart onto the new revision: new pods replace the old ones.
    for (const d of ['frontend', 'reviews']) for (const i of [0, 1]) sim.deletePod('shop', `${d}-old111-p${i}`);
    shop(sim, NEW, 'new222');
    expect(errorRateOver(10)).toBeCloseTo(0.05, 12);

    // Rollback.
    for (const d of ['frontend', 'reviews']) for (const i of [0, 1]) sim.deletePod('shop', `${d}-new222-p${i}`);
    shop(sim, OLD, 'old333');
    expect(errorRateOver(10)).toBeCloseTo(0.001, 12);
  });

  it('a fault set at runtime applies from that moment on, not before', () => {
    const { sim, tick } = simulator();
    shop(sim);
    tick(10);
    sim.setFault(OLD.version, { errorRate: 0.1, latencyMs: 500, xdsRejectsPerMin: 0 });
    tick(10);
    const samples = parse(sim.render());
    const reviews = { ...served('shop'), destination_workload: 'reviews' };
    const failed = total(samples, 'istio_requests_total', { ...reviews, response_code: '503' });
    // 10 s at 0.1%, then 10 s at 10% (of what frontend's now failing proxy lets through).
    expect(failed).toBeCloseTo(200 * 0.999 * 0.001 + 200 * 0.9 * 0.1, 9);
  });

  it('a half-migrated workload mixes the two profiles by Ready pods', () => {
    const { sim, tick } = simulator({ faults: { [NEW.version]: { errorRate: 0.05, latencyMs: 120, xdsRejectsPerMin: 0 } } });
    sim.upsertPod(pod({ ns: 'shop', deployment: 'web', index: 0, proxy: OLD }));
    sim.upsertPod(pod({ ns: 'shop', deployment: 'web', index: 1, proxy: NEW }));
    tick(10);
    const samples = parse(sim.render());
    expect(total(samples, 'istio_requests_total', { ...served('shop'), response_code: '503' }) / total(samples, 'istio_requests_total', served('shop'))).toBeCloseTo(
      (0.001 + 0.05) / 2,
      12,
    );
  });

  it('the p99 read from the buckets is the profile latency', () => {
    const { sim, tick } = simulator({ faults: { [NEW.version]: FAULTY_PROFILE } });
    shop(sim, NEW);
    tick(10);
    const samples = parse(sim.render());
    const perLe = ISTIO_DURATION_BUCKETS_MS.map((le) =>
      total(samples, 'istio_request_duration_milliseconds_bucket', { ...served('shop'), le: String(le) }),
    );
    const all = total(samples, 'istio_request_duration_milliseconds_bucket', { ...served('shop'), le: '+Inf' });
    const perBucket = [...perLe.map((c, i) => c - (i === 0 ? 0 : perLe[i - 1]!)), all - perLe.at(-1)!];
    expect(histogramQuantile(0.99, perBucket)).toBeCloseTo(FAULTY_PROFILE.latencyMs, 6);
  });

  it('an unreadable proxy version gets the default profile', () => {
    const { sim, tick } = simulator({ defaultProfile: { errorRate: 0.02, latencyMs: 100, xdsRejectsPerMin: 0 } });
    sim.upsertPod(pod({ ns: 'shop', deployment: 'web', proxy: { version: 'latest', revision: 'x' } }));
    tick(10);
    const state = sim.state();
    expect(state.podsByVersion).toEqual({ unknown: 1 });
    expect(state.workloads[0]!.errorRate).toBeCloseTo(0.02, 12);
  });
});

describe('callers', () => {
  it('the ingress gateway calls the entry workload (first by name) of namespaces that take ingress', () => {
    const { sim, tick } = simulator({ ingressNamespaces: ['shop'] });
    sim.upsertPod(gateway(0));
    sim.upsertPod(gateway(1));
    shop(sim);
    sim.upsertPod(pod({ ns: 'batch', deployment: 'worker' }));
    sim.upsertPod(pod({ ns: 'batch', deployment: 'api' }));
    tick(10);
    const state = sim.state();
    expect(state.workloads.map((w) => [`${w.namespace}/${w.workload}`, w.caller])).toEqual([
      ['batch/api', 'unknown'],
      ['batch/worker', 'batch/api'],
      ['shop/frontend', 'istio-system/istio-ingressgateway'],
      ['shop/reviews', 'shop/frontend'],
    ]);
    const samples = parse(sim.render());
    // Two gateway pods share the entry's 20 rps; their series add up (no pod label).
    expect(total(samples, 'istio_requests_total', { reporter: 'source', source_workload: 'istio-ingressgateway' })).toBeCloseTo(200, 9);
    // Gateways are callers, never destinations.
    expect(select(samples, 'istio_requests_total', { destination_workload: 'istio-ingressgateway' })).toHaveLength(0);
    // Traffic from outside the mesh: no source copy, no mTLS.
    const api = select(samples, 'istio_requests_total', { destination_workload: 'api' });
    expect(new Set(api.map((s) => s.labels.reporter))).toEqual(new Set(['destination']));
    expect(api[0]!.labels).toMatchObject({ source_workload: 'unknown', source_canonical_revision: 'latest', connection_security_policy: 'none' });
  });

  it('without a Ready gateway the entry is called from outside the mesh', () => {
    const { sim, tick } = simulator();
    shop(sim);
    tick(1);
    expect(sim.state().workloads.find((w) => w.workload === 'frontend')!.caller).toBe('unknown');
  });

  it("a faulty gateway fails requests before they reach the destination", () => {
    const { sim, tick } = simulator({ faults: { [NEW.version]: { errorRate: 0.5, latencyMs: 120, xdsRejectsPerMin: 0 } } });
    sim.upsertPod(gateway(0, NEW));
    shop(sim);
    tick(10);
    const samples = parse(sim.render());
    const frontend = { destination_workload: 'frontend' };
    expect(total(samples, 'istio_requests_total', { ...frontend, reporter: 'destination' })).toBeCloseTo(100, 9);
    expect(total(samples, 'istio_requests_total', { ...frontend, reporter: 'source' })).toBeCloseTo(200, 9);
    expect(total(samples, 'istio_requests_total', { ...frontend, reporter: 'source', response_code: '503' })).toBeCloseTo(200 * (1 - 0.5 * 0.999), 9);
  });

  it('the callees of an entry without Ready pods get no traffic', () => {
    const { sim, tick } = simulator();
    sim.upsertPod(pod({ ns: 'shop', deployment: 'frontend', ready: false }));
    sim.upsertPod(pod({ ns: 'shop', deployment: 'reviews' }));
    tick(10);
    expect(sim.render()).toBe('');
    expect(sim.state().workloads.find((w) => w.workload === 'reviews')).toMatchObject({ caller: 'shop/frontend', reportedRps: 0, errorRate: null });
  });
});

describe('control plane', () => {
  it('pilot_xds counts running proxies per revision by proxy version; not-ready istiods are not exported', () => {
    const { sim, tick } = simulator();
    sim.upsertDeployment(istiod(OLD));
    sim.upsertDeployment(istiod(NEW, false));
    sim.upsertPod(gateway());
    shop(sim, OLD);
    sim.upsertPod(pod({ ns: 'shop', deployment: 'reviews', index: 5, ready: false })); // running, not Ready: still connected
    sim.upsertPod(pod({ ns: 'shop', deployment: 'reviews', index: 6, proxy: { version: '1.29.1', revision: OLD.revision } }));
    sim.upsertPod(pod({ ns: 'plain', deployment: 'web', proxy: null }));
    tick(1);
    let samples = parse(sim.render());
    expect(select(samples, 'pilot_xds').map((s) => [s.labels, s.value])).toEqual([
      [{ revision: OLD.revision, version: '1.29.0' }, 6],
      [{ revision: OLD.revision, version: '1.29.1' }, 1],
    ]);
    expect(select(samples, 'istio_build')).toEqual([{ name: 'istio_build', labels: { component: 'pilot', revision: OLD.revision, tag: '1.29.0' }, value: 1 }]);

    sim.upsertDeployment(istiod(NEW));
    samples = parse(sim.render());
    // An istiod with no proxy yet is scraped and says 0.
    expect(select(samples, 'pilot_xds', { revision: NEW.revision })).toEqual([
      { name: 'pilot_xds', labels: { revision: NEW.revision, version: NEW.version }, value: 0 },
    ]);
  });

  it('pushes grow with connected proxies; rejects appear only once the version is faulty', () => {
    const { sim, tick } = simulator();
    sim.upsertDeployment(istiod(NEW));
    shop(sim, NEW); // 4 proxies
    tick(60);
    let samples = parse(sim.render());
    expect(total(samples, 'pilot_xds_pushes', { revision: NEW.revision, type: 'eds' })).toBeCloseTo(16, 9);
    expect(total(samples, 'pilot_xds_pushes', { revision: NEW.revision, type: 'lds' })).toBeCloseTo(4, 9);
    expect(select(samples, 'pilot_total_xds_rejects')).toHaveLength(0);

    sim.setFault(NEW.version, { ...HEALTHY_PROFILE, xdsRejectsPerMin: 6 });
    tick(30);
    samples = parse(sim.render());
    expect(select(samples, 'pilot_total_xds_rejects')).toEqual([
      { name: 'pilot_total_xds_rejects', labels: { revision: NEW.revision, type: 'lds' }, value: 3 },
    ]);

    sim.deleteFault(NEW.version);
    tick(30);
    expect(total(parse(sim.render()), 'pilot_total_xds_rejects', { revision: NEW.revision })).toBeCloseTo(3, 9);
  });

  it('an istiod Deployment that is deleted or loses app=istiod is dropped', () => {
    const { sim } = simulator();
    sim.upsertDeployment(istiod(OLD));
    sim.upsertDeployment(istiod(NEW));
    sim.deleteDeployment('istio-system', `istiod-${OLD.revision}`);
    const relabelled = istiod(NEW);
    relabelled.metadata!.labels = { app: 'something-else' };
    sim.upsertDeployment(relabelled);
    expect(sim.state().controlPlanes).toEqual([]);
  });
});

describe('state', () => {
  it('summarises workloads, pods per version and control planes', () => {
    const { sim, tick } = simulator({ faults: { [NEW.version]: FAULTY_PROFILE } });
    sim.upsertDeployment(istiod(OLD));
    sim.upsertDeployment(istiod(NEW));
    sim.upsertPod(gateway());
    sim.upsertPod(pod({ ns: 'shop', deployment: 'web', index: 0, proxy: OLD }));
    sim.upsertPod(pod({ ns: 'shop', deployment: 'web', index: 1, proxy: NEW }));
    sim.upsertPod(pod({ ns: 'shop', deployment: 'web', index: 2, proxy: NEW, ready: false }));
    tick(10);
    const state = sim.state();
    expect(state.rpsPerWorkload).toBe(20);
    expect(state.ingressNamespaces).toBe('all');
    expect(state.faults).toEqual({ default: HEALTHY_PROFILE, versions: { [NEW.version]: FAULTY_PROFILE } });
    expect(state.podsByVersion).toEqual({ '1.29.0': 2, '1.30.3': 2 });
    expect(state.workloads).toHaveLength(1);
    const web = state.workloads[0]!;
    expect(web).toMatchObject({
      namespace: 'shop',
      workload: 'web',
      caller: 'istio-system/istio-ingressgateway',
      pods: 3,
      readyPods: 2,
      readyByVersion: { '1.29.0': 1, '1.30.3': 1 },
      readyByRevision: { '1-29-0': 1, '1-30-3': 1 },
    });
    expect(web.reportedRps).toBeCloseTo(20 * 0.999, 9);
    expect(web.errorRate).toBeCloseTo((0.001 + 0.05) / 2, 12);
    expect(web.latencyP99Ms).toBeGreaterThan(120);
    expect(web.latencyP99Ms).toBeLessThan(600);
    expect(state.controlPlanes.map((c) => [c.revision, c.version, c.ready, c.connectedProxies, c.connectedByVersion])).toEqual([
      [OLD.revision, OLD.version, true, 2, { '1.29.0': 2 }],
      [NEW.revision, NEW.version, true, 2, { '1.30.3': 2 }],
    ]);
  });

  it('validates options and faults', () => {
    expect(() => new MeshSimulator({ rpsPerWorkload: -1 })).toThrow(RangeError);
    expect(() => new MeshSimulator({ faults: { 'a/b': HEALTHY_PROFILE } })).toThrow(/image tag/);
    const { sim } = simulator();
    expect(() => sim.setFault('1.30.3', { errorRate: 0, latencyMs: 0, xdsRejectsPerMin: 0 })).toThrow(/latency/);
    expect(sim.deleteFault('1.30.3')).toBe(false);
  });
});
