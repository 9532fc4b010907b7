// The mesh traffic simulator: from the pods and istiod Deployments it is told
// about, the requests each proxy would report and what istiod would export,
// as Prometheus counters that advance with time. Pure apart from the clock it
// is given: no Kubernetes, no HTTP (pod-source.ts and server.ts do those).
//
// Traffic model (deterministic; no randomness):
// - a workload is the pods of one owner (see pods.ts); it is in the mesh when
//   any of its pods carries a proxy. Each in-mesh workload receives
//   `rpsPerWorkload` requests per second, split evenly over its Ready pods
//   (its endpoints); pods without a proxy serve their share unreported;
// - callers: in each namespace the first workload by name is the entry. The
//   entry is called by the Ready ingress gateway pods (istio-system,
//   istio=ingressgateway) when its namespace takes ingress traffic and a
//   gateway is Ready, otherwise by clients outside the mesh (source
//   "unknown"). Every other workload of the namespace is called by the entry's
//   Ready pods; while the entry has none, they get no traffic;
// - outcome: a proxy's version picks its fault profile. A request fails with
//   503 at the caller's proxy (errorRate of the caller's version; it never
//   reaches the destination) or at the destination's proxy (errorRate of the
//   destination's version). The destination reports what reached it, with its
//   own profile's latency; the caller reports everything it sent, failures of
//   both sides, with the slower of the two latencies;
// - counters are integrated piecewise: before any change (pods, faults) the
//   counters are brought up to now at the old rates, so rate() over any window
//   reads exactly the rates that held in it. Counts are fractional (share x
//   requests), so a 0.1% error rate is exactly 0.001 even over a short window.
// - control plane, per istiod revision (istiod Deployments in istio-system,
//   app=istiod): pilot_xds{revision,version} = running proxies whose injector
//   status names that revision, by proxy version; pilot_xds_pushes{revision,type}
//   at a steady rate per connected proxy; pilot_total_xds_rejects{revision,type="lds"}
//   at the istiod version's xdsRejectsPerMin while it has proxies (absent until
//   the first reject, as in istiod). An istiod with no Ready replica is not
//   exported at all (nothing could scrape it).

import { MetricFamily, renderFamilies, type LabelPairs } from './exposition.js';
import {
  HEALTHY_PROFILE,
  ISTIO_DURATION_BUCKETS_MS,
  assertVersionName,
  histogramQuantile,
  latencyDistribution,
  type FaultProfile,
  type LatencyDistribution,
} from './profiles.js';
import {
  isIngressGateway,
  podKey,
  toIstiod,
  toMeshPod,
  type DeploymentLike,
  type Istiod,
  type MeshPod,
  type PodLike,
} from './pods.js';

export const DEFAULT_RPS_PER_WORKLOAD = 20;
/** State changes closer together than this share one advance of the counters. */
export const CHANGE_COALESCE_MS = 250;
/** xDS pushes per connected proxy per minute, by type. */
export const PUSHES_PER_PROXY_PER_MIN: Readonly<Record<string, number>> = Object.freeze({ cds: 1, eds: 4, lds: 1, rds: 1 });
export const REJECT_TYPE = 'lds';
const CLUSTER = 'Kubernetes';
const TRUST_DOMAIN = 'cluster.local';

/** Where pods and istiod Deployments come from (a pod source delivers to this). */
export interface MeshObjectSink {
  upsertPod(pod: PodLike): void;
  deletePod(namespace: string, name: string): void;
  upsertDeployment(deployment: DeploymentLike): void;
  deleteDeployment(namespace: string, name: string): void;
}

export interface SimulatorOptions {
  /** Requests per second each in-mesh workload receives (split over its Ready pods). Default 20. */
  rpsPerWorkload?: number;
  /** Namespaces whose entry workload the ingress gateway calls; 'all' (default) for every namespace. */
  ingressNamespaces?: readonly string[] | 'all';
  /** The profile of every version without a fault. Default HEALTHY_PROFILE. */
  defaultProfile?: FaultProfile;
  /** Initial faults by proxy version. */
  faults?: ReadonlyMap<string, FaultProfile> | Readonly<Record<string, FaultProfile>>;
  /** Monotonic clock in ms. Default performance.now. */
  now?: () => number;
}

