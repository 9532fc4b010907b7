// End-to-end helpers: the `istio-canary` CLI as a child process pointed at the
// test lab, a long-running `watch -o json` to follow an upgrade, the lab's
// worker and Temporal server as processes to kill and restart, and snapshots of
// the mesh read from the Kubernetes API to compare before and after.
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoPlan, type DemoPlanOptions } from '../../lab/demo-plan.js';
import { labEnv, labInfo, labPorts, type LabInfo } from '../../lab/lab.js';
import { labPaths, REPO_ROOT, tool } from '../../lab/paths.js';
import { clearFault as clearFaultKnob, setFault as setFaultKnob } from '../../lab/knobs.js';
import { logFile, startDetached, stopProcess, waitFor } from '../../lab/processes.js';
import { isLivePod, podProxyRevision, versionFromImage } from '../../activities/kubernetes-revision.js';
import { RESTARTED_AT } from '../../activities/kubernetes-labels.js';
import type { UpgradeStatus } from '../../workflows/messages.js';
import { startLabWorker, stopLabWorker } from '../../lab/worker.js';
import { afterAll, beforeAll } from '@jest/globals';
import { resetTestLab, useTestLab } from './lab.js';

/** The cluster name of the lab's demo plan, so the workflow id is istio-canary-lab. */
export const CLUSTER = 'lab';

const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(REPO_ROOT, 'cli', 'main.ts');

