// The Grafana dashboard in deploy/monitoring as data: its panels' PromQL with
// the dashboard's variables filled in the way Grafana would, so tests can run
// every query against a real Prometheus.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../lab/paths.js';

export const DASHBOARD_FILE = join(REPO_ROOT, 'deploy', 'monitoring', 'grafana-dashboard.json');

interface Target {
  refId?: string;
  expr?: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string }> };
}

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
}

export function loadDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Every query of every panel, rows (collapsed or not) included. */
export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  const all = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return all.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId ?? '?', expr: t.expr ?? '' })));
}

/**
 * Fills `$name`, `${name}` and `[[name]]`; a variable left without a value is
 * an error (Grafana would send it to Prometheus as is, and the query would fail).
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)/g, (_, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = values[name];
    if (value === undefined) throw new Error(`dashboard variable $${name} has no value in ${JSON.stringify(expr)}`);
    return value;
  });
}
