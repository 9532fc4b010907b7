// Test doubles of the activities for workflow tests: an in-memory mesh per
// upgrade (keyed by workflow id) that behaves like the cluster the real
// activities talk to. Restarting a namespace's workloads re-injects their
// proxies from the revision its labels select; the metrics follow the proxies,
// so a faulty revision really fails the gate and a rollback really clears it.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  GateScope,
  InjectionLabels,
  MeshState,
  MetricSample,
  UpgradeActivities,
} from '../../activities/contract.js';
import { effectiveRevision } from '../../mesh/revisions.js';

export interface FakeWorkload {
  name: string;
  restartedAt?: string;
  restarts: number;
  /** Revision of the proxy the pods run. */
  proxy: string | null;
}

export interface FakeNamespace {
  labels: InjectionLabels;
  workloads: FakeWorkload[];
}

export interface FakeMesh {
  namespaces: Record<string, FakeNamespace>;
  revisions: Record<string, { version: string; ready: boolean }>;
  tags: Record<string, string>;
  gateways: Record<string, { revision: string | null; restarts: number; restartedAt?: string }>;
  istioctlVersion: string;
  /** Revisions whose proxies produce 5% errors. */
  faulty: Set<string>;
  /** The next N gate measurements return no data (preflight's baseline included). */
  noDataChecks: number;
  /** Pods on these revisions report no metrics at all (broken telemetry). */
  silentRevisions: Set<string>;
  /** Every activity call, in order. */
  calls: Array<{ name: string; input: any }>;
  /** Make an activity fail: return an error to throw it, undefined to run normally. */
  failures: Partial<Record<keyof UpgradeActivities, (input: any, attempt: number) => Error | undefined>>;
  /** Runs before an activity's effect (to block it, or to change the mesh at that moment). */
  hooks: Partial<Record<keyof UpgradeActivities, (input: any) => Promise<void>>>;
  /** Fails an activity after its effect took place: the result is lost as if the worker died. */
  lostResults: Partial<Record<keyof UpgradeActivities, (input: any, attempt: number) => Error | undefined>>;
}

export function newMesh(overrides: Partial<FakeMesh> = {}): FakeMesh {
  const workloads = (proxy: string) =>
    ['api', 'web', 'worker'].map((name) => ({ name, restarts: 0, proxy }));
  return {
    namespaces: {
      'canary-test': { labels: { 'istio-injection': 'enabled', 'istio.io/rev': null }, workloads: workloads('1-29-4') },
      catalog: { labels: { 'istio-injection': null, 'istio.io/rev': '1-29-4' }, workloads: workloads('1-29-4') },
      search: { labels: { 'istio-injection': null, 'istio.io/rev': 'prod-stable' }, workloads: workloads('1-29-4') },
      payments: { labels: { 'istio-injection': 'enabled', 'istio.io/rev': null }, workloads: workloads('1-29-4') },
      checkout: { labels: { 'istio-injection': null, 'istio.io/rev': '1-29-4' }, workloads: workloads('1-29-4') },
    },
    revisions: { '1-29-4': { version: '1.29.4', ready: true } },
    tags: { default: '1-29-4', 'prod-stable': '1-29-4' },
    gateways: { 'istio-ingressgateway': { revision: '1-29-4', restarts: 0 } },
    istioctlVersion: '1.30.3',
    faulty: new Set(),
    noDataChecks: 0,
    silentRevisions: new Set(),
    calls: [],
    failures: {},
    hooks: {},
    lostResults: {},
    ...overrides,
  };
}

const meshes = new Map<string, FakeMesh>();

export function registerMesh(workflowId: string, mesh: FakeMesh): FakeMesh {
  meshes.set(workflowId, mesh);
  return mesh;
}