/** What the CLI, and the worker, run with: this process's environment pointed at the lab. */
export function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...labEnv(labInfo()) };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `istio-canary <args>` as a child process, as an operator would. */
export async function cli(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  const result = await execa(TSX, [CLI, ...args], { env: cliEnv(), reject: false, timeout: timeoutMs, cwd: REPO_ROOT });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** `cli` that must exit 0; a failure shows the command's own words. */
export async function cliOk(args: string[], timeoutMs?: number): Promise<CliResult> {
  const result = await cli(args, timeoutMs);
  if (result.exitCode !== 0) {
    throw new Error(`istio-canary ${args.join(' ')} exited ${result.exitCode}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}

export interface StatusView {
  workflowId: string;
  runId?: string;
  executionStatus?: string;
  status: UpgradeStatus;
}

/** `istio-canary status <cluster> -o json`. */
export async function statusOf(cluster = CLUSTER): Promise<StatusView> {
  const { stdout } = await cliOk(['status', cluster, '-o', 'json']);
  return JSON.parse(stdout) as StatusView;
}

/** Writes the lab's demo plan with short soaks (10 s, checks every 2 s over 10 s) for tests. */
export function writeTestPlan(options: Partial<DemoPlanOptions> = {}, info: LabInfo = labInfo()): string {
  const file = join(info.root, 'e2e-plan.yaml');
  writeFileSync(
    file,
    demoPlan(info, { overlay: info.targetOverlay, soak: '10s', interval: '2s', window: '10s', uninstallOldAfter: '5s', ...options }),
  );
  return file;
}

/**
 * `istio-canary watch <cluster> -o json` running for the whole test: one JSON
 * status per change. Tests wait on it for a phase or a namespace state, and
 * its exit code is the verdict (0 completed, 2 otherwise).
 */
export class Watch {
  readonly views: StatusView[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();

  constructor(cluster = CLUSTER, interval = '1s') {
    this.child = spawn(TSX, [CLI, 'watch', cluster, '-o', 'json', '--interval', interval], { env: cliEnv(), cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        try {
          this.views.push(JSON.parse(line) as StatusView);
        } catch {
          this.stderr.push(`(not JSON) ${line}`);
        }
        this.notify();
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => this.stderr.push(...chunk.split('\n').filter(Boolean)));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => {
      resolve(code ?? -1);
      this.notify();
    }));
  }

  get latest(): UpgradeStatus | undefined {
    return this.views.at(-1)?.status;
  }

  /** Resolves with the first status (already seen or coming) that satisfies `predicate`. */
  async until(what: string, predicate: (status: UpgradeStatus) => boolean, timeoutMs = 300_000): Promise<UpgradeStatus> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    let running = true;
    void this.exited.then(() => (running = false));
    for (;;) {
      for (; seen < this.views.length; seen++) {
        const status = this.views[seen]!.status;
        if (predicate(status)) return status;
      }
      if (!running) throw new Error(`watch ended (phase ${this.latest?.phase}) before ${what}; stderr: ${this.stderr.slice(-5).join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs / 1000}s (phase ${this.latest?.phase}: ${this.latest?.step})`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 5_000));
        this.waiters.add(done);
      });
    }
  }

  /** The watch's exit code once the upgrade ended; fails past the timeout. */
  async result(timeoutMs = 600_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the upgrade did not end within ${timeoutMs / 1000}s (phase ${this.latest?.phase}: ${this.latest?.step})`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      this.waiters.delete(waiter);
      waiter();
    }
  }
}

// ---- the traffic simulator's fault profiles (lab/knobs.ts, on 127.0.0.1) ----

/** Marks an Istio version faulty (5% errors, p99 600 ms, xDS rejects) in the lab's traffic simulator. */
export async function setFault(version: string): Promise<void> {
  await setFaultKnob(labInfo(), version);
}

/** Puts the version back on the healthy profile; quiet when the simulator is gone. */
export async function clearFault(version: string): Promise<void> {
  await clearFaultKnob(labInfo(), version).catch(() => undefined);
}

// ---- the lab's Temporal server, stopped and started the way lab.ts does ----

/** Stops the lab's Temporal dev server by pid and starts it again on the same SQLite file. */
export async function restartLabTemporal(downMs = 3_000): Promise<void> {
  const paths = labPaths();
  const ports = labPorts();
  const info = labInfo(paths);
  if (!(await stopProcess(paths, 'temporal', 30_000))) throw new Error('the lab has no running temporal process');
  await new Promise((r) => setTimeout(r, downMs));
  // The same command line as labUp (lab/lab.ts).
  startDetached(paths, 'temporal', tool('temporal'), [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(ports.temporal), '--ui-ip', '127.0.0.1', '--ui-port', String(ports.temporalUi),
    '--db-filename', paths.temporalDb, '--log-level', 'warn',
    '--search-attribute', 'IstioCanaryPhase=Keyword', '--search-attribute', 'IstioCanaryCluster=Keyword',
    '--search-attribute', 'IstioCanarySourceRevision=Keyword', '--search-attribute', 'IstioCanaryTargetRevision=Keyword',
  ]);
  await waitFor(
    'the restarted Temporal dev server',
    async () => {
      const health = await execa(tool('temporal'), ['operator', 'cluster', 'health', '--address', info.temporalAddress], { reject: false, timeout: 10_000 });
      return health.exitCode === 0 ? true : undefined;
    },
    90_000,
    logFile(paths, 'temporal'),
  );
}

// ---- the mesh, read from the Kubernetes API ----

function kubeClients() {
  const kc = new KubeConfig();
  kc.loadFromFile(labInfo().kubeconfig);
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), admission: kc.makeApiClient(AdmissionregistrationV1Api) };
}

const SYSTEM_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
const PROXY_CONTAINER = 'istio-proxy';

export interface WorkloadProxies {
  /** Live pods (not terminating) of the Deployment. */
  pods: number;
  /** Distinct `<proxy version>@<injecting revision>` of those pods, sorted; `none` for a pod without a proxy. */
  proxies: string[];
  /** The pod template's istio.io/rev label (gateways follow a revision through it). */
  templateRevision: string | null;
}

export interface MeshSnapshot {
  /** Namespace -> its labels (without the automatic kubernetes.io/metadata.name). */
  namespaces: Record<string, Record<string, string>>;
  /** `namespace/deployment` -> the proxies its pods run. */
  workloads: Record<string, WorkloadProxies>;
  /** istiod Deployments: `<revision> <version>`, sorted. */
  revisions: string[];
  /** Sidecar-injector webhook configurations (one per revision, one per tag), sorted. */
  injectorWebhooks: string[];
  /** Revision tag -> revision. */
  tags: Record<string, string>;
}

