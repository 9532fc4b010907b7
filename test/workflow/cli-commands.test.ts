// The istio-canary CLI as an operator runs it: a child process talking to a
// real Temporal dev server, whose upgrades run on a worker with activity doubles.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { upgradeWorkflowId, type UpgradeStatus } from '../../workflows/messages.js';
import { ClusterAttr, PhaseAttr, TargetRevisionAttr } from '../../workflows/search-attributes.js';
import { newMesh, registerMesh } from '../support/activity-doubles.js';
import { cliProcessEnv, TSX, writeLoopbackKubeconfig } from '../support/cli-process.js';
import { createHarness, waitForStatus, type Harness } from '../support/workflow-harness.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'istio-canary-cli-'));
// For the worker command: a loopback cluster that is never called in these tests.
const kubeconfig = writeLoopbackKubeconfig(workDir, 'https://127.0.0.1:6443');

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
}, 120_000);
afterAll(async () => {
  await harness?.teardown();
});

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tsx cli/main.ts ...args` against the test server (or another address). */
function cli(args: string[], address = harness.env.address): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, address);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `tsx cli/main.ts ...args` as an operator would, with only the environment given here. */
function spawnCli(args: string[], address: string) {
  return spawn(TSX, ['cli/main.ts', ...args], { cwd: repoRoot, env: { ...cliProcessEnv(workDir, address, kubeconfig), USER: 'ci-operator' } });
}

let planCounter = 0;

/** A plan file for a fresh cluster (so a fresh workflow id), with test-sized durations. */
function writePlan(): { file: string; cluster: string; workflowId: string } {
  planCounter++;
  const cluster = `cli-${process.pid}-${planCounter}-${Date.now().toString(36)}`;
  const file = join(workDir, `plan-${planCounter}.yaml`);
  writeFileSync(
    file,
    `apiVersion: istio-canary/v1
kind: UpgradePlan
metadata:
  name: cli-test
spec:
  cluster: ${cluster}
  target:
    version: 1.30.3
    istioctl: /opt/istio-1.30.3/bin/istioctl
  canary:
    namespaces: [canary-test]
    soak: 600ms
  waves:
    - name: low-risk
      namespaces: [catalog, search]
      maxParallel: 2
      soak: 300ms
  gateways:
    enabled: false
  gates:
    interval: 200ms
    window: 1m
    metrics:
      - { name: error-rate, type: errorRate, max: 0.01, minRequests: 100 }
  approval:
    beforePromotion: required
    timeout: 10m
  finalize:
    uninstallOldAfter: 100ms
  prometheus:
    url: http://127.0.0.1:9090
