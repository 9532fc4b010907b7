// The real Kubernetes activities (activities/kubernetes.ts, through
// createActivities) against the test lab: a real API server, controller-manager
// and scheduler, KWOK pods, the lab's sidecar injector and the Istio revision
// `lab up` installed. No doubles: each activity runs in a real activity context
// (MockActivityEnvironment), talks to the cluster, and the test checks the
// cluster itself afterwards.
//
// Works in three namespaces of its own (deleted at the end) and never changes
// the mesh: the gateway tests only read the lab's ingress gateway.

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { AppsV1Api, CoreV1Api, KubeConfig, type RequestContext, type V1Pod } from '@kubernetes/client-node';
import { createActivities } from '../../activities/index.js';
import type { InjectionLabels, UpgradeActivities } from '../../activities/contract.js';
import { kubectl } from '../../lab/cluster.js';
import { deploymentManifest } from '../../lab/fleet.js';
import { SLOW_START_LABEL, clearPodKnobs, neverReady, slowStart } from '../../lab/knobs.js';
import { LAB_TAG, labInfo, type LabInfo } from '../../lab/lab.js';
import { labPaths, type LabPaths } from '../../lab/paths.js';
import { readVersions } from '../../lab/versions.js';
import { useTestLab } from '../support/lab.js';
import { eventually, failureOf, runActivity as run } from '../support/activity-context.js';

jest.setTimeout(120_000);

const RUN = Date.now().toString(36);
const RUN_LABEL = 'lab.istio-canary.io/test-run';
/** istio-injection=enabled (the default tag), three Deployments. */
const ENABLED = `act-k8s-${RUN}-enabled`;
/** No labels at all (but the one the API server adds), one Deployment without a proxy. */
const BARE = `act-k8s-${RUN}-bare`;
/** istio.io/rev=<old revision>, the workload the never-ready knob breaks. */
const REV = `act-k8s-${RUN}-rev`;
const ENABLED_DEPLOYMENTS = ['api', 'web', 'worker'];

let paths: LabPaths;
let info: LabInfo;
let core: CoreV1Api;
let apps: AppsV1Api;
let activities: UpgradeActivities;
let oldRevision: string;
let newRevision: string;

/** The lab's kubeconfig, noting the URL of every request made through it (the hook every client-node request passes). */
class RequestRecordingKubeConfig extends KubeConfig {
  readonly requests: URL[] = [];

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    this.requests.push(new URL(context.getUrl()));
    await super.applySecurityAuthentication(context);
  }
}

async function namespaceLabels(name: string): Promise<Record<string, string>> {
  return (await core.readNamespace({ name })).metadata?.labels ?? {};
}

