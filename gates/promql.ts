// PromQL for the gate metrics: a map of templates with named placeholders and a
// pure renderer that refuses a missing or unsafe value. Pure and free of Node
// built-ins because the workflow sandbox imports it too.
//
// Label assumptions (Istio standard metrics, as emitted by the proxies and istiod):
// - istio_requests_total and istio_request_duration_milliseconds_* are filtered on
//   reporter="destination" so each request is counted once (by the server-side
//   proxy of the workload being judged), and on destination_workload_namespace, the
//   namespace of the workload that served the request: the one that was migrated.
// - response_code holds the HTTP status as a string, so 5xx is response_code=~"5..".
// - istiod's own metrics (pilot_xds, pilot_total_xds_rejects) carry no revision
//   label natively; the scrape config must attach one named `revision` (for example
//   by relabelling the istiod pod label istio.io/rev). The lab's exporter emits it
//   directly. pilot_total_xds_rejects only appears after the first reject, so an
//   absent series means zero; pilot_xds (connected proxies) tells "istiod is
//   scraped and has proxies" apart from "nobody scrapes this control plane".

import type { MetricSpec, MetricType } from '../plan/types.js';

/** Thrown when a value cannot be put into PromQL safely; retrying cannot help. */
export class UnsafePromQLValueError extends Error {
  override readonly name = 'UnsafePromQLValueError';
}

export type Placeholder = 'namespaces' | 'revision' | 'window';

// Each placeholder accepts only values of this shape. Namespaces arrive already
// joined into a regex alternation of DNS-1123 labels, which contain no regex
// metacharacter, no quote and no brace, so they cannot escape the matcher.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_SOURCE = DNS1123_LABEL.source.slice(1, -1);
const SAFE_VALUE: Record<Placeholder, RegExp> = {
  namespaces: new RegExp(`^${LABEL_SOURCE}(\\|${LABEL_SOURCE})*$`),
  revision: DNS1123_LABEL,
  window: /^[1-9][0-9]*(ms|s|m|h)$/,
};

// Requests served by the judged workloads, each counted once (see above).
const SERVED_IN_SCOPE = 'reporter="destination",destination_workload_namespace=~"{{namespaces}}"';
// Requests the gateways in the scope sent, as their own proxies report them: a
// faulty gateway proxy fails requests before any destination sees them, so
// gateways are judged from the source side.
const SENT_BY_SCOPE = 'reporter="source",source_workload_namespace=~"{{namespaces}}"';

export const QUERY_TEMPLATES = {
  // `or vector(0)` turns "no 5xx series yet" into 0 while traffic exists; with no
  // traffic the denominator is empty (or 0, giving NaN), which stays "no data".
  errorRate:
    `(sum(rate(istio_requests_total{${SERVED_IN_SCOPE},response_code=~"5.."}[{{window}}])) or vector(0))` +
    ` / sum(rate(istio_requests_total{${SERVED_IN_SCOPE}}[{{window}}]))`,
  requestCount: `sum(increase(istio_requests_total{${SERVED_IN_SCOPE}}[{{window}}]))`,
  latencyP99:
    `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${SERVED_IN_SCOPE}}[{{window}}])))`,
  requestRate: `sum(rate(istio_requests_total{${SERVED_IN_SCOPE}}[{{window}}]))`,
  // Absent means no reject ever happened, hence `or vector(0)`.
  xdsRejects: 'sum(increase(pilot_total_xds_rejects{revision="{{revision}}"}[{{window}}])) or vector(0)',
  connectedProxies: 'sum(pilot_xds{revision="{{revision}}"})',
} as const;

export type QueryTemplateName = keyof typeof QUERY_TEMPLATES;

const PLACEHOLDER = /\{\{(\w+)\}\}/g;

function isPlaceholder(name: string): name is Placeholder {
  return Object.hasOwn(SAFE_VALUE, name);
}

/** Fills every `{{name}}` of the template; throws UnsafePromQLValueError on a missing, unknown or unsafe value. */
export function renderQuery(template: string, values: Partial<Record<Placeholder, string>>): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    if (!isPlaceholder(name)) throw new UnsafePromQLValueError(`unknown placeholder {{${name}}}`);
    const value = values[name];
    if (value === undefined || value === '') throw new UnsafePromQLValueError(`missing value for {{${name}}}`);
    if (!SAFE_VALUE[name].test(value)) {
      throw new UnsafePromQLValueError(`unsafe value for {{${name}}}: ${JSON.stringify(value)}`);
    }
    return value;
  });
}

/** A range-vector duration (`5m`, `90s`, `1500ms`) in the largest unit that divides the window exactly. */
export function formatWindow(windowMs: number): string {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
    throw new UnsafePromQLValueError(`window must be a positive whole number of milliseconds, got ${windowMs}`);
  }
  const units: Array<[string, number]> = [['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
  for (const [unit, ms] of units) {
    if (windowMs % ms === 0) return `${windowMs / ms}${unit}`;
  }
  return `${windowMs}ms`;
}

function assertDns1123Label(kind: string, value: string): void {
  if (!DNS1123_LABEL.test(value)) {
    throw new UnsafePromQLValueError(`${kind} ${JSON.stringify(value)} is not a DNS-1123 label`);
  }
}

export interface QueryScope {
  namespaces: string[];
  revision: string;
  windowMs: number;
  /** 'served' (default): traffic the namespaces' workloads served; 'ingress': traffic their gateways sent. */
  traffic?: 'served' | 'ingress';
}

/** `value` is the number judged; `requests` is the evidence that there was enough to judge. */
export interface MetricQueries {
  value: string;
  requests?: string;
}

/** Placeholder values for a scope, each checked on its own before joining. */
function scopeValues(scope: QueryScope, needs: 'namespaces' | 'revision'): Partial<Record<Placeholder, string>> {
  const window = formatWindow(scope.windowMs);
  if (needs === 'namespaces') {
    if (scope.namespaces.length === 0) throw new UnsafePromQLValueError('no namespaces to query');
    scope.namespaces.forEach((ns) => assertDns1123Label('namespace', ns));
    return { namespaces: scope.namespaces.join('|'), window };
  }
  assertDns1123Label('revision', scope.revision);
  return { revision: scope.revision, window };
}

const QUERIES_BY_TYPE: Record<MetricType, { value: QueryTemplateName; requests?: QueryTemplateName; needs: 'namespaces' | 'revision' }> = {
  errorRate: { value: 'errorRate', requests: 'requestCount', needs: 'namespaces' },
  latencyP99: { value: 'latencyP99', requests: 'requestCount', needs: 'namespaces' },
  requestVolume: { value: 'requestRate', needs: 'namespaces' },
  xdsRejects: { value: 'xdsRejects', requests: 'connectedProxies', needs: 'revision' },
};

/** The PromQL for one gate metric over the scope; throws UnsafePromQLValueError rather than build an unsafe query. */
export function buildMetricQueries(metric: MetricSpec, scope: QueryScope): MetricQueries {
  const spec = QUERIES_BY_TYPE[metric.type];
  if (!spec) throw new UnsafePromQLValueError(`unknown metric type ${JSON.stringify(metric.type)}`);
  const values = scopeValues(scope, spec.needs);
  const template = (name: QueryTemplateName) =>
    scope.traffic === 'ingress' ? QUERY_TEMPLATES[name].replaceAll(SERVED_IN_SCOPE, SENT_BY_SCOPE) : QUERY_TEMPLATES[name];
  const queries: MetricQueries = { value: renderQuery(template(spec.value), values) };
  if (spec.requests) queries.requests = renderQuery(template(spec.requests), values);
  return queries;
}