function current(): FakeMesh {
  const id = Context.current().info.workflowExecution?.workflowId ?? "";
  // A namespace's child workflow id starts with its upgrade's id (workflows/migrate.ts).
  const mesh = meshes.get(id) ?? meshes.get(id.split('/')[0]!);
  if (!mesh) throw ApplicationFailure.nonRetryable(`no fake mesh registered for ${id}`);
  return mesh;
}

function ns(mesh: FakeMesh, name: string): FakeNamespace {
  const found = mesh.namespaces[name];
  if (!found) throw ApplicationFailure.nonRetryable(`namespace ${name} not found`, 'NamespaceNotFound');
  return found;
}

/** Wraps each double: records the call, applies scripted failures and hooks. */
function instrument(impl: UpgradeActivities): UpgradeActivities {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl) as Array<[keyof UpgradeActivities, (input: unknown) => Promise<unknown>]>) {
    wrapped[name] = async (input: unknown) => {
      const mesh = current();
      const { attempt } = Context.current().info;
      mesh.calls.push({ name, input });
      const failure = mesh.failures[name]?.(input, attempt);
      if (failure) throw failure;
      await mesh.hooks[name]?.(input);
      const result = await fn(input);
      const lost = mesh.lostResults[name]?.(input, attempt);
      if (lost) throw lost;
      return result;
    };
  }
  return wrapped as unknown as UpgradeActivities;
}

function sample(metric: string, value: number | null, requests: number | null): MetricSample {
  return { metric, query: `fake:${metric}`, value, requests };
}

function measure(mesh: FakeMesh, scope: GateScope): MetricSample[] {
  if (mesh.noDataChecks > 0) {
    mesh.noDataChecks--;
    return scope.metrics.map((m) => sample(m.name, null, 0));
  }
  const pods = scope.namespaces.flatMap((n) => mesh.namespaces[n]?.workloads ?? []);
  if (pods.some((w) => w.proxy && mesh.silentRevisions.has(w.proxy))) return scope.metrics.map((m) => sample(m.name, null, 0));
  const faulty = pods.some((w) => w.proxy && mesh.faulty.has(w.proxy));
  return scope.metrics.map((m) => {
    switch (m.type) {
      case 'errorRate':
        return sample(m.name, faulty ? 0.05 : 0.001, 1000);
      case 'latencyP99':
        return sample(m.name, faulty ? 900 : 120, 1000);
      case 'requestVolume':
        return sample(m.name, 50, 1000);
      case 'xdsRejects':
        return sample(m.name, 0, 10);
    }
  });
}