async function replicaSetsOf(namespace: string, deployment: string): Promise<number> {
  return (await apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${deployment}` })).items.length;
}

async function livePods(namespace: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace })).items.filter((pod) => pod.status?.phase === 'Running' && pod.metadata?.deletionTimestamp == null);
}

function namespaceYaml(name: string, labels: Record<string, string>): string {
  const lines = Object.entries(labels).map(([key, value]) => `    ${key}: ${JSON.stringify(value)}`);
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
${lines.length ? `  labels:\n${lines.join('\n')}\n` : ''}`;
}

beforeAll(async () => {
  useTestLab();
  paths = labPaths();
  info = labInfo(paths);
  ({ oldRevision, newRevision } = info.versions);
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  activities = createActivities({ kubeConfig: kc, kubeconfigPath: info.kubeconfig, backupDir: paths.backups });

  const manifest = [
    namespaceYaml(ENABLED, { 'istio-injection': 'enabled', team: 'lab-tests', [RUN_LABEL]: RUN }),
    ...ENABLED_DEPLOYMENTS.map((name) => deploymentManifest(ENABLED, name, 2)),
    namespaceYaml(BARE, {}),
    deploymentManifest(BARE, 'plain', 1),
    namespaceYaml(REV, { 'istio.io/rev': oldRevision, [RUN_LABEL]: RUN }),
    deploymentManifest(REV, 'stuck', 2),
  ].join('---\n');
  await kubectl(paths, ['apply', '-f', '-'], manifest);
  for (const namespace of [ENABLED, BARE, REV]) {
    await run(activities.waitForRollout, { namespace, kinds: ['Deployment'], progressDeadlineMs: 60_000 });
  }
});

afterAll(async () => {
  await kubectl(paths, ['delete', 'namespace', ENABLED, BARE, REV, '--ignore-not-found', '--timeout=90s']).catch(() => undefined);
});

describe('cluster and namespaces', () => {
  it('checkCluster reads the API server version the lab built', async () => {
    expect(await run(activities.checkCluster, undefined as never)).toEqual({ serverVersion: readVersions()['KUBERNETES_VERSION'] });
  });

  it('listNamespaces returns the namespaces a selector matches, sorted', async () => {
    expect(await run(activities.listNamespaces, { selector: `${RUN_LABEL}=${RUN}` })).toEqual([ENABLED, REV].sort());
    const enabled = await run(activities.listNamespaces, { selector: 'istio-injection=enabled' });
    expect(enabled).toEqual([...enabled].sort());
    expect(enabled).toEqual(expect.arrayContaining([ENABLED, 'canary-test', 'payments']));
    expect(enabled).not.toContain(REV);
    expect(await run(activities.listNamespaces, { selector: `${RUN_LABEL}=nothing-has-this` })).toEqual([]);
    const bad = await failureOf(run(activities.listNamespaces, { selector: 'team in (a' }));
    expect(bad).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
  });

  it('findMissingNamespaces names exactly the ones that do not exist', async () => {
    const missing = `act-k8s-${RUN}-missing`;
    expect(await run(activities.findMissingNamespaces, { namespaces: [ENABLED, 'canary-test', missing, BARE, missing] })).toEqual([missing]);
    expect(await run(activities.findMissingNamespaces, { namespaces: [ENABLED, REV] })).toEqual([]);
  });

  it('detectMeshState sees the installed revision, its version and readiness, the tags and each namespace’s labels', async () => {
    const state = await run(activities.detectMeshState, { namespaces: [ENABLED, BARE, REV, 'search'] });
    expect(state.revisions).toContainEqual({ revision: oldRevision, version: info.versions.oldVersion, ready: true });
    expect(state.tags).toMatchObject({ default: oldRevision, [LAB_TAG]: oldRevision });
    expect(state.namespaces).toEqual([
      { name: ENABLED, labels: { 'istio-injection': 'enabled', 'istio.io/rev': null } },
      { name: BARE, labels: { 'istio-injection': null, 'istio.io/rev': null } },
      { name: REV, labels: { 'istio-injection': null, 'istio.io/rev': oldRevision } },
      { name: 'search', labels: { 'istio-injection': null, 'istio.io/rev': LAB_TAG } },
    ]);
    const missing = await failureOf(run(activities.detectMeshState, { namespaces: [ENABLED, `act-k8s-${RUN}-missing`] }));
    expect(missing).toMatchObject({ type: 'NamespaceNotFound', nonRetryable: true });
  });
});

describe('setNamespaceInjection', () => {
  it.each([
    ['istio-injection=enabled', () => ENABLED],
    ['no labels', () => BARE],
    ['istio.io/rev=<revision>', () => REV],
  ])('sets exactly the target labels on a namespace with %s, and restores the exact original set', async (_, name) => {
    const namespace = name();
    const original = await namespaceLabels(namespace);
    const [snapshot] = (await run(activities.detectMeshState, { namespaces: [namespace] })).namespaces;
    const target: InjectionLabels = { 'istio-injection': null, 'istio.io/rev': newRevision };

    expect(await run(activities.setNamespaceInjection, { namespace, labels: target })).toEqual({ name: namespace, labels: target });
    const { 'istio-injection': _dropped, ...kept } = original;
    expect(await namespaceLabels(namespace)).toEqual({ ...kept, 'istio.io/rev': newRevision });

    // Converged already: a retry writes nothing.
    const before = (await core.readNamespace({ name: namespace })).metadata?.resourceVersion;
    expect(await run(activities.setNamespaceInjection, { namespace, labels: target })).toEqual({ name: namespace, labels: target });
    expect((await core.readNamespace({ name: namespace })).metadata?.resourceVersion).toBe(before);

    // Restore from the snapshot taken before: every label exactly as it was, nothing added.
    expect(await run(activities.setNamespaceInjection, { namespace, labels: snapshot!.labels })).toEqual(snapshot);
    expect(await namespaceLabels(namespace)).toEqual(original);
  });

  it('fails for good on a missing namespace or an invalid label value', async () => {
    const labels: InjectionLabels = { 'istio-injection': null, 'istio.io/rev': oldRevision };
    expect(await failureOf(run(activities.setNamespaceInjection, { namespace: `act-k8s-${RUN}-missing`, labels }))).toMatchObject({
      type: 'NamespaceNotFound',
      nonRetryable: true,
    });
    const bad = { 'istio-injection': null, 'istio.io/rev': 'not a label value!' };
    expect(await failureOf(run(activities.setNamespaceInjection, { namespace: ENABLED, labels: bad }))).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(await namespaceLabels(ENABLED)).toMatchObject({ 'istio-injection': 'enabled' });
  });
});

describe('restartWorkloads and waitForRollout', () => {
  it('restarts every workload once per token; a retry with the same token restarts nothing', async () => {
    for (const name of ENABLED_DEPLOYMENTS) expect(await replicaSetsOf(ENABLED, name)).toBe(1);
    const token = `restart-${RUN}-1`;
    const refs = ENABLED_DEPLOYMENTS.map((name) => ({ kind: 'Deployment', namespace: ENABLED, name }));

    const heartbeats: unknown[] = [];
    const first = await run(activities.restartWorkloads, { namespace: ENABLED, kinds: ['Deployment'], token }, heartbeats);
    expect(first).toEqual({ restarted: refs, alreadyRestarted: [] });
    expect(heartbeats.length).toBeGreaterThan(0);

    const rollout = await run(activities.waitForRollout, { namespace: ENABLED, kinds: ['Deployment'], progressDeadlineMs: 60_000 });
    expect(rollout.workloads).toEqual(refs.map((ref) => ({ ...ref, readyReplicas: 2, replicas: 2 })));
    const generations: Record<string, number | undefined> = {};
    for (const name of ENABLED_DEPLOYMENTS) {
      const deployment = await apps.readNamespacedDeployment({ namespace: ENABLED, name });
      expect(deployment.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(token);
      generations[name] = deployment.metadata?.generation;
      // One new ReplicaSet: the pods really were replaced, once.
      expect(await replicaSetsOf(ENABLED, name)).toBe(2);
    }

    // The workflow retries the activity (say the worker died after the patch): nothing restarts again.
    const retry = await run(activities.restartWorkloads, { namespace: ENABLED, kinds: ['Deployment'], token });
    expect(retry).toEqual({ restarted: [], alreadyRestarted: refs });
    for (const name of ENABLED_DEPLOYMENTS) {
      expect((await apps.readNamespacedDeployment({ namespace: ENABLED, name })).metadata?.generation).toBe(generations[name]);
      expect(await replicaSetsOf(ENABLED, name)).toBe(2);
    }
    // No StatefulSets or DaemonSets here: nothing to do.
    expect(await run(activities.restartWorkloads, { namespace: ENABLED, kinds: ['StatefulSet', 'DaemonSet'], token })).toEqual({
      restarted: [],
      alreadyRestarted: [],
    });
  });

  it('waitForRollout fails for good (RolloutFailed) when a never-ready workload makes no progress past the deadline', async () => {
    await neverReady(paths, REV, 'stuck');
    const heartbeats: unknown[] = [];
    const failure = await failureOf(run(activities.waitForRollout, { namespace: REV, kinds: ['Deployment'], progressDeadlineMs: 5_000 }, heartbeats));
    expect(failure).toMatchObject({ type: 'RolloutFailed', nonRetryable: true });
    expect(failure.message).toMatch(/made no progress/);
    expect(failure.message).toContain(`Deployment ${REV}/stuck`);
    // Its heartbeats carry the clock a retried attempt resumes from.
    expect(heartbeats.at(-1)).toMatchObject({ startedAt: expect.any(Number), lastProgressAt: expect.any(Number), fingerprint: expect.any(String) });
  });

  it('waitForRollout fails for good at once when the deployment controller reports ProgressDeadlineExceeded', async () => {
    await kubectl(paths, ['patch', 'deployment', 'stuck', '-n', REV, '--type', 'merge', '-p', '{"spec":{"progressDeadlineSeconds":2}}']);
    await eventually('ProgressDeadlineExceeded', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: REV, name: 'stuck' });
      return d.status?.conditions?.some((c) => c.reason === 'ProgressDeadlineExceeded') ? true : undefined;
    });
    // A generous deadline of our own: the controller's verdict alone ends the wait.
    const failure = await failureOf(run(activities.waitForRollout, { namespace: REV, kinds: ['Deployment'], progressDeadlineMs: 600_000 }));
    expect(failure).toMatchObject({ type: 'RolloutFailed', nonRetryable: true });
    expect(failure.message).toMatch(/progress deadline exceeded/);

    // Repaired, the same wait completes.
    await kubectl(paths, ['patch', 'deployment', 'stuck', '-n', REV, '--type', 'merge', '-p', '{"spec":{"progressDeadlineSeconds":120}}']);
    await clearPodKnobs(paths, REV, 'stuck');
    const done = await run(activities.waitForRollout, { namespace: REV, kinds: ['Deployment'], progressDeadlineMs: 60_000 });
    expect(done.workloads).toEqual([{ kind: 'Deployment', namespace: REV, name: 'stuck', readyReplicas: 2, replicas: 2 }]);
  });

  it('waitForRollout waits through a slow rollout (new pods not yet available) until it completes', async () => {
    await slowStart(paths, REV, 'stuck', '2s');
    const heartbeats: unknown[] = [];
    const done = await run(activities.waitForRollout, { namespace: REV, kinds: ['Deployment'], progressDeadlineMs: 60_000 }, heartbeats);
    expect(done.workloads).toEqual([{ kind: 'Deployment', namespace: REV, name: 'stuck', readyReplicas: 2, replicas: 2 }]);
    // It did wait: some heartbeat reported the workload still pending.
    expect(heartbeats.some((h) => ((h as { pending?: string[] }).pending ?? []).some((p) => p.startsWith(`Deployment ${REV}/stuck`)))).toBe(true);
    const pods = await livePods(REV);
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.metadata?.labels?.[SLOW_START_LABEL]).toBe('2s');
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('waitForRollout follows a rollout by one list and one watch, not by polling, however long it runs', async () => {
    const counting = new RequestRecordingKubeConfig();
    counting.loadFromFile(info.kubeconfig);
    const recorded = createActivities({ kubeConfig: counting, kubeconfigPath: info.kubeconfig, backupDir: paths.backups });
    // minReadySeconds 6: the rollout lasts at least 6 s, four of the old 1.5 s polls.
    await slowStart(paths, REV, 'stuck', '6s');
    const done = await run(recorded.waitForRollout, { namespace: REV, kinds: ['Deployment'], progressDeadlineMs: 60_000 });
    expect(done.durationMs).toBeGreaterThanOrEqual(5_000);
    expect(done.workloads).toEqual([{ kind: 'Deployment', namespace: REV, name: 'stuck', readyReplicas: 2, replicas: 2 }]);
    const deploymentRequests = counting.requests.filter((url) => url.pathname === `/apis/apps/v1/namespaces/${REV}/deployments`);
    expect(deploymentRequests.filter((url) => url.searchParams.get('watch') !== 'true')).toHaveLength(1);
    expect(deploymentRequests.filter((url) => url.searchParams.get('watch') === 'true')).toHaveLength(1);
    // The list and the watch: nothing else (the namespace is known to exist from its workloads).
    expect(counting.requests).toHaveLength(2);
  });

  it('waitForRollout, restartWorkloads and checkProxyRevision fail for good on a missing namespace (not an empty success)', async () => {
    const namespace = `act-k8s-${RUN}-missing`;
    const failures = [
      await failureOf(run(activities.waitForRollout, { namespace, kinds: ['Deployment'], progressDeadlineMs: 5_000 })),
      await failureOf(run(activities.restartWorkloads, { namespace, kinds: ['Deployment', 'StatefulSet'], token: '2026-11-26T12:00:00Z' })),
      await failureOf(run(activities.checkProxyRevision, { namespace, revision: newRevision })),
    ];
    for (const failure of failures) {
      expect(failure).toMatchObject({ type: 'NamespaceNotFound', nonRetryable: true });
      expect(failure.message).toContain(namespace);
    }
  });
});

