// One real Temporal dev server and one worker per test file, running the real
// workflow code with activity doubles. Each test gets its own cluster name, so
// its own workflow id and its own fake mesh.
import { afterAll, beforeAll } from '@jest/globals';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleUpgradeWorkflows } from '../../worker/bundle.js';
import type { ResolvedPlan } from '../../plan/types.js';
import type { UpgradeActivities } from '../../activities/contract.js';
import {
  TASK_QUEUE,
  statusQuery,
  upgradeWorkflowId,
  WORKFLOW_TYPE,
  type UpgradeResult,
  type UpgradeStatus,
} from '../../workflows/messages.js';
import { ClusterAttr, PhaseAttr, TargetRevisionAttr } from '../../workflows/search-attributes.js';
import { createActivityDoubles, newMesh, registerMesh, type FakeMesh } from './activity-doubles.js';
import { startTemporal } from './temporal.js';

export interface Harness {
  env: TestWorkflowEnvironment;
  worker: Worker;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  teardown(): Promise<void>;
}

/** `real`: real activities that replace their doubles (e.g. the notifier against a local receiver). */
export async function createHarness(taskQueue = TASK_QUEUE, real: Partial<UpgradeActivities> = {}): Promise<Harness> {
  const env = await startTemporal();
  const bundle: WorkflowBundle = await bundleUpgradeWorkflows();
  let running: Promise<void> | undefined;
  const harness: Harness = {
    env,
    worker: undefined as unknown as Worker,
    async startWorker() {
      harness.worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        activities: { ...createActivityDoubles(), ...real },
        // Keep shutdowns in tests quick; activities here finish in milliseconds.
        shutdownGraceTime: '2s',
      });
      running = harness.worker.run();
    },
    async stopWorker() {
      harness.worker.shutdown();
      await running;
    },
    async teardown() {
      if (harness.worker.getState() === 'RUNNING') await harness.stopWorker();
      await env.teardown();
    },
  };
  await harness.startWorker();
  return harness;
}

/** One harness for the whole test file, created before its first test and torn down after its last. */
export function harnessForFile(): () => Harness {
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await createHarness();
  }, 120_000);
  afterAll(async () => {
    await harness?.teardown();
  });
  return () => {
    if (!harness) throw new Error('the workflow harness is not up (did its beforeAll fail?)');
    return harness;
  };
}

let clusterCounter = 0;

/** A resolved plan with test-sized durations; override anything per test. */
export function testPlan(overrides: Partial<ResolvedPlan> = {}): ResolvedPlan {
  clusterCounter++;
  return {
    name: 'test-upgrade',
    cluster: `test-${process.pid}-${clusterCounter}-${Date.now().toString(36)}`,
    target: { version: '1.30.3', revision: '1-30-3', istioctl: '/opt/istio-1.30.3/bin/istioctl', profile: 'minimal' },
    source: {},
    canary: { namespaces: ['canary-test'], soakMs: 600 },
    waves: [
      { name: 'low-risk', namespaces: ['catalog', 'search'], maxParallel: 2, soakMs: 400, approval: 'none' },
      { name: 'rest', selector: 'team in (payments, checkout)', maxParallel: 5, soakMs: 400, approval: 'none' },
    ],
    gateways: { enabled: true, namespace: 'istio-system', selector: 'istio=ingressgateway', soakMs: 200 },
    gates: {
      intervalMs: 200,
      windowMs: 60_000,
      failureLimit: 2,
      inconclusiveLimit: 2,
      onInconclusive: 'pause',
      metrics: [
        { name: 'error-rate', type: 'errorRate', max: 0.01, minRequests: 100 },
        { name: 'p99-latency', type: 'latencyP99', maxMs: 500, minRequests: 100 },
      ],
    },
    approval: { beforePromotion: 'none', timeoutMs: 60_000, onTimeout: 'rollback', approvers: [] },
    rollout: { kinds: ['Deployment'], progressDeadlineMs: 60_000 },
    finalize: { moveTags: ['default'], uninstallOldAfterMs: 100, uninstallOld: true },
    rollback: { uninstallCanary: true },
    prometheus: { url: 'http://127.0.0.1:9090' },
    ...overrides,
  };
}

export async function startUpgrade(
  harness: Harness,
  plan: ResolvedPlan,
  mesh: FakeMesh = newMesh(),
): Promise<{ handle: WorkflowHandle; mesh: FakeMesh }> {
  const workflowId = upgradeWorkflowId(plan.cluster);
  registerMesh(workflowId, mesh);
  const handle = await harness.env.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: TASK_QUEUE,
    workflowId,
    args: [{ plan, startedBy: 'test' }],
    typedSearchAttributes: [
      { key: ClusterAttr, value: plan.cluster },
      { key: PhaseAttr, value: 'preflight' },
      { key: TargetRevisionAttr, value: plan.target.revision },
    ],
  });
  return { handle, mesh };
}

export async function statusOf(handle: WorkflowHandle): Promise<UpgradeStatus> {
  return handle.query(statusQuery);
}

/** Polls the status query until the predicate holds (or fails after `timeoutMs`). */
export async function waitForStatus(
  handle: WorkflowHandle,
  predicate: (s: UpgradeStatus) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<UpgradeStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: UpgradeStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await statusOf(handle);
      if (predicate(last)) return last;
    } catch {
      // The first workflow task may not have run yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last status: phase ${last?.phase}, step ${last?.step}`);
}

export async function resultOf(handle: WorkflowHandle): Promise<UpgradeResult> {
  return (await handle.result()) as UpgradeResult;
}

/** Names of the activity calls in order, optionally only those touching a namespace. */
export function callNames(mesh: FakeMesh, name?: string): Array<{ name: string; input: any }> {
  return name ? mesh.calls.filter((c) => c.name === name) : mesh.calls;
}

/**
 * With RECORD_HISTORIES=1, saves the run's history as a replay fixture (binary
 * protobuf: jest's module registry breaks the SDK's JSON history conversion).
 * The replay test runs every saved history against the current workflow code, so
 * a change that would break upgrades already in flight fails there first.
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { temporal } = (await import('@temporalio/proto')).default;
  const bytes = temporal.api.history.v1.History.encode(await handle.fetchHistory()).finish();
  const dir = new URL('../fixtures/histories/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await writeFile(new URL(`${name}.binpb`, dir), bytes);
}
