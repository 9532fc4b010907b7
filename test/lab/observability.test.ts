// The orchestrator's own observability, end to end in the lab: the lab worker
// serves /metrics, the lab's Prometheus scrapes it, and after real upgrades
// through the CLI (one whose preflight cannot reach Prometheus, a faulty
// version rolled back by its gate, a good canary approved by a human) the
// orchestrator metrics say what happened, every query of the Grafana
// dashboard returns data, and the alert rules' expressions see the rollback.
import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { demoPlan } from '../../lab/demo-plan.js';
import { labInfo, labPorts, WORKER_METRICS_JOB, type LabInfo } from '../../lab/lab.js';
import { REPO_ROOT } from '../../lab/paths.js';
import { freePort } from '../../lab/ports.js';
import { waitFor } from '../../lab/processes.js';
import { CLUSTER, clearFault, cliOk, freshLab, labSuite, setFault, statusOf, Watch, waitForSettledMesh } from '../support/e2e.js';
import { loadDashboard, panelQueries, substituteVariables } from '../support/dashboard.js';

const TEST_TIMEOUT = 15 * 60_000;

/**
 * A short plan: the lab's demo plan cut down to the canary namespace (no waves
 * or gateways), tags and revisions left alone, one gate metric.
 */
function canaryOnlyPlan(info: LabInfo, name: string, prometheusUrl = info.prometheusUrl): string {
  const plan = parse(demoPlan(info, { overlay: info.targetOverlay, soak: '8s', interval: '2s', window: '10s' })) as {
    metadata: { name: string };
    spec: { gates: { metrics: Array<{ name: string }> } } & Record<string, unknown>;
  };
  plan.metadata.name = name;
  Object.assign(plan.spec, { waves: [], gateways: { enabled: false }, finalize: { moveTags: [], uninstallOld: false }, prometheus: { url: prometheusUrl } });
  plan.spec.gates.metrics = plan.spec.gates.metrics.filter((m) => m.name === 'error-rate');
  const file = join(info.root, `${name}.yaml`);
  writeFileSync(file, stringify(plan));
  return file;
}

interface Sample {
  metric: Record<string, string>;
  value: number;
}

