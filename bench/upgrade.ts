// One measured upgrade on the benchmark lab: start it with the CLI, wait for its
// result, and read back what it recorded (status timings, namespace rollouts,
// decisions), its history sizes, and the worker's API requests while it ran.
import { Connection, Client } from '@temporalio/client';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditLogFiles, kubectl } from '../lab/cluster.js';
import { labEnv, type LabInfo } from '../lab/lab.js';
import { REPO_ROOT, type LabPaths } from '../lab/paths.js';
import { parseKubeRateLimit } from '../activities/config.js';
import { WORKER_USER_AGENT } from '../activities/kube-client.js';
import { statusQuery, upgradeWorkflowId, type UpgradeStatus } from '../workflows/messages.js';
import { auditRequests, stageRolloutMs, type RequestStats } from './measure.js';
import { waitForTraffic } from './fault.js';
import { benchPlan, GATE_WINDOW_SECONDS, SOAK_SECONDS, stageBatches, type BenchStages } from './plan.js';

export interface UpgradeRun {
  outcome: string;
  wallMs: number;
  startedAt: number;
  closedAt: number;
  status: UpgradeStatus;
  /** History events of the upgrade run and the largest of its children. */
  events: { parent: number; maxChild: number; children: number };
  kube: RequestStats;
}

export const CLUSTER = 'bench';

export async function runUpgrade(info: LabInfo, paths: LabPaths, stages: BenchStages): Promise<UpgradeRun> {
  await waitForTraffic(info.prometheusUrl, stages.canary[0]!, GATE_WINDOW_SECONDS, 100);
  const file = join(info.root, 'bench-plan.yaml');
  writeFileSync(file, benchPlan(info, stages, CLUSTER));
  const started = await execa(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [join(REPO_ROOT, 'cli', 'main.ts'), 'start', '-f', file, '-o', 'json', '--by', 'bench'], {
    env: { ...process.env, ...labEnv(info) },
    reject: false,
  });
  if (started.exitCode !== 0) throw new Error(`istio-canary start failed: ${started.stderr || started.stdout}`);
  const { runId } = JSON.parse(started.stdout) as { runId: string };

  const connection = await Connection.connect({ address: info.temporalAddress });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const handle = client.workflow.getHandle(upgradeWorkflowId(CLUSTER), runId);
    const result = (await handle.result()) as { outcome: string };
    const described = await handle.describe();
    const startedAt = described.startTime.getTime();
    const closedAt = described.closeTime!.getTime();
    const status = await handle.query(statusQuery);
    const events = { parent: described.historyLength, maxChild: 0, children: 0 };
    for await (const event of (await handle.fetchHistory()).events ?? []) {
      const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      if (!child?.workflowId) continue;
      const d = await client.workflow.getHandle(child.workflowId, child.runId ?? undefined).describe();
      events.children++;
      events.maxChild = Math.max(events.maxChild, d.historyLength);
    }
    // The audit log is written as requests complete; give the last lines a moment.
    await new Promise((r) => setTimeout(r, 2_000));
    const kube = auditRequests(auditLogFiles(paths), startedAt, closedAt, WORKER_USER_AGENT, parseKubeRateLimit(process.env).ratePerSecond);
    return { outcome: result.outcome, wallMs: closedAt - startedAt, startedAt, closedAt, status, events, kube };
  } finally {
    await connection.close();
  }
}

/**
 * install + Σ over the sequential stages (the rollouts of their batches, one
 * after another, as Kubernetes timed each + the stage's soak). The time between
 * one batch's last rollout and the next batch's first restart is overhead.
 */
export async function lowerBoundMs(paths: LabPaths, run: UpgradeRun, stages: BenchStages): Promise<{ lowerBoundMs: number; installMs: number; rolloutsMs: number[] }> {
  const deployments = (JSON.parse(await kubectl(paths, ['get', 'deploy', '-A', '-o', 'json'])) as { items: Parameters<typeof stageRolloutMs>[0] }).items;
  const installMs = run.status.timings.find((t) => t.step === 'install')?.durationMs;
  if (installMs === undefined) throw new Error('the run recorded no install timing');
  const rolloutsMs = stageBatches(stages).map((batches) => batches.reduce((sum, batch) => sum + stageRolloutMs(deployments, batch), 0));
  return { lowerBoundMs: installMs + rolloutsMs.reduce((a, b) => a + b + SOAK_SECONDS * 1000, 0), installMs, rolloutsMs };
}