type ResponseCode = '200' | '503';
const RESPONSE_FLAGS: Record<ResponseCode, string> = { '200': '-', '503': 'UF' };

interface Accumulator {
  count: number;
  sumMs: number;
  perBucket: number[];
}

interface RequestSeries {
  labels: LabelPairs;
  byCode: Record<ResponseCode, Accumulator>;
}

/** One stream of requests into one series at fixed rates, until the state changes. */
interface Contribution {
  series: RequestSeries;
  reporter: 'destination' | 'source';
  /** Destination workload `<namespace>/<workload>`, for /state. */
  workloadKey: string;
  rps: number;
  errorShare: number;
  latency: LatencyDistribution;
}

/** A calling pod; null for a client whose proxy the destination cannot identify (outside the mesh). */
interface Caller {
  pod: MeshPod | null;
}

interface ControlPlaneCounters {
  rejects: number;
  pushes: Record<string, number>;
}

export interface WorkloadState {
  namespace: string;
  workload: string;
  /** `<namespace>/<workload>` of the caller (which may have no Ready pod), `unknown` for clients outside the mesh. */
  caller: string;
  pods: number;
  readyPods: number;
  /** Ready pods with a proxy, by proxy version. */
  readyByVersion: Record<string, number>;
  /** Ready pods with a proxy, by revision. */
  readyByRevision: Record<string, number>;
  /** Requests per second the destination proxies report. */
  reportedRps: number;
  /** The 5xx share and p99 (ms) the destination proxies report now. */
  errorRate: number | null;
  latencyP99Ms: number | null;
}

export interface ControlPlaneState {
  revision: string;
  version: string;
  ready: boolean;
  connectedProxies: number;
  connectedByVersion: Record<string, number>;
  rejects: number;
  pushes: Record<string, number>;
}

export interface SimulatorState {
  rpsPerWorkload: number;
  ingressNamespaces: readonly string[] | 'all';
  faults: FaultsView;
  workloads: WorkloadState[];
  /** Running pods with a proxy (gateways included), by proxy version. */
  podsByVersion: Record<string, number>;
  controlPlanes: ControlPlaneState[];
}

export interface FaultsView {
  default: FaultProfile;
  versions: Record<string, FaultProfile>;
}

function emptyAccumulator(): Accumulator {
  return { count: 0, sumMs: 0, perBucket: new Array<number>(ISTIO_DURATION_BUCKETS_MS.length + 1).fill(0) };
}