async function query(expr: string): Promise<Sample[]> {
  const url = `${labInfo().prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
  return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** The value of a query that sums to one number (0 when it has no series). */
async function scalar(expr: string): Promise<number> {
  return (await query(expr)).reduce((sum, s) => sum + s.value, 0);
}

/** Waits until Prometheus has scraped a value that satisfies `ok`, and returns it. */
async function eventually(expr: string, ok: (value: number) => boolean, timeoutMs = 60_000): Promise<number> {
  let last = Number.NaN;
  try {
    return await waitFor(`${expr} in the lab's Prometheus`, async () => {
      last = await scalar(expr);
      return ok(last) ? last : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last value ${last}`);
  }
}

async function runToEnd(plan: string, duringRun?: (watch: Watch) => Promise<void>): Promise<number> {
  await cliOk(['start', '-f', plan, '--by', 'observability-test']);
  const watch = new Watch();
  try {
    await duringRun?.(watch);
    return await watch.result();
  } finally {
    watch.stop();
  }
}

const W = `job="${WORKER_METRICS_JOB}", cluster="${CLUSTER}"`;

describe('the orchestrator observes itself: worker metrics, dashboard, alerts', () => {
  const lab = labSuite(TEST_TIMEOUT, () => clearFault(labInfo().versions.newVersion));

  it('counts what real upgrades did, and every dashboard query returns data from the lab Prometheus', async () => {
    const { info, before } = await freshLab();
    lab.pristine = before;
    const { newVersion, newRevision } = info.versions;

    // The worker is a scrape target of the lab's Prometheus, with the SDK's own metrics.
    await eventually(`up{job="${WORKER_METRICS_JOB}", instance="127.0.0.1:${labPorts().workerMetrics}"}`, (v) => v === 1);
    await eventually(`sum(temporal_worker_task_slots_available{job="${WORKER_METRICS_JOB}"})`, (v) => v > 0);

    // 1. Preflight cannot reach Prometheus (a closed loopback port): the activity fails on every
    // attempt and the run ends failed in preflight, with nothing to roll back.
    const unreachable = await runToEnd(canaryOnlyPlan(info, 'unreachable-prometheus', `http://127.0.0.1:${await freePort()}`));
    expect(unreachable).toBe(2);
    expect((await statusOf()).status.result).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('not reachable') });

    // 2. A faulty version: the canary's error rate fails the gate and it rolls back.
    await setFault(newVersion);
    expect(await runToEnd(canaryOnlyPlan(info, 'faulty'))).toBe(2);
    expect((await statusOf()).status.result?.outcome).toBe('rolled-back');
    await clearFault(newVersion);
    await waitForSettledMesh();
    // The next preflight judges the canary on the last gate window (10 s): let the faulty
    // version's errors leave it, or the good run would rightly refuse to start.
    await new Promise((resolve) => setTimeout(resolve, 15_000));

    // 3. A good version, approved through the CLI once the phase gauge shows the wait.
    const good = await runToEnd(canaryOnlyPlan(info, 'good'), async (watch) => {
      await watch.until('the approval gate', (s) => s.waitingFor?.kind === 'approval');
      await eventually(`max(istio_canary_upgrades{${W}, phase="awaiting-approval"})`, (v) => v === 1);
      await cliOk(['approve', CLUSTER, '--by', 'observability-test', '--reason', 'canary clean']);
    });
    expect(good).toBe(0);
    const { status } = await statusOf();
    expect(status.namespaces.map((n) => [n.name, n.state, n.revisionAfter])).toEqual([['canary-test', 'migrated', newRevision]]);

    // The orchestrator's metrics, as Prometheus scraped them.
    await eventually(`sum(istio_canary_upgrades_finished_total{${W}, outcome="completed"})`, (v) => v === 1);
    expect(await scalar(`sum(istio_canary_upgrades_finished_total{${W}, outcome="rolled-back"})`)).toBe(1);
    expect(await scalar(`sum(istio_canary_upgrades_finished_total{${W}, outcome="failed"})`)).toBe(1);
    expect(await scalar(`sum(istio_canary_rollbacks_total{${W}, reason="gate"})`)).toBe(1);
    expect(await scalar(`sum(istio_canary_rollbacks_total{${W}})`)).toBe(1);
    // Gate checks: the faulty canary failed at least failureLimit (2) checks, the good one passed some.
    expect(await scalar(`sum(istio_canary_gate_checks_total{${W}, stage="canary", verdict="fail"})`)).toBeGreaterThanOrEqual(2);
    expect(await scalar(`sum(istio_canary_gate_checks_total{${W}, stage="canary", verdict="pass"})`)).toBeGreaterThanOrEqual(1);
    expect(await scalar(`sum(istio_canary_gate_measurements_total{${W}, metric="error-rate", phase="fail"})`)).toBeGreaterThanOrEqual(2);
    expect(await scalar(`sum(istio_canary_gate_verdicts_total{${W}, stage="canary", verdict="failed"})`)).toBe(1);
    expect(await scalar(`sum(istio_canary_gate_verdicts_total{${W}, stage="canary", verdict="passed"})`)).toBe(1);
    // The approval: one wait, approved, that lasted at least as long as the gauge needed to show it.
    expect(await scalar(`sum(istio_canary_approval_wait_seconds_count{${W}, outcome="approved"})`)).toBe(1);
    expect(await scalar(`sum(istio_canary_approval_wait_seconds_sum{${W}, outcome="approved"})`)).toBeGreaterThan(0);
    // Every attempt of checkPrometheus against the closed port failed (METRICS_CALL: 3 attempts).
    const failures = await query(`istio_canary_activity_failures_total{job="${WORKER_METRICS_JOB}"}`);
    expect(failures.filter((s) => s.metric['activityType'] === 'checkPrometheus').reduce((n, s) => n + s.value, 0)).toBe(3);
    // No upgrade runs now: the phase gauge went back to 0 everywhere.
    await eventually(`sum(istio_canary_upgrades{${W}})`, (v) => v === 0);

    // Every panel's query returns data, with the dashboard's variables as Grafana fills them.
    const values = { datasource: 'lab', job: WORKER_METRICS_JOB, cluster: CLUSTER, __rate_interval: '5m', __interval: '15s', __range: '1h' };
    const empty: string[] = [];
    for (const q of panelQueries(loadDashboard())) {
      const expr = substituteVariables(q.expr, values);
      if ((await query(expr)).length === 0) empty.push(`${q.panel} [${q.refId}]: ${expr}`);
    }
    expect(empty).toEqual([]);

    // The alert rules' expressions, evaluated by the lab's Prometheus, see the rollback and the failed run.
    const rules = (parse(readFileSync(join(REPO_ROOT, 'deploy', 'monitoring', 'alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    const rolledBack = await query(rules.find((r) => r.alert === 'IstioCanaryRolledBack')!.expr);
    expect(rolledBack.map((s) => `${s.metric['cluster']} ${s.metric['reason']}`)).toEqual([`${CLUSTER} gate`]);
    expect((await query(rules.find((r) => r.alert === 'IstioCanaryUpgradeFailed')!.expr)).map((s) => s.metric['cluster'])).toEqual([CLUSTER]);
    expect(await query(rules.find((r) => r.alert === 'IstioCanaryWorkerDown')!.expr)).toEqual([]);
  }, TEST_TIMEOUT);
});