function proxyOf(pod: V1Pod): string {
  const revision = podProxyRevision(pod);
  if (revision === null) return 'none';
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const image = containers.find((c) => c.name === PROXY_CONTAINER)?.image;
  return `${versionFromImage(image) ?? image ?? 'unknown'}@${revision}`;
}

/** The Deployment a pod belongs to: its ReplicaSet's name without the pod-template-hash. */
function ownerOf(pod: V1Pod): string | undefined {
  const rs = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (!rs) return undefined;
  return hash && rs.endsWith(`-${hash}`) ? rs.slice(0, -hash.length - 1) : rs;
}

export async function meshSnapshot(): Promise<MeshSnapshot> {
  const { core, apps, admission } = kubeClients();
  const namespaces: MeshSnapshot['namespaces'] = {};
  for (const ns of (await core.listNamespace()).items) {
    const name = ns.metadata!.name!;
    if (SYSTEM_NAMESPACES.has(name)) continue;
    const labels = { ...(ns.metadata?.labels ?? {}) };
    delete labels['kubernetes.io/metadata.name'];
    namespaces[name] = sortKeys(labels);
  }

  const workloads: MeshSnapshot['workloads'] = {};
  const deployments = (await apps.listDeploymentForAllNamespaces()).items.filter((d) => !SYSTEM_NAMESPACES.has(d.metadata!.namespace!));
  const isIstiod = (labels?: Record<string, string>) => labels?.['app'] === 'istiod';
  for (const d of deployments) {
    if (isIstiod(d.metadata?.labels)) continue;
    workloads[`${d.metadata!.namespace}/${d.metadata!.name}`] = {
      pods: 0,
      proxies: [],
      templateRevision: d.spec?.template?.metadata?.labels?.['istio.io/rev'] ?? null,
    };
  }
  for (const pod of (await core.listPodForAllNamespaces()).items) {
    if (!isLivePod(pod)) continue;
    const owner = ownerOf(pod);
    const entry = owner && workloads[`${pod.metadata!.namespace}/${owner}`];
    if (!entry) continue;
    entry.pods++;
    const proxy = proxyOf(pod);
    if (!entry.proxies.includes(proxy)) entry.proxies = [...entry.proxies, proxy].sort();
  }

  const revisions = deployments
    .filter((d) => isIstiod(d.metadata?.labels))
    .map((d) => {
      const image = d.spec?.template?.spec?.containers?.find((c) => c.name === 'discovery')?.image;
      return `${d.metadata?.labels?.['istio.io/rev'] ?? 'default'} ${versionFromImage(image) ?? image ?? '?'}`;
    })
    .sort();

  const webhooks = (await admission.listMutatingWebhookConfiguration()).items;
  const injectorWebhooks = webhooks.map((w) => w.metadata!.name!).filter((n) => n.startsWith('istio-')).sort();
  const tags: Record<string, string> = {};
  for (const w of webhooks) {
    const tag = w.metadata?.labels?.['istio.io/tag'];
    const rev = w.metadata?.labels?.['istio.io/rev'];
    if (tag && rev) tags[tag] = rev;
  }
  return { namespaces: sortKeys(namespaces), workloads: sortKeys(workloads), revisions, injectorWebhooks, tags: sortKeys(tags) };
}

/** Polls until every Deployment's rollout is complete and no pod is terminating. */
export async function waitForSettledMesh(timeoutMs = 120_000): Promise<void> {
  const { core, apps } = kubeClients();
  await waitFor(
    'every rollout to finish',
    async () => {
      for (const d of (await apps.listDeploymentForAllNamespaces()).items) {
        const want = d.spec?.replicas ?? 1;
        const s = d.status ?? {};
        if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return undefined;
        if ((s.updatedReplicas ?? 0) !== want || (s.readyReplicas ?? 0) !== want || (s.replicas ?? 0) !== want) return undefined;
      }
      const terminating = (await core.listPodForAllNamespaces()).items.some((p) => p.metadata?.deletionTimestamp != null);
      return terminating ? undefined : true;
    },
    timeoutMs,
  );
}

