// The dashboard file's shape: every panel queries the chosen Prometheus with
// only the dashboard's own variables, ids are unique, and the orchestrator
// metrics it shows are the ones the worker emits.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../lab/paths.js';
import { loadDashboard, panelQueries, substituteVariables } from '../support/dashboard.js';

const GRAFANA_BUILTINS = ['__rate_interval', '__interval', '__range'];

describe('grafana dashboard', () => {
  const dashboard = loadDashboard();
  const variables = dashboard.templating.list.map((v) => v.name);
  const fill = Object.fromEntries([...variables, ...GRAFANA_BUILTINS].map((name) => [name, 'x']));

  it('has unique panel ids, and a query in every panel that is not a row', () => {
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels.filter((p) => p.type !== 'row')) {
      expect([p.title, (p.targets ?? []).filter((t) => t.expr?.trim()).length > 0]).toEqual([p.title, true]);
    }
  });

  it('uses only its own variables and Grafana built-ins', () => {
    expect(variables).toEqual(['datasource', 'job', 'cluster']);
    for (const q of panelQueries(dashboard)) expect(() => substituteVariables(q.expr, fill)).not.toThrow();
  });

  it('shows every istio_canary_* metric the worker emits, and no other', () => {
    const sources = ['workflows/metrics.ts', 'worker/metrics-phases.ts', 'worker/metrics-activities.ts'].map((f) => readFileSync(join(REPO_ROOT, f), 'utf8')).join('\n');
    const emitted = new Set([...sources.matchAll(/'(istio_canary_[a-z_]+)'/g)].map((m) => m[1]!));
    const shown = new Set(panelQueries(dashboard).flatMap((q) => [...q.expr.matchAll(/(istio_canary_[a-z_]+?)(?:_bucket|_count|_sum)?\{/g)].map((m) => m[1]!)));
    expect([...shown].sort()).toEqual([...emitted].sort());
  });

  it('substitutes $x, ${x} and [[x]], and refuses an unknown variable', () => {
    expect(substituteVariables('a{job="$job", c=~"${cluster}"}[[[r]]]', { job: 'w', cluster: '.*', r: '1m' })).toBe('a{job="w", c=~".*"}[1m]');
    expect(() => substituteVariables('rate(x[$__rate_interval])', {})).toThrow(/\$__rate_interval has no value/);
  });
});