`,
  );
  const workflowId = upgradeWorkflowId(cluster);
  registerMesh(workflowId, newMesh());
  return { file, cluster, workflowId };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function awaitingApproval(workflowId: string): Promise<UpgradeStatus> {
  return waitForStatus(harness.env.client.workflow.getHandle(workflowId), (s) => s.phase === 'awaiting-approval', 'the approval wait');
}

describe('without a server', () => {
  it('plan exits 0 for a valid plan and 2 for an invalid one', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const valid = await cli(['plan', '-f', writePlan().file], address);
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain('canary upgrade of cli-');

    const bad = join(workDir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: istio-canary/v1\nkind: UpgradePlan\nmetadata: {name: x}\nspec:\n  cluster: Bad_Name\n');
    const invalid = await cli(['plan', '-f', bad], address);
    expect(invalid.code).toBe(2);
    expect(invalid.stdout).toContain('spec.cluster: must be a DNS-1123 label');
  });

  it('reports an unreachable server in one line, without a stack trace, and exits 1', async () => {
    const port = await closedPort();
    const run = await cli(['status', 'prod-eu'], `127.0.0.1:${port}`);
    expect(run).toEqual({ code: 1, stdout: '', stderr: `cannot reach Temporal at 127.0.0.1:${port} (namespace default): connection refused\n` });
  });
});

describe('against the dev server', () => {
  it('says an unknown upgrade does not exist and exits 2', async () => {
    const run = await cli(['status', '--id', 'istio-canary-foo']);
    expect(run).toEqual({ code: 2, stdout: '', stderr: 'no upgrade istio-canary-foo found in namespace default\n' });
  });

  it('starts an upgrade with search attributes and UI summary, refuses a second start for the cluster, and approves it to completion', async () => {
    const { file, cluster, workflowId } = writePlan();

    const started = await cli(['start', '-f', file, '-o', 'json']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const { runId } = JSON.parse(started.stdout) as { runId: string };
    expect(JSON.parse(started.stdout)).toMatchObject({ workflowId, cluster, namespace: 'default', workerPolling: true });

    const description = await harness.env.client.workflow.getHandle(workflowId).describe();
    expect(description.typedSearchAttributes.get(ClusterAttr)).toBe(cluster);
    expect(description.typedSearchAttributes.get(TargetRevisionAttr)).toBe('1-30-3');
    expect(description.typedSearchAttributes.get(PhaseAttr)).toBeDefined();
    expect(await description.staticSummary()).toBe(`Istio 1.30.3 canary upgrade of ${cluster} (rev 1-30-3)`);
    expect(await description.staticDetails()).toContain('**Started by:** ci-operator');

    const again = await cli(['start', '-f', file]);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(`already running as ${workflowId} (run ${runId})`);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);

    // Nothing is waiting for approval yet or anymore: the validator refuses resume in one line.
    const resume = await cli(['resume', cluster]);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(/^refused: nothing to resume: the upgrade is not paused \(phase [a-z-]+\)\n$/);

    await awaitingApproval(workflowId);
    const status = await cli(['status', cluster, '-o', 'json']);
    expect(status.code).toBe(0);
    const view = JSON.parse(status.stdout) as { workflowId: string; executionStatus: string; status: UpgradeStatus };
    expect(view).toMatchObject({ workflowId, executionStatus: 'RUNNING', status: { cluster, phase: 'awaiting-approval', targetRevision: '1-30-3' } });
    expect(view.status.waitingFor).toMatchObject({ kind: 'approval' });
    expect(view.status.gateChecks.length).toBeGreaterThan(0);

    const human = await cli(['status', cluster]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Waiting for  approval of`);
    expect(human.stdout).toMatch(/canary-test\s+canary\s+migrated/);

    const listed = await cli(['list', '-o', 'json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { upgrades: Array<{ workflowId: string; cluster: string }> }).upgrades).toContainEqual(
      expect.objectContaining({ workflowId, cluster, targetRevision: '1-30-3', executionStatus: 'RUNNING' }),
    );
    // With no cluster named, the only running upgrade is the one meant.
    const implicit = await cli(['status', '-o', 'json']);
    expect(implicit.code).toBe(0);
    expect(JSON.parse(implicit.stdout)).toMatchObject({ workflowId });

    const table = await cli(['list']);
    expect(table.stdout).toMatch(new RegExp(`${workflowId}\\s+${cluster}\\s+`));

    const approved = await cli(['approve', cluster, '--by', 'alice', '--reason', 'canary clean']);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(workflowId);

    const watched = await cli(['watch', cluster, '--interval', '200ms']);
    expect(watched.code).toBe(0);
    // 'Result:' when watch starts after the end (the full status), 'result:' as a change line.
    expect(watched.stdout).toMatch(/result: completed/i);

    const finished = await cli(['list', '--all', '--cluster', cluster, '-o', 'json']);
    expect((JSON.parse(finished.stdout) as { upgrades: Array<{ executionStatus: string }> }).upgrades).toEqual([
      expect.objectContaining({ executionStatus: 'COMPLETED' }),
    ]);
    const late = await cli(['approve', cluster]);
    expect(late).toMatchObject({ code: 2, stderr: `refused: ${workflowId} has already finished (completed)\n` });
  }, 90_000);

  it('rejects promotion: the upgrade rolls back and watch exits 2', async () => {
    const { file, cluster, workflowId } = writePlan();
    expect((await cli(['start', '-f', file])).code).toBe(0);
    await awaitingApproval(workflowId);

    const rejected = await cli(['reject', cluster, '--reason', 'p99 creeping up', '-o', 'json']);
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ workflowId, update: 'reject', accepted: true });

    const watched = await cli(['watch', '--id', workflowId, '--interval', '200ms']);
    expect(watched.code).toBe(2);
    expect(watched.stdout).toContain('rolled-back');
  }, 90_000);
});

describe('worker command', () => {
  it('reports an unreachable server in one line and exits 1', async () => {
    const port = await closedPort();
    expect(await cli(['worker'], `127.0.0.1:${port}`)).toMatchObject({
      code: 1,
      stderr: `cannot reach Temporal at 127.0.0.1:${port} (namespace default): connection refused\n`,
    });
  });

  // Last in the file: no upgrade is running any more, so this second worker on the
  // task queue (with the real activities) has nothing to pick up.
  it('says when it is ready and stops cleanly on SIGTERM', async () => {
    const child = spawnCli(['worker'], harness.env.address);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('worker ready')) resolve();
      });
      child.on('close', () => reject(new Error(`worker exited before it was ready: ${stdout}${stderr}`)));
    });
    expect(stdout).toContain(`worker ready: polling task queue istio-canary at ${harness.env.address} (namespace default)`);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('worker stopped');
  }, 60_000);
});
