// Fault injection for the lab-tier fault tests (test/lab/faults-*.test.ts):
// the lab's Kubernetes control-plane components stopped and started again with
// the command lines kwokctl recorded for them, the lab's Prometheus stopped and
// started, and a follower that reads where a run is (from Temporal's own
// description of the workflow, which needs no worker) so a test can break
// something each time the run reaches a new point.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CLUSTER_NAME } from '../../lab/cluster.js';
import { labInfo, labPorts } from '../../lab/lab.js';
import { labPaths, tool } from '../../lab/paths.js';
import { isAlive, waitFor } from '../../lab/processes.js';
import { stopLabWorker } from '../../lab/worker.js';
import { PROMETHEUS_BINARY, prometheusStatus, startPrometheus, stopPrometheus } from '../../lab/prometheus.js';
import { upgradeWorkflowId, type UpgradeStatus } from '../../workflows/messages.js';
import { statusQuery } from '../../workflows/messages.js';
import { PhaseAttr } from '../../workflows/search-attributes.js';
import { afterAll, beforeAll, expect } from '@jest/globals';
import type { DemoPlanOptions } from '../../lab/demo-plan.js';
import type { LabInfo } from '../../lab/lab.js';
import { ensureTestLab, stopTestLab, useTestLab } from './lab.js';
import {
  CLUSTER,
  fleetNamespaces,
  leaveLabAsFound,
  meshSnapshot,
  restartHistory,
  statusOf,
  waitForSettledMesh,
  workloadsIn,
  writeTestPlan,
  type MeshSnapshot,
  type RestartHistory,
} from './e2e.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the Kubernetes control plane, one component at a time ----

interface Component {
  name: string;
  binary: string;
  args: string[];
  workDir: string;
}

function clusterDir(): string {
  return join(labPaths().kwokWorkdir, 'clusters', CLUSTER_NAME);
}

/** The components as kwokctl recorded them (binary, arguments, working directory) in its kwok.yaml. */
function components(): Component[] {
  const file = join(clusterDir(), 'kwok.yaml');
  if (!existsSync(file)) throw new Error(`${file} is missing: the test lab's cluster is not up (npx tsx test/support/lab-cli.ts up)`);
  // Several documents; the one with `components` is the cluster's.
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as { components?: Array<Partial<Component>> } | null);
  const list = docs.find((d) => Array.isArray(d?.components))?.components ?? [];
  return list.map((c) => {
    if (!c.name || !c.binary || !Array.isArray(c.args)) throw new Error(`${file}: a component without name, binary or args`);
    return { name: c.name, binary: c.binary, args: c.args.map(String), workDir: c.workDir ?? clusterDir() };
  });
}

