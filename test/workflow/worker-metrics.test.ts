// `istio-canary worker --metrics-address` as a process against a real Temporal
// dev server: it serves the SDK's and the orchestrator's metrics on /metrics,
// counts running upgrades by phase from visibility and failed activity
// attempts (its real activities cannot reach the cluster here), stops cleanly
// on SIGTERM, and refuses a port that is taken.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../lab/paths.js';
import { freePort } from '../../lab/ports.js';
import { waitFor } from '../../lab/processes.js';
import { TASK_QUEUE, upgradeWorkflowId, WORKFLOW_TYPE } from '../../workflows/messages.js';
import { ClusterAttr, PhaseAttr } from '../../workflows/search-attributes.js';
import { cliProcessEnv, TSX, writeLoopbackKubeconfig } from '../support/cli-process.js';
import { startTemporal } from '../support/temporal.js';
import { testPlan } from '../support/workflow-harness.js';

const workDir = mkdtempSync(join(tmpdir(), 'istio-canary-metrics-'));

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startTemporal();
}, 120_000);
afterAll(async () => {
  await env?.teardown();
});

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `tsx cli/main.ts worker ...args` with a kubeconfig whose API server is a closed loopback port. */
async function spawnWorker(args: string[]): Promise<WorkerProcess> {
  const kubeconfig = writeLoopbackKubeconfig(workDir, `https://127.0.0.1:${await freePort()}`);
  const child = spawn(TSX, ['cli/main.ts', 'worker', ...args], { cwd: REPO_ROOT, env: cliProcessEnv(workDir, env.address, kubeconfig) });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => output, exited };
}

/** The value of the first sample of `name` whose labels include all of `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return res.text();
}

describe('worker --metrics-address', () => {
  it('serves SDK and orchestrator metrics, counts upgrades by phase and failed activities, and stops cleanly', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    const worker = await spawnWorker(['--metrics-address', `127.0.0.1:${port}`]);
    try {
      await waitFor('the worker to be ready', async () => {
        if (worker.child.exitCode !== null) throw new Error(`the worker exited: ${worker.output()}`);
        return worker.output().includes('worker ready') ? true : undefined;
      }, 150_000);
      expect(worker.output()).toContain(`; metrics on http://127.0.0.1:${port}/metrics`);
      expect(sample(await scrape(url), 'temporal_worker_task_slots_available', { task_queue: TASK_QUEUE, worker_type: 'WorkflowWorker' })).toBeGreaterThan(0);

      // An upgrade whose preflight cannot reach the cluster: it stays in preflight, its activity retried.
      const plan = testPlan();
      const handle = await env.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: TASK_QUEUE,
        workflowId: upgradeWorkflowId(plan.cluster),
        args: [{ plan, startedBy: 'test' }],
        typedSearchAttributes: [
          { key: ClusterAttr, value: plan.cluster },
          { key: PhaseAttr, value: 'preflight' },
        ],
      });
      const seen = await waitFor('the upgrade and its failing checkCluster in /metrics', async () => {
        const text = await scrape(url);
        const running = sample(text, 'istio_canary_upgrades', { cluster: plan.cluster, phase: 'preflight' });
        const failures = sample(text, 'istio_canary_activity_failures_total', { activityType: 'checkCluster', taskQueue: TASK_QUEUE });
        return running === 1 && failures !== undefined && failures >= 2 ? { running, failures } : undefined;
      }, 90_000);
      expect(seen.running).toBe(1);

      // Once it no longer runs, its phase goes back to 0 on the next refresh.
      await handle.terminate('test over');
      await waitFor('the phase gauge back at 0', async () => {
        return sample(await scrape(url), 'istio_canary_upgrades', { cluster: plan.cluster, phase: 'preflight' }) === 0 ? true : undefined;
      }, 60_000);

      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toContain('worker stopped');
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    }
  }, 300_000);

  it('refuses a port another process holds: exit 2 and one line', async () => {
    const [host, port] = env.address.split(':'); // the Temporal server's own port is surely taken
    const worker = await spawnWorker(['--metrics-address', `${host === 'localhost' ? '127.0.0.1' : host}:${port}`]);
    expect(await worker.exited).toBe(2);
    expect(worker.output()).toMatch(/^cannot serve metrics on 127\.0\.0\.1:\d+: .*Address already in use/);
  }, 120_000);
});