describe('proxies and control planes', () => {
  it('checkProxyRevision tells the pods injected by a revision from the others', async () => {
    const pods = (await livePods(ENABLED)).map((pod) => pod.metadata!.name!).sort();
    expect(pods).toHaveLength(6);
    expect(await run(activities.checkProxyRevision, { namespace: ENABLED, revision: oldRevision })).toEqual({ namespace: ENABLED, matching: 6, mismatched: [] });
    expect(await run(activities.checkProxyRevision, { namespace: ENABLED, revision: newRevision })).toEqual({
      namespace: ENABLED,
      matching: 0,
      mismatched: pods.map((pod) => ({ pod, revision: oldRevision })),
    });
    // No injection label: no proxy at all.
    const [plain] = await livePods(BARE);
    expect(await run(activities.checkProxyRevision, { namespace: BARE, revision: oldRevision })).toEqual({
      namespace: BARE,
      matching: 0,
      mismatched: [{ pod: plain!.metadata!.name!, revision: null }],
    });
  });

  it('countProxiesOnRevision counts the pods still on a revision, across namespaces', async () => {
    const old = await run(activities.countProxiesOnRevision, { revision: oldRevision });
    expect(old.namespaces).toEqual([...old.namespaces].sort());
    expect(old.namespaces).toEqual(expect.arrayContaining([ENABLED, REV, 'canary-test', 'search', 'istio-system']));
    expect(old.namespaces).not.toContain(BARE);
    expect(old.pods).toBeGreaterThanOrEqual(8);
    expect(await run(activities.countProxiesOnRevision, { revision: 'no-such-revision' })).toEqual({ pods: 0, namespaces: [] });
  });

  it('countProxiesOnRevision walks every page of the cluster’s pods, holding one page of 100 at a time', async () => {
    const counting = new RequestRecordingKubeConfig();
    counting.loadFromFile(info.kubeconfig);
    const recorded = createActivities({ kubeConfig: counting, kubeconfigPath: info.kubeconfig, backupDir: paths.backups });
    // Read independently from one unpaged list, by the revision the lab's injector wrote on each pod;
    // compared until no rollout of an earlier test changes the pods between the two reads.
    const { expected, counted, total } = await eventually('the count to match an unpaged list', async () => {
      counting.requests.length = 0;
      const all = (await core.listPodForAllNamespaces()).items;
      const onOld = all.filter((pod) => {
        const phase = pod.status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp != null) return false;
        const status = pod.metadata?.annotations?.['sidecar.istio.io/status'];
        return status !== undefined && (JSON.parse(status) as { revision?: string }).revision === oldRevision;
      });
      const expected = { pods: onOld.length, namespaces: [...new Set(onOld.map((pod) => pod.metadata!.namespace!))].sort() };
      const counted = await run(recorded.countProxiesOnRevision, { revision: oldRevision });
      return JSON.stringify(counted) === JSON.stringify(expected) ? { expected, counted, total: all.length } : undefined;
    });
    expect(counted).toEqual(expected);
    if (total <= 100) throw new Error(`the lab runs ${total} pods, too few to need a second page of 100: has its fleet shrunk? (lab/fleet.ts)`);
    const pages = counting.requests.filter((url) => url.pathname === '/api/v1/pods');
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.every((url) => url.searchParams.get('limit') === '100')).toBe(true);
    expect(pages.slice(1).every((url) => url.searchParams.has('continue'))).toBe(true);
  });

  it('waitForIstiod returns once the revision’s istiod is Ready, and fails for good past the timeout for one that never comes', async () => {
    expect((await run(activities.waitForIstiod, { revision: oldRevision, timeoutMs: 30_000 })).readyReplicas).toBeGreaterThanOrEqual(1);

    const heartbeats: unknown[] = [];
    const failure = await failureOf(run(activities.waitForIstiod, { revision: 'no-such-revision', timeoutMs: 3_000 }, heartbeats));
    expect(failure).toMatchObject({ type: 'RolloutFailed', nonRetryable: true });
    expect(failure.message).toMatch(/istio-system\/istiod-no-such-revision not Ready/);
    expect(heartbeats.at(-1)).toMatchObject({ waitingFor: 'istio-system/istiod-no-such-revision' });
  });
});