function componentPid(name: string): number | undefined {
  const file = join(clusterDir(), 'pids', `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** SIGKILL: the API server goes away at once, the way a crashed control-plane node does. Returns its pid. */
export async function stopKubeApiServer(): Promise<number> {
  const pid = componentPid('kube-apiserver');
  if (!pid) throw new Error('the lab has no running kube-apiserver (pid file under the kwok workdir)');
  process.kill(pid, 'SIGKILL');
  await waitFor('kube-apiserver to exit', async () => (isAlive(pid) ? undefined : true), 10_000);
  return pid;
}

/**
 * Starts every control-plane component that is not running, with the command
 * line kwokctl recorded, in kwokctl's order (etcd, then the API server, then
 * its clients), and waits until the API server is ready. The controller
 * manager and scheduler exit when they lose their leader lease during an
 * outage; a kubelet would restart them, here this does. `kwokctl start cluster`
 * cannot: it waits for the API server without starting it. Returns the names started.
 */
export async function startStoppedControlPlane(): Promise<string[]> {
  const started: string[] = [];
  for (const c of components()) {
    if (componentPid(c.name)) continue;
    if (c.name === 'kube-apiserver') await startApiServer(c);
    else startComponent(c);
    started.push(c.name);
  }
  return started;
}

/** Components this process started again (they are not kwokctl's children). */
const restartedPids = new Set<number>();

function startComponent(c: Component): number {
  const out = openSync(join(clusterDir(), 'logs', `${c.name}.log`), 'a');
  const child = spawn(c.binary, c.args, { cwd: c.workDir, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  if (!child.pid) throw new Error(`could not start ${c.name} (${c.binary})`);
  child.unref();
  writeFileSync(join(clusterDir(), 'pids', `${c.name}.pid`), `${child.pid}\n`);
  restartedPids.add(child.pid);
  return child.pid;
}

/**
 * Kills every component this process started again and waits until each is
 * gone. kwokctl does not know them: `kwokctl delete cluster` was seen to leave
 * such an API server running, holding the lab's port while the next lab came up
 * (whose own API server then could not bind, and the old one answered instead).
 */
async function killRestartedComponents(): Promise<number[]> {
  const killed: number[] = [];
  for (const pid of restartedPids) {
    if (isAlive(pid)) {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    }
  }
  for (const pid of killed) await waitFor(`restarted control-plane process ${pid} to exit`, async () => (isAlive(pid) ? undefined : true), 10_000);
  restartedPids.clear();
  return killed;
}

/**
 * Starts the API server and waits until it is ready. While it was down, its
 * fixed port was free, and another lab's kwokctl on this machine may have
 * taken it for a moment ("bind: address already in use"): an API server that
 * exits at once is started again, for up to two minutes.
 */
async function startApiServer(c: Component, timeoutMs = 120_000): Promise<void> {
  const { kubeconfig } = labInfo();
  let pid = startComponent(c);
  await waitFor(
    'the restarted kube-apiserver to be ready',
    async () => {
      if (!isAlive(pid)) {
        await sleep(2_000);
        pid = startComponent(c);
        return undefined;
      }
      const r = await execa(tool('kubectl'), ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'], { reject: false, timeout: 10_000 });
      return r.exitCode === 0 ? true : undefined;
    },
    timeoutMs,
    join(clusterDir(), 'logs', 'kube-apiserver.log'),
  );
}

/** Components whose leader lease outlives an outage stay; this lists the ones that died with it. */
export function stoppedComponents(): string[] {
  return components().filter((c) => !componentPid(c.name)).map((c) => c.name);
}

// ---- the lab's Prometheus ----

export async function stopLabPrometheus(): Promise<void> {
  if (!(await stopPrometheus({ stateDir: labPaths().prometheus }))) throw new Error('the lab has no running Prometheus');
}

/** Starts it again on the same data directory, port and static target. */
export async function startLabPrometheus(): Promise<void> {
  if (!existsSync(PROMETHEUS_BINARY)) throw new Error(`${PROMETHEUS_BINARY} is missing: apt-get install prometheus (or npm run tools)`);
  const ports = labPorts();
  await startPrometheus({ stateDir: labPaths().prometheus, port: ports.prometheus, targets: [`127.0.0.1:${ports.traffic}`] });
  if (!(await prometheusStatus({ stateDir: labPaths().prometheus })).running) throw new Error('Prometheus did not start again');
}

// ---- where a run is, read from Temporal (no worker needed) ----

let connection: Connection | undefined;

/** A Temporal client on the test lab's server; reconnects after the server was restarted. */
export async function temporalClient(): Promise<Client> {
  connection ??= await Connection.connect({ address: labInfo().temporalAddress });
  return new Client({ connection });
}

export async function closeTemporalClient(): Promise<void> {
  await connection?.close().catch(() => undefined);
  connection = undefined;
}

export async function upgradeHandle(cluster = CLUSTER): Promise<WorkflowHandle> {
  return (await temporalClient()).workflow.getHandle(upgradeWorkflowId(cluster));
}

export interface RunPosition {
  /** Workflow execution status: RUNNING, COMPLETED, ... */
  execution: string;
  /** The IstioCanaryPhase search attribute. */
  phase: string;
  /** Types of the activities scheduled or running now. */
  activities: string[];
  /** Attempt numbers of those activities (a retry shows as 2 or more). */
  attempts: number[];
  /** Last failure of a pending activity, if it failed before. */
  lastFailure?: string;
}

/** Where the run is, from DescribeWorkflowExecution: answered by the server even while no worker runs. */
export async function runPosition(cluster = CLUSTER): Promise<RunPosition> {
  const handle = await upgradeHandle(cluster);
  const d = await handle.describe();
  const phaseValues = d.typedSearchAttributes.get(PhaseAttr);
  // Each namespace moves in its own child workflow: what the run is doing is in them too.
  const children = await Promise.all(
    (d.raw.pendingChildren ?? []).map((c) =>
      handle.client
        .getHandle(c.workflowId ?? '', c.runId ?? undefined)
        .describe()
        .then((child) => child.raw.pendingActivities ?? [])
        .catch(() => []),
    ),
  );
  const pending = [...(d.raw.pendingActivities ?? []), ...children.flat()];
  const failure = pending.find((a) => a.lastFailure?.message)?.lastFailure?.message ?? undefined;
  return {
    execution: d.status.name,
    phase: phaseValues ?? 'unknown',
    activities: pending.map((a) => a.activityType?.name ?? '?').sort(),
    attempts: pending.map((a) => a.attempt ?? 1),
    ...(failure ? { lastFailure: failure } : {}),
  };
}

/** The status query; needs a worker, so it can fail (undefined) while none runs. */
export async function queryStatus(cluster = CLUSTER): Promise<UpgradeStatus | undefined> {
  try {
    const handle = await upgradeHandle(cluster);
    return await Promise.race([handle.query(statusQuery), sleep(10_000).then(() => undefined)]);
  } catch {
    return undefined;
  }
}

/**
 * Names a point of a run: its phase and what it does there. Pure, so the names
 * in the reliability table mean the same in every test.
 */
export function pointOf(position: Pick<RunPosition, 'phase' | 'activities'>, step = ''): string {
  const { phase, activities } = position;
  const act = activities[0];
  const doing: Record<string, string> = {
    setNamespaceInjection: 'relabel',
    restartWorkloads: 'restart',
    waitForRollout: 'rollout-wait',
    checkProxyRevision: 'verify-proxies',
    measureGate: 'soak',
    istioctlInstall: 'istioctl-install',
    waitForIstiod: 'istiod-wait',
    istioctlTagSet: 'tag-move',
    istioctlUninstall: 'uninstall',
    countProxiesOnRevision: 'count-proxies',
    listGateways: 'list-gateways',
    setGatewayRevision: 'gateway-move',
    backupIstioResources: 'export',
  };
  if (phase === 'preflight' || phase === 'awaiting-approval') return phase;
  if (act) return `${phase}/${doing[act] ?? act}`;
  // No activity: a timer or a wait for an operator.
  if (/^soaking|gate/.test(step)) return `${phase}/soak`;
  if (/before removing revision/.test(step)) return `${phase}/uninstall-grace`;
  return `${phase}/waiting`;
}

export interface Hit {
  point: string;
  /** What the test did there (e.g. "killed worker 1234"). */
  action: string;
}

/**
 * Follows a run until it closes, calling `act` the first time it reaches each
 * point that `wanted` accepts. `act` runs while the follower waits, so the run
 * is broken and repaired before the next point is looked for. Returns the points hit.
 */
export async function followRun(
  wanted: (point: string) => boolean,
  act: (point: string, position: RunPosition) => Promise<string>,
  options: { cluster?: string; timeoutMs?: number; pollMs?: number } = {},
): Promise<Hit[]> {
  const hits: Hit[] = [];
  const seen = new Set<string>();
  const deadline = Date.now() + (options.timeoutMs ?? 900_000);
  for (;;) {
    if (Date.now() > deadline) throw new Error(`the run did not end in time; points hit: ${hits.map((h) => h.point).join(', ')}`);
    let position: RunPosition;
    try {
      position = await runPosition(options.cluster);
    } catch {
      await sleep(500);
      continue;
    }
    if (position.execution !== 'RUNNING') return hits;
    // Timers and waits have no activity: the status query's step tells them apart.
    const step = position.activities.length ? '' : ((await queryStatus(options.cluster))?.step ?? '');
    const point = pointOf(position, step);
    if (!seen.has(point) && wanted(point)) {
      seen.add(point);
      const action = await act(point, position);
      hits.push({ point, action });
      process.stderr.write(`[faults] ${point}: ${action}\n`);
    }
    await sleep(options.pollMs ?? 250);
  }
}

/** Polls `runPosition` until `predicate` holds; fails naming where the run was. */
export async function untilPosition(what: string, predicate: (p: RunPosition) => boolean, timeoutMs = 300_000, cluster?: string): Promise<RunPosition> {
  const deadline = Date.now() + timeoutMs;
  let last: RunPosition | undefined;
  while (Date.now() < deadline) {
    last = await runPosition(cluster).catch(() => last);
    if (last && predicate(last)) return last;
    if (last && last.execution !== 'RUNNING') throw new Error(`the run ended (${last.execution}, phase ${last.phase}) before ${what}`);
    await sleep(250);
  }
  throw new Error(`no ${what} within ${timeoutMs / 1000}s (last: ${JSON.stringify(last)})`);
}

/** Activity attempts of one type in the run's history (each ActivityTaskStarted is one attempt). */
export async function activityAttempts(activityType: string, cluster = CLUSTER): Promise<{ attempts: number; failures: string[] }> {
  const handle = await upgradeHandle(cluster);
  let attempts = 0;
  const failures: string[] = [];
  for (const history of await runHistories(handle)) {
    const counted = attemptsIn(history.events ?? [], activityType);
    attempts += counted.attempts;
    failures.push(...counted.failures);
  }
  return { attempts, failures };
}

type HistoryEvents = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>;

/** The run's history and those of the child workflows it started (one per namespace move). */
async function runHistories(handle: WorkflowHandle): Promise<Array<{ events?: HistoryEvents | null }>> {
  const parent = await handle.fetchHistory();
  const children = (parent.events ?? []).flatMap((e) => {
    const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    return child?.workflowId ? [handle.client.getHandle(child.workflowId, child.runId ?? undefined).fetchHistory()] : [];
  });
  return [parent, ...(await Promise.all(children))];
}

function attemptsIn(events: HistoryEvents, activityType: string): { attempts: number; failures: string[] } {
  const scheduled = new Set<string>();
  let attempts = 0;
  const failures: string[] = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === activityType) scheduled.add(String(e.eventId));
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.has(String(started.scheduledEventId))) {
      // Retries are not events: the one Started event carries the attempt number and the previous failure.
      attempts += Number(started.attempt ?? 1);
      if (started.lastFailure?.message) failures.push(started.lastFailure.message);
    }
    const failed = e.activityTaskFailedEventAttributes;
    if (failed && scheduled.has(String(failed.scheduledEventId))) failures.push(failed.failure?.message ?? '');
  }
  return { attempts, failures };
}

// ---- plans and verdicts the fault tests share ----

/**
 * The lab's test plan (10 s soaks, 2 s checks) with some lines changed, e.g.
 * { 'onInconclusive: pause': 'onInconclusive: rollback' }; refuses a change
 * whose line is not in the plan, so a renamed field cannot pass unnoticed.
 */
export function writeFaultPlan(options: Partial<DemoPlanOptions>, replace: Record<string, string> = {}, info: LabInfo = labInfo()): string {
  const file = writeTestPlan(options, info);
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of Object.entries(replace)) {
    if (!text.includes(from)) throw new Error(`the test plan has no line ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  writeFileSync(file, text);
  return file;
}

/**
 * The run completed, every fleet proxy is on the new revision, only the new
 * control plane is left, and each Deployment was restarted exactly once (one
 * restartedAt token, one new ReplicaSet; one token per namespace).
 */
export async function expectUpgradedOnce(before: MeshSnapshot, newVersion: string, newRevision: string): Promise<void> {
  const { status } = await statusOf();
  expect(status.phase).toBe('completed');
  for (const ns of status.namespaces) expect([ns.name, ns.state]).toEqual([ns.name, 'migrated']);

  await waitForSettledMesh();
  const after = await meshSnapshot();
  for (const [key, w] of workloadsIn(after, [...fleetNamespaces(before), 'istio-system'])) {
    expect([key, w.proxies]).toEqual([key, [`${newVersion}@${newRevision}`]]);
  }
  expect(after.revisions).toEqual([`${newRevision} ${newVersion}`]);

  const history = await restartHistory();
  const tokensPerNamespace = new Map<string, Set<string>>();
  for (const [key, h] of Object.entries(history)) {
    expect([key, h.replicaSets, h.restartTokens.length, h.generation]).toEqual([key, 2, 1, 2]);
    const ns = key.split('/')[0]!;
    tokensPerNamespace.set(ns, new Set([...(tokensPerNamespace.get(ns) ?? []), ...h.restartTokens]));
  }
  for (const [ns, tokens] of tokensPerNamespace) expect([ns, tokens.size]).toEqual([ns, 1]);
}

/**
 * The run rolled back and the mesh is exactly as before; the namespaces in
 * `touched` were restarted twice (migration, rollback: two tokens), every
 * other Deployment never.
 */
export async function expectRolledBackOnce(before: MeshSnapshot, beforeHistory: Record<string, RestartHistory>, touched: string[]): Promise<void> {
  const { status } = await statusOf();
  expect(status.phase).toBe('rolled-back');
  expect(status.result?.rollbackErrors).toEqual([]);
  await waitForSettledMesh();
  expect(await meshSnapshot()).toEqual(before);
  const history = await restartHistory();
  for (const [key, h] of Object.entries(history)) {
    const was = beforeHistory[key]!;
    const restarts = touched.includes(key.split('/')[0]!) ? 2 : 0;
    expect([key, h.restartTokens.length - was.restartTokens.length]).toEqual([key, restarts]);
  }
}

// ---- what every fault test file shares ----

/**
 * Registers a fault test file's hooks: the test lab before, and after it the
 * file's own cleanup, the Temporal client closed and the lab left as found.
 * Set `pristine` to the snapshot of a fresh lab.
 */
export function faultTestLab(cleanup?: () => Promise<void>): { pristine?: MeshSnapshot } {
  const lab: { pristine?: MeshSnapshot } = {};
  beforeAll(() => useTestLab());
  afterAll(async () => {
    await cleanup?.();
    await closeTemporalClient();
    if (restartedPids.size === 0) return leaveLabAsFound(lab.pristine);
    // The control plane is no longer kwokctl's own: a new lab, with this
    // file's restarted processes gone before it binds their ports.
    await stopLabWorker();
    await stopTestLab();
    const killed = await killRestartedComponents();
    if (killed.length) process.stderr.write(`[faults] killed restarted control-plane processes ${killed.join(', ')} before bringing up a new lab\n`);
    await ensureTestLab();
  }, 30 * 60_000);
  return lab;
}

/** Waits until the run is no longer running. */
export async function untilRunEnds(timeoutMs = 900_000, cluster?: string): Promise<void> {
  await untilPosition('the end of the run', () => false, timeoutMs, cluster).catch((err: Error) => {
    if (!/the run ended/.test(err.message)) throw err;
  });
}

/** Waits until the run waits for approval and its worker says so (the approve update's validator asks the same). */
export async function untilApprovalWait(timeoutMs = 600_000): Promise<void> {
  await untilPosition('the approval gate', (p) => p.phase === 'awaiting-approval', timeoutMs);
  for (let i = 0; (await queryStatus())?.waitingFor?.kind !== 'approval'; i++) {
    if (i > 60) throw new Error('the run is in phase awaiting-approval but its status never showed the wait');
    await sleep(1_000);
  }
}