export interface RestartHistory {
  /** ReplicaSets the Deployment has had (the controller keeps up to revisionHistoryLimit, 10 by default). */
  replicaSets: number;
  /** Distinct restartedAt tokens across its ReplicaSets' templates (the first one has none). */
  restartTokens: string[];
  /** metadata.generation: bumped by every change of the spec, so by every restart. */
  generation: number;
}

/** `namespace/deployment` -> how often it was restarted, read from its ReplicaSets. */
export async function restartHistory(): Promise<Record<string, RestartHistory>> {
  const { apps } = kubeClients();
  const history: Record<string, RestartHistory> = {};
  for (const d of (await apps.listDeploymentForAllNamespaces()).items) {
    if (SYSTEM_NAMESPACES.has(d.metadata!.namespace!) || d.metadata?.labels?.['app'] === 'istiod') continue;
    history[`${d.metadata!.namespace}/${d.metadata!.name}`] = { replicaSets: 0, restartTokens: [], generation: d.metadata?.generation ?? 0 };
  }
  for (const rs of (await apps.listReplicaSetForAllNamespaces()).items) {
    const owner = rs.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment')?.name;
    const entry = owner && history[`${rs.metadata!.namespace}/${owner}`];
    if (!entry) continue;
    entry.replicaSets++;
    const token = rs.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
    if (token && !entry.restartTokens.includes(token)) entry.restartTokens = [...entry.restartTokens, token].sort();
  }
  return sortKeys(history);
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

// ---- a fresh lab per test, and leaving it as found ----

/**
 * A fresh test lab (lab down, lab up) with the lab worker running, its rollouts
 * settled; returns the lab and the mesh as it is before any upgrade.
 */
export async function freshLab(): Promise<{ info: LabInfo; before: MeshSnapshot }> {
  const info = await resetTestLab();
  await startLabWorker();
  await waitForSettledMesh();
  return { info, before: await meshSnapshot() };
}

/**
 * After a file's tests: stops the worker, and brings the lab back to a fresh
 * one when the mesh is no longer as `pristine` was, so other lab tests find the
 * baseline mesh.
 */
export async function leaveLabAsFound(pristine: MeshSnapshot | undefined): Promise<void> {
  await stopLabWorker();
  if (!pristine) return;
  const now = await meshSnapshot().catch(() => undefined);
  if (!now || JSON.stringify(now) !== JSON.stringify(pristine)) await resetTestLab();
}

/**
 * The hooks of a lab-tier describe block whose tests each start from freshLab():
 * the test lab for this process, and afterwards `cleanup` then the lab left as
 * found. A test stores its freshLab() snapshot in `pristine`.
 */
export function labSuite(timeoutMs: number, cleanup?: () => Promise<void>): { pristine?: MeshSnapshot } {
  const lab: { pristine?: MeshSnapshot } = {};
  beforeAll(() => useTestLab());
  afterAll(async () => {
    await cleanup?.();
    await leaveLabAsFound(lab.pristine);
  }, timeoutMs);
  return lab;
}

/** The namespaces of the demo fleet (they carry a team label). */
export function fleetNamespaces(snapshot: MeshSnapshot): string[] {
  return Object.entries(snapshot.namespaces)
    .filter(([, labels]) => labels['team'] !== undefined)
    .map(([name]) => name)
    .sort();
}

/** The snapshot's workloads in the given namespaces. */
export function workloadsIn(snapshot: MeshSnapshot, namespaces: string[]): Array<[string, WorkloadProxies]> {
  return Object.entries(snapshot.workloads).filter(([key]) => namespaces.includes(key.split('/')[0]!));
}
