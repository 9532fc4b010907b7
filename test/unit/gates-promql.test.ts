import { describe, expect, it } from '@jest/globals';
import {
  buildMetricQueries,
  formatWindow,
  QUERY_TEMPLATES,
  renderQuery,
  UnsafePromQLValueError,
} from '../../gates/promql.js';
import type { MetricSpec } from '../../plan/types.js';

const errorRate: MetricSpec = { name: 'error-rate', type: 'errorRate', max: 0.01, minRequests: 100 };
const latency: MetricSpec = { name: 'latency-p99', type: 'latencyP99', maxMs: 250, minRequests: 100 };
const volume: MetricSpec = { name: 'volume', type: 'requestVolume', minRps: 1 };
const xds: MetricSpec = { name: 'xds-rejects', type: 'xdsRejects', max: 0 };
const scope = { namespaces: ['shop', 'payments'], revision: '1-30-3', windowMs: 300_000 };

describe('formatWindow', () => {
  it.each([
    [300_000, '5m'],
    [90_000, '90s'],
    [3_600_000, '1h'],
    [7_200_000, '2h'],
    [1_500, '1500ms'],
    [15_000, '15s'],
  ])('%i ms -> %s', (ms, expected) => {
    expect(formatWindow(ms)).toBe(expected);
  });

  it.each([0, -5_000, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p', (ms) => {
    expect(() => formatWindow(ms)).toThrow(UnsafePromQLValueError);
  });
});

describe('renderQuery', () => {
  it('fills every placeholder', () => {
    expect(renderQuery('a{ns=~"{{namespaces}}",rev="{{revision}}"}[{{window}}]', { namespaces: 'a|b', revision: 'r1', window: '1m' })).toBe(
      'a{ns=~"a|b",rev="r1"}[1m]',
    );
  });

  it('refuses a missing value', () => {
    expect(() => renderQuery('x[{{window}}]', {})).toThrow(/missing value for \{\{window\}\}/);
    expect(() => renderQuery('x[{{window}}]', { window: '' })).toThrow(UnsafePromQLValueError);
  });

  it('refuses an unknown placeholder', () => {
    expect(() => renderQuery('x{{job}}', { window: '1m' })).toThrow(/unknown placeholder/);
  });

  it.each([
    ['namespaces', 'shop"}'],
    ['namespaces', 'a||b'],
    ['namespaces', '|a'],
    ['namespaces', 'a.*'],
    ['namespaces', 'Shop'],
    ['revision', 'a|b'],
    ['revision', '1.30.3'],
    ['revision', 'x"} or vector(1) #'],
    ['window', '5'],
    ['window', '5m]) or vector(1'],
    ['window', '0s'],
  ] as const)('refuses unsafe %s value %p', (name, value) => {
    expect(() => renderQuery(`{{${name}}}`, { [name]: value })).toThrow(UnsafePromQLValueError);
  });
});

describe('buildMetricQueries', () => {
  it('errorRate: 5xx share that is 0 with traffic and empty without, plus a request count', () => {
    const q = buildMetricQueries(errorRate, scope);
    const selector = 'reporter="destination",destination_workload_namespace=~"shop|payments"';
    expect(q.value).toBe(
      `(sum(rate(istio_requests_total{${selector},response_code=~"5.."}[5m])) or vector(0))` +
        ` / sum(rate(istio_requests_total{${selector}}[5m]))`,
    );
    expect(q.requests).toBe(`sum(increase(istio_requests_total{${selector}}[5m]))`);
  });

  it('latencyP99: p99 of the destination histogram, with a request count', () => {
    const q = buildMetricQueries(latency, { ...scope, namespaces: ['shop'], windowMs: 90_000 });
    expect(q.value).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket' +
        '{reporter="destination",destination_workload_namespace=~"shop"}[90s])))',
    );
    expect(q.requests).toBe('sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace=~"shop"}[90s]))');
  });

  it('requestVolume: requests per second, no request count', () => {
    const q = buildMetricQueries(volume, scope);
    expect(q.value).toBe('sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace=~"shop|payments"}[5m]))');
    expect(q.requests).toBeUndefined();
  });

  it('xdsRejects: rejects of the revision (zero when absent), connected proxies as evidence', () => {
    const q = buildMetricQueries(xds, scope);
    expect(q.value).toBe('sum(increase(pilot_total_xds_rejects{revision="1-30-3"}[5m])) or vector(0)');
    expect(q.requests).toBe('sum(pilot_xds{revision="1-30-3"})');
  });

  it('xdsRejects needs no namespaces, namespace metrics need no revision', () => {
    expect(() => buildMetricQueries(xds, { ...scope, namespaces: [] })).not.toThrow();
    expect(() => buildMetricQueries(errorRate, { ...scope, revision: '' })).not.toThrow();
  });

  it('refuses an empty namespace list', () => {
    expect(() => buildMetricQueries(errorRate, { ...scope, namespaces: [] })).toThrow(/no namespaces/);
  });

  it.each(['shop"', 'shop"}', 'a{b}', 'shop|payments', 'sh.p', 'shop.*', '', 'Shop', '-shop', 'shop-', 'a'.repeat(64), 'shop\n'])(
    'refuses unsafe namespace %p',
    (bad) => {
      expect(() => buildMetricQueries(errorRate, { ...scope, namespaces: ['ok', bad] })).toThrow(UnsafePromQLValueError);
    },
  );

  it.each(['', '1.30.3', 'rev"}', 'a|b', 'canary$', '(x)'])('refuses unsafe revision %p', (bad) => {
    expect(() => buildMetricQueries(xds, { ...scope, revision: bad })).toThrow(UnsafePromQLValueError);
  });

  it('refuses an unusable window', () => {
    expect(() => buildMetricQueries(volume, { ...scope, windowMs: 0 })).toThrow(UnsafePromQLValueError);
  });

  it('accepts a 63-character namespace', () => {
    expect(buildMetricQueries(volume, { ...scope, namespaces: ['a'.repeat(63)] }).value).toContain(`=~"${'a'.repeat(63)}"`);
  });

  it('every template uses only known placeholders', () => {
    for (const template of Object.values(QUERY_TEMPLATES)) {
      expect(() => renderQuery(template, { namespaces: 'a', revision: 'r', window: '1m' })).not.toThrow();
    }
  });
});

describe('ingress traffic (the gateway wave)', () => {
  it('judges what the gateways sent, from their own proxies', () => {
    const queries = buildMetricQueries(
      { name: 'error-rate', type: 'errorRate', max: 0.01, minRequests: 100 },
      { namespaces: ['istio-system'], revision: '1-30-3', windowMs: 60_000, traffic: 'ingress' },
    );
    expect(queries.value).toContain('reporter="source",source_workload_namespace=~"istio-system"');
    expect(queries.value).not.toContain('reporter="destination"');
    expect(queries.requests).toContain('reporter="source"');
  });
  it('still refuses unsafe names', () => {
    expect(() =>
      buildMetricQueries({ name: 'p99', type: 'latencyP99', maxMs: 500, minRequests: 1 }, { namespaces: ['istio-system"}'], revision: 'r', windowMs: 60_000, traffic: 'ingress' }),
    ).toThrow(/not a DNS-1123 label/);
  });
});