function increment(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function principal(pod: MeshPod): string {
  return `spiffe://${TRUST_DOMAIN}/ns/${pod.namespace}/sa/${pod.serviceAccount}`;
}

/** Istio's request labels, in Istio's order, without response_code and response_flags. */
function sourceLabels(source: MeshPod | null): Array<[string, string]> {
  if (!source) {
    return [
      ['source_workload', 'unknown'],
      ['source_workload_namespace', 'unknown'],
      ['source_principal', 'unknown'],
      ['source_app', 'unknown'],
      ['source_version', 'unknown'],
      ['source_canonical_service', 'unknown'],
      ['source_canonical_revision', 'latest'],
      ['source_cluster', 'unknown'],
    ];
  }
  return [
    ['source_workload', source.workload],
    ['source_workload_namespace', source.namespace],
    ['source_principal', principal(source)],
    ['source_app', source.app],
    ['source_version', source.versionLabel],
    ['source_canonical_service', source.canonicalService],
    ['source_canonical_revision', source.canonicalRevision],
    ['source_cluster', CLUSTER],
  ];
}

function destinationLabels(destination: MeshPod): Array<[string, string]> {
  return [
    ['destination_workload', destination.workload],
    ['destination_workload_namespace', destination.namespace],
    ['destination_principal', principal(destination)],
    ['destination_app', destination.app],
    ['destination_version', destination.versionLabel],
    ['destination_service', `${destination.workload}.${destination.namespace}.svc.cluster.local`],
    ['destination_service_name', destination.workload],
    ['destination_service_namespace', destination.namespace],
    ['destination_canonical_service', destination.canonicalService],
    ['destination_canonical_revision', destination.canonicalRevision],
    ['destination_cluster', CLUSTER],
  ];
}

export class MeshSimulator implements MeshObjectSink {
  readonly rpsPerWorkload: number;
  readonly ingressNamespaces: readonly string[] | 'all';
  private defaultProfile: FaultProfile;
  private readonly faultsByVersion = new Map<string, FaultProfile>();
  private readonly now: () => number;
  private lastAdvance: number;

  private readonly pods = new Map<string, MeshPod>();
  private readonly istiods = new Map<string, Istiod>();
  private readonly series = new Map<string, RequestSeries>();
  private readonly controlPlaneCounters = new Map<string, ControlPlaneCounters>();
  private cachedTraffic: { contributions: Contribution[]; callers: Map<string, string> } | null = null;

  constructor(options: SimulatorOptions = {}) {
    const rps = options.rpsPerWorkload ?? DEFAULT_RPS_PER_WORKLOAD;
    if (!Number.isFinite(rps) || rps < 0) throw new RangeError(`rpsPerWorkload must be a number >= 0, got ${rps}`);
    this.rpsPerWorkload = rps;
    this.ingressNamespaces = options.ingressNamespaces === 'all' || options.ingressNamespaces === undefined ? 'all' : [...options.ingressNamespaces];
    this.defaultProfile = { ...(options.defaultProfile ?? HEALTHY_PROFILE) };
    const faults = options.faults instanceof Map ? options.faults : new Map(Object.entries(options.faults ?? {}));
    for (const [version, profile] of faults) {
      assertVersionName(version);
      latencyDistribution(profile.latencyMs);
      this.faultsByVersion.set(version, { ...profile });
    }
    this.now = options.now ?? (() => performance.now());
    this.lastAdvance = this.now();
  }

  // ---- inputs ----

  upsertPod(pod: PodLike): void {
    const mesh = toMeshPod(pod);
    if (!mesh) return;
    this.change(() => this.pods.set(mesh.key, mesh));
  }

  deletePod(namespace: string, name: string): void {
    const key = podKey(namespace, name);
    if (this.pods.has(key)) this.change(() => this.pods.delete(key));
  }

  upsertDeployment(deployment: DeploymentLike): void {
    const istiod = toIstiod(deployment);
    const key = podKey(deployment.metadata?.namespace ?? '', deployment.metadata?.name ?? '');
    if (istiod) this.change(() => this.istiods.set(istiod.key, istiod));
    else if (this.istiods.has(key)) this.change(() => this.istiods.delete(key)); // its app=istiod label was removed
  }

  deleteDeployment(namespace: string, name: string): void {
    const key = podKey(namespace, name);
    if (this.istiods.has(key)) this.change(() => this.istiods.delete(key));
  }

  /** Marks `version` with `profile` from now on. */
  setFault(version: string, profile: FaultProfile): void {
    assertVersionName(version);
    latencyDistribution(profile.latencyMs); // validates
    this.change(() => this.faultsByVersion.set(version, { ...profile }));
  }

  /** Back to the default profile; false when `version` had no fault. */
  deleteFault(version: string): boolean {
    if (!this.faultsByVersion.has(version)) return false;
    this.change(() => this.faultsByVersion.delete(version));
    return true;
  }

  setDefaultProfile(profile: FaultProfile): void {
    latencyDistribution(profile.latencyMs);
    this.change(() => {
      this.defaultProfile = { ...profile };
    });
  }

  faults(): FaultsView {
    return {
      default: { ...this.defaultProfile },
      versions: sortedRecord(Object.fromEntries([...this.faultsByVersion].map(([v, p]) => [v, { ...p }]))),
    };
  }

  profileFor(version: string): FaultProfile {
    return this.faultsByVersion.get(version) ?? this.defaultProfile;
  }

  // ---- time ----

  /** Brings every counter up to now at the rates of the current state. */
  advance(): void {
    const now = this.now();
    const seconds = (now - this.lastAdvance) / 1000;
    if (seconds <= 0) return;
    this.lastAdvance = now;
    for (const c of this.traffic().contributions) {
      const requests = c.rps * seconds;
      if (requests <= 0) continue;
      const failed = requests * c.errorShare;
      this.observe(c.series.byCode['503'], failed, c.latency);
      this.observe(c.series.byCode['200'], requests - failed, c.latency);
    }
    for (const plane of this.controlPlanes()) {
      if (!plane.ready || plane.connectedProxies === 0) continue;
      const counters = this.countersFor(plane.revision);
      for (const [type, perMin] of Object.entries(PUSHES_PER_PROXY_PER_MIN)) {
        increment(counters.pushes, type, (plane.connectedProxies * perMin * seconds) / 60);
      }
      counters.rejects += (this.profileFor(plane.version).xdsRejectsPerMin * seconds) / 60;
    }
  }

  private change(apply: () => void): void {
    // Counters are brought up to now before the state changes, so each interval
    // counts at the rates that held during it; but not for every event of a burst:
    // a 200-namespace rollout delivers thousands of pod events, and recomputing
    // the traffic of every pod for each one kept the simulator busy for minutes
    // (scrapes timed out). Within CHANGE_COALESCE_MS the new rates are taken to
    // hold until the last change of the burst (an error of at most that much traffic).
    if (this.now() - this.lastAdvance >= CHANGE_COALESCE_MS) this.advance();
    apply();
    this.cachedTraffic = null;
  }

  private observe(acc: Accumulator, requests: number, latency: LatencyDistribution): void {
    if (requests <= 0) return;
    acc.count += requests;
    acc.sumMs += requests * latency.meanMs;
    latency.perBucket.forEach((share, i) => {
      acc.perBucket[i]! += requests * share;
    });
  }

  private countersFor(revision: string): ControlPlaneCounters {
    let counters = this.controlPlaneCounters.get(revision);
    if (!counters) {
      counters = { rejects: 0, pushes: Object.fromEntries(Object.keys(PUSHES_PER_PROXY_PER_MIN).map((t) => [t, 0])) };
      this.controlPlaneCounters.set(revision, counters);
    }
    return counters;
  }

  // ---- the traffic of the current state ----

  private seriesFor(reporter: 'destination' | 'source', source: MeshPod | null, destination: MeshPod, securityPolicy: string): RequestSeries {
    const labels: Array<[string, string]> = [
      ['reporter', reporter],
      ...sourceLabels(source),
      ...destinationLabels(destination),
      ['request_protocol', 'http'],
      ['connection_security_policy', securityPolicy],
    ];
    const key = labels.map(([k, v]) => `${k}=${v}`).join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      series = { labels, byCode: { '200': emptyAccumulator(), '503': emptyAccumulator() } };
      this.series.set(key, series);
    }
    return series;
  }

  private takesIngress(namespace: string): boolean {
    return this.ingressNamespaces === 'all' || this.ingressNamespaces.includes(namespace);
  }

  private traffic(): { contributions: Contribution[]; callers: Map<string, string> } {
    if (this.cachedTraffic) return this.cachedTraffic;
    const contributions: Contribution[] = [];
    const callerOf = new Map<string, string>();

    // Workloads by namespace (gateways are callers, never destinations).
    const namespaces = new Map<string, Map<string, MeshPod[]>>();
    for (const pod of this.pods.values()) {
      if (pod.gateway) continue;
      let workloads = namespaces.get(pod.namespace);
      if (!workloads) namespaces.set(pod.namespace, (workloads = new Map()));
      let pods = workloads.get(pod.workload);
      if (!pods) workloads.set(pod.workload, (pods = []));
      pods.push(pod);
    }
    const gateways = [...this.pods.values()].filter((p) => p.ready && isIngressGateway(p)).sort((a, b) => a.key.localeCompare(b.key));

    for (const [namespace, workloads] of namespaces) {
      const names = [...workloads.keys()].sort();
      const entry = names[0]!;
      const entryReady = workloads.get(entry)!.filter((p) => p.ready).sort((a, b) => a.key.localeCompare(b.key));
      for (const workload of names) {
        const pods = workloads.get(workload)!;
        if (!pods.some((p) => p.proxy)) continue; // outside the mesh: nothing reports it
        const workloadKey = `${namespace}/${workload}`;
        let callers: Caller[];
        if (workload !== entry) {
          callers = entryReady.map((pod) => ({ pod: pod.proxy ? pod : null }));
          callerOf.set(workloadKey, `${namespace}/${entry}`);
        } else if (this.takesIngress(namespace) && gateways.length > 0) {
          callers = gateways.map((pod) => ({ pod }));
          callerOf.set(workloadKey, `${gateways[0]!.namespace}/${gateways[0]!.workload}`);
        } else {
          callers = [{ pod: null }];
          callerOf.set(workloadKey, 'unknown');
        }
        const endpoints = pods.filter((p) => p.ready);
        if (endpoints.length === 0 || callers.length === 0) continue;
        const perFlow = this.rpsPerWorkload / endpoints.length / callers.length;
        for (const destination of endpoints) {
          if (!destination.proxy) continue; // serves its share, unreported
          const dst = this.profileFor(destination.proxy.version);
          for (const { pod: source } of callers) {
            const src = source?.proxy ? this.profileFor(source.proxy.version) : null;
            const srcErrors = src?.errorRate ?? 0;
            contributions.push({
              series: this.seriesFor('destination', source, destination, source ? 'mutual_tls' : 'none'),
              reporter: 'destination',
              workloadKey,
              rps: perFlow * (1 - srcErrors),
              errorShare: dst.errorRate,
              latency: latencyDistribution(dst.latencyMs),
            });
            if (source && src) {
              contributions.push({
                series: this.seriesFor('source', source, destination, 'unknown'),
                reporter: 'source',
                workloadKey,
                rps: perFlow,
                errorShare: 1 - (1 - srcErrors) * (1 - dst.errorRate),
                latency: latencyDistribution(Math.max(src.latencyMs, dst.latencyMs)),
              });
            }
          }
        }
      }
    }
    this.cachedTraffic = { contributions, callers: callerOf };
    return this.cachedTraffic;
  }

  private controlPlanes(): ControlPlaneState[] {
    const byRevision = new Map<string, ControlPlaneState>();
    const istiods = [...this.istiods.values()].sort((a, b) => a.key.localeCompare(b.key));
    for (const istiod of istiods) {
      const plane = byRevision.get(istiod.revision);
      if (plane) plane.ready ||= istiod.ready;
      else {
        byRevision.set(istiod.revision, {
          revision: istiod.revision,
          version: istiod.version,
          ready: istiod.ready,
          connectedProxies: 0,
          connectedByVersion: {},
          rejects: 0,
          pushes: {},
        });
      }
    }
    for (const pod of this.pods.values()) {
      if (!pod.running || !pod.proxy) continue;
      const plane = byRevision.get(pod.proxy.revision);
      if (!plane) continue;
      plane.connectedProxies += 1;
      increment(plane.connectedByVersion, pod.proxy.version);
    }
    for (const plane of byRevision.values()) {
      const counters = this.controlPlaneCounters.get(plane.revision);
      plane.rejects = counters?.rejects ?? 0;
      plane.pushes = { ...(counters?.pushes ?? {}) };
      plane.connectedByVersion = sortedRecord(plane.connectedByVersion);
    }
    return [...byRevision.values()].sort((a, b) => a.revision.localeCompare(b.revision));
  }

  // ---- outputs ----

  /** The exposition a scrape returns now. */
  render(): string {
    this.advance();
    const requests = new MetricFamily('istio_requests_total', 'counter', 'Total requests handled by an Istio proxy');
    const duration = new MetricFamily('istio_request_duration_milliseconds', 'histogram', 'Duration of requests, in milliseconds');
    const sorted = [...this.series.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, series] of sorted) {
      for (const code of ['200', '503'] as const) {
        const acc = series.byCode[code];
        // As in Envoy, a series exists once a request with those labels was seen.
        if (acc.count <= 0) continue;
        const labels: LabelPairs = [...series.labels, ['response_code', code], ['response_flags', RESPONSE_FLAGS[code]]];
        requests.sample(labels, acc.count);
        duration.histogram(labels, ISTIO_DURATION_BUCKETS_MS, acc.perBucket, acc.sumMs);
      }
    }

    const build = new MetricFamily('istio_build', 'gauge', 'Istio component build info');
    const xds = new MetricFamily('pilot_xds', 'gauge', 'Number of endpoints connected to this pilot using XDS');
    const pushes = new MetricFamily('pilot_xds_pushes', 'counter', 'Pilot build and send errors for lds, rds, cds and eds');
    const rejects = new MetricFamily('pilot_total_xds_rejects', 'counter', 'Total number of XDS responses from pilot rejected by proxy');
    for (const plane of this.controlPlanes()) {
      if (!plane.ready) continue;
      const revision: [string, string] = ['revision', plane.revision];
      build.sample([['component', 'pilot'], revision, ['tag', plane.version]], 1);
      const versions = Object.entries(plane.connectedByVersion);
      if (versions.length === 0) xds.sample([revision, ['version', plane.version]], 0);
      for (const [version, count] of versions) xds.sample([revision, ['version', version]], count);
      for (const [type, count] of Object.entries(plane.pushes)) pushes.sample([revision, ['type', type]], count);
      // istiod registers the reject counter on the first reject only.
      if (plane.rejects > 0) rejects.sample([revision, ['type', REJECT_TYPE]], plane.rejects);
    }
    return renderFamilies([requests, duration, build, xds, pushes, rejects]);
  }

  /** What is simulated now, for debugging and tests. */
  state(): SimulatorState {
    this.advance();
    const { contributions, callers } = this.traffic();
    const workloads = new Map<string, WorkloadState & { failed: number; perBucket: number[] }>();
    for (const pod of this.pods.values()) {
      if (pod.gateway) continue;
      const key = `${pod.namespace}/${pod.workload}`;
      if (!callers.has(key)) continue;
      let w = workloads.get(key);
      if (!w) {
        w = {
          namespace: pod.namespace,
          workload: pod.workload,
          caller: callers.get(key)!,
          pods: 0,
          readyPods: 0,
          readyByVersion: {},
          readyByRevision: {},
          reportedRps: 0,
          errorRate: null,
          latencyP99Ms: null,
          failed: 0,
          perBucket: new Array<number>(ISTIO_DURATION_BUCKETS_MS.length + 1).fill(0),
        };
        workloads.set(key, w);
      }
      w.pods += 1;
      if (pod.ready) {
        w.readyPods += 1;
        if (pod.proxy) {
          increment(w.readyByVersion, pod.proxy.version);
          increment(w.readyByRevision, pod.proxy.revision);
        }
      }
    }
    for (const c of contributions) {
      const w = workloads.get(c.workloadKey);
      if (!w || c.reporter !== 'destination') continue;
      w.reportedRps += c.rps;
      w.failed += c.rps * c.errorShare;
      c.latency.perBucket.forEach((share, i) => {
        w.perBucket[i]! += c.rps * share;
      });
    }
    const podsByVersion: Record<string, number> = {};
    for (const pod of this.pods.values()) if (pod.running && pod.proxy) increment(podsByVersion, pod.proxy.version);

    return {
      rpsPerWorkload: this.rpsPerWorkload,
      ingressNamespaces: this.ingressNamespaces,
      faults: this.faults(),
      workloads: [...workloads.values()]
        .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.workload.localeCompare(b.workload))
        .map(({ failed, perBucket, ...w }) => ({
          ...w,
          readyByVersion: sortedRecord(w.readyByVersion),
          readyByRevision: sortedRecord(w.readyByRevision),
          errorRate: w.reportedRps > 0 ? failed / w.reportedRps : null,
          latencyP99Ms: w.reportedRps > 0 ? histogramQuantile(0.99, perBucket) : null,
        })),
      podsByVersion: sortedRecord(podsByVersion),
      controlPlanes: this.controlPlanes(),
    };
  }
}