describe('gateways', () => {
  it('listGateways finds the lab’s ingress gateway and the revision its pods follow', async () => {
    expect(await run(activities.listGateways, { namespace: 'istio-system', selector: 'istio=ingressgateway' })).toEqual([
      { namespace: 'istio-system', name: 'istio-ingressgateway', revision: oldRevision },
    ]);
    expect(await run(activities.listGateways, { namespace: 'istio-system', selector: 'istio=no-such-gateway' })).toEqual([]);
  });

  it('setGatewayRevision refuses a gateway that selects its pods by istio.io/rev, and a missing one', async () => {
    const pinned = deploymentManifest(REV, 'pinned-gateway', 1)
      .replace('matchLabels: { app: pinned-gateway }', `matchLabels: { app: pinned-gateway, istio.io/rev: ${oldRevision} }`)
      .replace('labels: { app: pinned-gateway, version: v1 }', `labels: { app: pinned-gateway, version: v1, istio.io/rev: ${oldRevision} }`);
    await kubectl(paths, ['apply', '-f', '-'], pinned);
    const refused = await failureOf(run(activities.setGatewayRevision, { namespace: REV, name: 'pinned-gateway', revision: newRevision, token: 't' }));
    expect(refused).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(refused.message).toMatch(/selects its pods by istio.io\/rev/);
    const template = (await apps.readNamespacedDeployment({ namespace: REV, name: 'pinned-gateway' })).spec?.template.metadata;
    expect(template?.labels?.['istio.io/rev']).toBe(oldRevision);
    expect(template?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined();

    const missing = await failureOf(run(activities.setGatewayRevision, { namespace: REV, name: 'no-such-gateway', revision: newRevision, token: 't' }));
    expect(missing).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
  });
});