export function createActivityDoubles(): UpgradeActivities {
  return instrument({
    async checkCluster() {
      return { serverVersion: 'v1.36.1' };
    },
    async detectMeshState({ namespaces }): Promise<MeshState> {
      const mesh = current();
      return {
        revisions: Object.entries(mesh.revisions).map(([revision, r]) => ({ revision, version: r.version, ready: r.ready })),
        tags: { ...mesh.tags },
        namespaces: namespaces.map((name) => ({ name, labels: { ...ns(mesh, name).labels } })),
      };
    },
    async listNamespaces({ selector }) {
      const mesh = current();
      // The doubles understand one selector form, enough for the tests: `team in (a, b)`.
      const match = /in \(([^)]*)\)/.exec(selector);
      const wanted = match ? match[1]!.split(',').map((s) => s.trim()) : [];
      return Object.keys(mesh.namespaces).filter((n) => wanted.includes(n)).sort();
    },
    async findMissingNamespaces({ namespaces }) {
      const mesh = current();
      return namespaces.filter((n) => !mesh.namespaces[n]);
    },
    async setNamespaceInjection({ namespace, labels }) {
      const mesh = current();
      ns(mesh, namespace).labels = { ...labels };
      return { name: namespace, labels: { ...labels } };
    },
    async restartWorkloads({ namespace, token }) {
      const mesh = current();
      const target = ns(mesh, namespace);
      const revision = effectiveRevision(target.labels, mesh.tags);
      const restarted = [];
      const alreadyRestarted = [];
      for (const w of target.workloads) {
        const ref = { kind: 'Deployment' as const, namespace, name: w.name };
        if (w.restartedAt === token) {
          alreadyRestarted.push(ref);
          continue;
        }
        if (revision && !mesh.revisions[revision]?.ready) {
          throw ApplicationFailure.nonRetryable(`webhook for ${revision} is not ready`, 'RolloutFailed');
        }
        w.restartedAt = token;
        w.restarts++;
        w.proxy = revision;
        restarted.push(ref);
      }
      return { restarted, alreadyRestarted };
    },
    async waitForRollout({ namespace }) {
      const mesh = current();
      if (namespace === 'istio-system') {
        const gateways = Object.keys(mesh.gateways).map((name) => ({ kind: 'Deployment' as const, namespace, name, readyReplicas: 2, replicas: 2 }));
        return { workloads: gateways, durationMs: 1 };
      }
      const workloads = ns(mesh, namespace).workloads.map((w) => ({ kind: 'Deployment' as const, namespace, name: w.name, readyReplicas: 2, replicas: 2 }));
      return { workloads, durationMs: 1 };
    },
    async checkProxyRevision({ namespace, revision }) {
      const mesh = current();
      const pods = ns(mesh, namespace).workloads;
      return {
        namespace,
        matching: pods.filter((w) => w.proxy === revision).length,
        mismatched: pods.filter((w) => w.proxy !== revision).map((w) => ({ pod: `${w.name}-0`, revision: w.proxy })),
      };
    },
    async waitForIstiod({ revision }) {
      const mesh = current();
      if (!mesh.revisions[revision]?.ready) throw ApplicationFailure.nonRetryable(`istiod-${revision} never became ready`, 'RolloutFailed');
      return { readyReplicas: 2 };
    },
    async listGateways({ namespace }) {
      const mesh = current();
      return Object.entries(mesh.gateways).map(([name, g]) => ({ namespace, name, revision: g.revision }));
    },
    async setGatewayRevision({ name, revision, token }) {
      const mesh = current();
      const gateway = mesh.gateways[name]!;
      if (gateway.revision === revision && gateway.restartedAt === token) return { changed: false };
      gateway.revision = revision;
      gateway.restartedAt = token;
      gateway.restarts++;
      return { changed: true };
    },
    async countProxiesOnRevision({ revision }) {
      const mesh = current();
      const namespaces = Object.entries(mesh.namespaces).filter(([, n]) => n.workloads.some((w) => w.proxy === revision));
      const pods = namespaces.reduce((sum, [, n]) => sum + n.workloads.filter((w) => w.proxy === revision).length, 0);
      return { pods, namespaces: namespaces.map(([name]) => name) };
    },
    async backupIstioResources({ cluster, upgradeId }) {
      return { location: `/backups/${cluster}/${upgradeId}`, counts: { 'virtualservices.networking.istio.io': 3 } };
    },
    async istioctlVersion() {
      return { clientVersion: current().istioctlVersion };
    },
    async istioctlPrecheck() {
      return { output: 'No issues found when checking the cluster.' };
    },
    async istioctlInstall({ revision }) {
      current().revisions[revision] = { version: current().istioctlVersion, ready: true };
      return { output: 'installed' };
    },
    async istioctlTagSet({ tag, revision }) {
      current().tags[tag] = revision;
      return { output: `tag ${tag} -> ${revision}` };
    },
    async istioctlUninstall({ revision }) {
      delete current().revisions[revision];
      return { output: 'uninstalled' };
    },
    async checkPrometheus() {
      return { version: '2.42.0' };
    },
    async measureGate(scope) {
      return measure(current(), scope);
    },
    // Notifications are only recorded here; test/workflow/notifications.test.ts runs the real ones.
    async checkNotificationTargets() {
      return [];
    },
    async sendNotification() {
      return { status: 200 };
    },
  });
}
