// A fake mesh for Prometheus to scrape: Istio-standard request metrics per
// namespace and istiod metrics per revision, in the Prometheus text format. The
// counters advance with wall-clock time at the configured rates (computed at
// each scrape), so rate() over any window reads the configured numbers however
// often Prometheus scrapes. Profiles can change at runtime, e.g. to turn a
// namespace faulty in the middle of a test. Listens on 127.0.0.1 only.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TrafficProfile {
  /** Requests per second served in the namespace; 0 for none. */
  rps: number;
  /** Share of those requests answered 503, 0..1. */
  errorShare: number;
  /** How long every request takes; the histogram puts them all in its bucket. */
  latencyMs: number;
}

export interface ControlPlaneProfile {
  /** Proxies connected to this revision's istiod (pilot_xds). */
  connectedProxies: number;
  /** Configuration rejects per second reported by those proxies. */
  rejectsPerSecond: number;
}

export interface IstioMetricsExporterOptions {
  namespaces?: Record<string, TrafficProfile>;
  controlPlanes?: Record<string, ControlPlaneProfile>;
  /** destination_workload label of every namespace's traffic. */
  workload?: string;
}

export interface IstioMetricsExporter {
  /** host:port for a Prometheus static target. */
  target: string;
  setNamespace(namespace: string, profile: TrafficProfile): void;
  setControlPlane(revision: string, profile: ControlPlaneProfile): void;
  /** The exposition a scrape would return now. */
  render(): string;
  stop(): Promise<void>;
}

/** Istio's default duration buckets (ms). */
export const ISTIO_DURATION_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

const RESPONSE_CODES = ['200', '503'] as const;
type ResponseCode = (typeof RESPONSE_CODES)[number];
// Istio reports each request twice (client and server proxy); the source copy is
// there so a query that forgets reporter="destination" counts double and is caught.
const REPORTERS = ['destination', 'source'] as const;

interface RequestSeries {
  count: number;
  sumMs: number;
  /** Observations per bucket (not cumulative), one more than the boundaries for +Inf. */
  perBucket: number[];
}

interface NamespaceState {
  profile: TrafficProfile;
  byCode: Record<ResponseCode, RequestSeries>;
}

interface ControlPlaneState {
  profile: ControlPlaneProfile;
  rejects: number;
}

function emptySeries(): RequestSeries {
  return { count: 0, sumMs: 0, perBucket: new Array<number>(ISTIO_DURATION_BUCKETS_MS.length + 1).fill(0) };
}

function bucketIndex(latencyMs: number): number {
  const index = ISTIO_DURATION_BUCKETS_MS.findIndex((le) => latencyMs <= le);
  return index === -1 ? ISTIO_DURATION_BUCKETS_MS.length : index;
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs)
    .map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',')}}`;
}

export async function startIstioMetricsExporter(options: IstioMetricsExporterOptions = {}): Promise<IstioMetricsExporter> {
  const workload = options.workload ?? 'app';
  const namespaces = new Map<string, NamespaceState>();
  const controlPlanes = new Map<string, ControlPlaneState>();
  let lastAdvance = performance.now();

  /** Brings every counter up to now at the current profiles. */
  function advance(): void {
    const now = performance.now();
    const seconds = (now - lastAdvance) / 1000;
    lastAdvance = now;
    for (const { profile, byCode } of namespaces.values()) {
      const requests = profile.rps * seconds;
      const observed: Record<ResponseCode, number> = { '200': requests * (1 - profile.errorShare), '503': requests * profile.errorShare };
      for (const code of RESPONSE_CODES) {
        const series = byCode[code];
        series.count += observed[code];
        series.sumMs += observed[code] * profile.latencyMs;
        series.perBucket[bucketIndex(profile.latencyMs)]! += observed[code];
      }
    }
    for (const state of controlPlanes.values()) state.rejects += state.profile.rejectsPerSecond * seconds;
  }

  function setNamespace(namespace: string, profile: TrafficProfile): void {
    advance();
    const state = namespaces.get(namespace);
    if (state) state.profile = { ...profile };
    else namespaces.set(namespace, { profile: { ...profile }, byCode: { '200': emptySeries(), '503': emptySeries() } });
  }

  function setControlPlane(revision: string, profile: ControlPlaneProfile): void {
    advance();
    const state = controlPlanes.get(revision);
    if (state) state.profile = { ...profile };
    else controlPlanes.set(revision, { profile: { ...profile }, rejects: 0 });
  }

  function render(): string {
    advance();
    const requestsTotal: string[] = [];
    const duration: string[] = [];
    for (const [namespace, { byCode }] of namespaces) {
      for (const code of RESPONSE_CODES) {
        const series = byCode[code];
        // Like Envoy, a series exists only once a request with those labels was seen.
        if (series.count === 0) continue;
        for (const reporter of REPORTERS) {
          const base = {
            reporter,
            destination_workload: workload,
            destination_workload_namespace: namespace,
            destination_service_namespace: namespace,
            response_code: code,
          };
          requestsTotal.push(`istio_requests_total${labels(base)} ${series.count}`);
          let cumulative = 0;
          ISTIO_DURATION_BUCKETS_MS.forEach((le, i) => {
            cumulative += series.perBucket[i]!;
            duration.push(`istio_request_duration_milliseconds_bucket${labels({ ...base, le: String(le) })} ${cumulative}`);
          });
          duration.push(`istio_request_duration_milliseconds_bucket${labels({ ...base, le: '+Inf' })} ${series.count}`);
          duration.push(`istio_request_duration_milliseconds_sum${labels(base)} ${series.sumMs}`);
          duration.push(`istio_request_duration_milliseconds_count${labels(base)} ${series.count}`);
        }
      }
    }
    const xds: string[] = [];
    const rejects: string[] = [];
    for (const [revision, state] of controlPlanes) {
      xds.push(`pilot_xds${labels({ revision })} ${state.profile.connectedProxies}`);
      // istiod registers the reject counter on the first reject only.
      if (state.rejects > 0) rejects.push(`pilot_total_xds_rejects${labels({ revision, type: 'cds' })} ${state.rejects}`);
    }
    return [
      '# TYPE istio_requests_total counter',
      ...requestsTotal,
      '# TYPE istio_request_duration_milliseconds histogram',
      ...duration,
      '# TYPE pilot_xds gauge',
      ...xds,
      '# TYPE pilot_total_xds_rejects counter',
      ...rejects,
      '',
    ].join('\n');
  }

  for (const [namespace, profile] of Object.entries(options.namespaces ?? {})) setNamespace(namespace, profile);
  for (const [revision, profile] of Object.entries(options.controlPlanes ?? {})) setControlPlane(revision, profile);

  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(render());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    target: `127.0.0.1:${port}`,
    setNamespace,
    setControlPlane,
    render,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
