// The real istioctl activities (activities/istioctl.ts) with the lab's real
// istioctl against the test lab, driving a canary the way the workflow does:
// install the new revision (with the lab's overlay, webhooks pointed at the
// loopback injector), wait for its istiod, move a namespace, the ingress
// gateway and a revision tag onto it and back (pods really get the new
// revision's proxy from the injector), then uninstall it.
//
// Leaves the lab as it found it: the tag and the gateway are moved back, the
// revision is uninstalled, and its own namespaces are deleted (afterAll does
// the same if a test fails halfway).

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1ObjectMeta, type V1Pod } from '@kubernetes/client-node';
import { createActivities } from '../../activities/index.js';
import type { UpgradeActivities } from '../../activities/contract.js';
import { kubectl } from '../../lab/cluster.js';
import { deploymentManifest } from '../../lab/fleet.js';
import { LAB_TAG, labInfo, type LabInfo } from '../../lab/lab.js';
import { labPaths, type LabPaths } from '../../lab/paths.js';
import { useTestLab } from '../support/lab.js';
import { failureOf, runActivity as run } from '../support/activity-context.js';

jest.setTimeout(180_000);

const RUN = Date.now().toString(36);
/** Moved from the old revision to the new one and back (istio.io/rev=<old revision>). */
const MIGRATED = `act-ctl-${RUN}-migrated`;
/** Follows the lab's named tag (istio.io/rev=prod-stable). */
const TAGGED = `act-ctl-${RUN}-tagged`;
const GATEWAY = { namespace: 'istio-system', name: 'istio-ingressgateway' };
const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

let paths: LabPaths;
let info: LabInfo;
let core: CoreV1Api;
let apps: AppsV1Api;
let admission: AdmissionregistrationV1Api;
let activities: UpgradeActivities;
let istioctl: string;
let oldRevision: string;
let newRevision: string;
/** The gateway's pod-template labels and annotations before the tests, restored after. */
let gatewayTemplate: Pick<V1ObjectMeta, 'labels' | 'annotations'>;



const rollout = (namespace: string) => run(activities.waitForRollout, { namespace, kinds: ['Deployment'], progressDeadlineMs: 90_000 });

async function runningPods(namespace: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace })).items.filter((pod) => pod.status?.phase === 'Running' && pod.metadata?.deletionTimestamp == null);
}

function proxyImages(pods: V1Pod[]): string[] {
  return [...new Set(pods.map((pod) => pod.spec?.containers.find((c) => c.name === 'istio-proxy')?.image ?? '(none)'))];
}

async function readGatewayTemplate(): Promise<Pick<V1ObjectMeta, 'labels' | 'annotations'>> {
  const metadata = (await apps.readNamespacedDeployment(GATEWAY)).spec?.template.metadata ?? {};
  return { labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} };
}

/** Puts the gateway's pod template back exactly (labels and annotations), then waits for its rollout. */
async function restoreGateway(): Promise<void> {
  const now = await readGatewayTemplate();
  if (JSON.stringify(now) === JSON.stringify(gatewayTemplate)) return;
  const body = [
    { op: 'replace', path: '/spec/template/metadata/labels', value: gatewayTemplate.labels },
    { op: 'replace', path: '/spec/template/metadata/annotations', value: gatewayTemplate.annotations },
  ];
  await apps.patchNamespacedDeployment({ ...GATEWAY, body }, JSON_PATCH);
  await rollout(GATEWAY.namespace);
}

async function installed(revision: string): Promise<boolean> {
  const state = await run(activities.detectMeshState, { namespaces: [] });
  return state.revisions.some((r) => r.revision === revision);
}

beforeAll(async () => {
  useTestLab();
  paths = labPaths();
  info = labInfo(paths);
  istioctl = info.istioctl;
  ({ oldRevision, newRevision } = info.versions);
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  admission = kc.makeApiClient(AdmissionregistrationV1Api);
  activities = createActivities({ kubeConfig: kc, kubeconfigPath: info.kubeconfig, backupDir: paths.backups });

  // The lab as `lab up` leaves it: only the old revision, both tags on it.
  const state = await run(activities.detectMeshState, { namespaces: [] });
  expect(state.revisions.map((r) => r.revision)).toEqual([oldRevision]);
  expect(state.tags).toEqual({ default: oldRevision, [LAB_TAG]: oldRevision });
  gatewayTemplate = await readGatewayTemplate();

  const namespaces = `apiVersion: v1
kind: Namespace
metadata:
  name: ${MIGRATED}
  labels: { istio.io/rev: ${oldRevision}, team: lab-tests }
---
apiVersion: v1
kind: Namespace
metadata:
  name: ${TAGGED}
  labels: { istio.io/rev: ${LAB_TAG} }
`;
  await kubectl(paths, ['apply', '-f', '-'], [namespaces, deploymentManifest(MIGRATED, 'api', 2), deploymentManifest(MIGRATED, 'web', 2), deploymentManifest(TAGGED, 'svc', 1)].join('---\n'));
  await rollout(MIGRATED);
  await rollout(TAGGED);
});

afterAll(async () => {
  // Whatever a failed test left behind, in reverse order.
  const state = await run(activities.detectMeshState, { namespaces: [] }).catch(() => undefined);
  if (state && state.tags[LAB_TAG] !== oldRevision) await run(activities.istioctlTagSet, { istioctl, tag: LAB_TAG, revision: oldRevision }).catch(() => undefined);
  if (gatewayTemplate) await restoreGateway().catch(() => undefined);
  await kubectl(paths, ['delete', 'namespace', MIGRATED, TAGGED, '--ignore-not-found', '--timeout=90s']).catch(() => undefined);
  if (state?.revisions.some((r) => r.revision === newRevision)) await run(activities.istioctlUninstall, { istioctl, revision: newRevision }).catch(() => undefined);
});

describe('istioctl before the upgrade', () => {
  it('istioctlVersion reads the client version; a missing binary fails for good', async () => {
    expect(await run(activities.istioctlVersion, { istioctl })).toEqual({ clientVersion: info.versions.newVersion });
    const missing = await failureOf(run(activities.istioctlVersion, { istioctl: `${paths.root}/no-such-istioctl` }));
    expect(missing).toMatchObject({ type: 'IstioctlFailed', nonRetryable: true });
    expect(missing.message).toMatch(/not found/);
  });

  it('istioctlPrecheck finds the lab safe to upgrade to the new revision', async () => {
    const { output } = await run(activities.istioctlPrecheck, { istioctl, revision: newRevision });
    expect(output).toMatch(/No issues found when checking the cluster/);
  });
});

describe('the new revision', () => {
  it('istioctlInstall installs it next to the old one with the lab overlay; waitForIstiod sees its istiod Ready', async () => {
    const missingOverlay = await failureOf(
      run(activities.istioctlInstall, { istioctl, revision: newRevision, profile: 'minimal', overlay: `${paths.root}/no-such-overlay.yaml` }),
    );
    expect(missingOverlay).toMatchObject({ type: 'IstioctlFailed', nonRetryable: true });
    expect(await installed(newRevision)).toBe(false);

    const heartbeats: unknown[] = [];
    const { output } = await run(activities.istioctlInstall, { istioctl, revision: newRevision, profile: 'minimal', overlay: info.targetOverlay }, heartbeats);
    expect(output).toMatch(/Installation complete/);
    expect(heartbeats[0]).toMatchObject({ command: expect.stringContaining(`revision=${newRevision}`) });

    expect((await run(activities.waitForIstiod, { revision: newRevision, timeoutMs: 120_000 })).readyReplicas).toBeGreaterThanOrEqual(1);
    const state = await run(activities.detectMeshState, { namespaces: [] });
    expect(state.revisions).toEqual([
      { revision: oldRevision, version: info.versions.oldVersion, ready: true },
      { revision: newRevision, version: info.versions.newVersion, ready: true },
    ]);
    // Installing a canary moves no tag.
    expect(state.tags).toEqual({ default: oldRevision, [LAB_TAG]: oldRevision });
    // Its injection webhook calls the lab injector on loopback, for this revision.
    const webhook = await admission.readMutatingWebhookConfiguration({ name: `istio-sidecar-injector-${newRevision}` });
    for (const hook of webhook.webhooks ?? []) expect(hook.clientConfig.url).toBe(`${info.injectorUrl}/inject/rev/${newRevision}`);
  });

  it('a namespace relabelled and restarted runs the new revision’s proxies; restoring its labels brings the old ones back', async () => {
    const [snapshot] = (await run(activities.detectMeshState, { namespaces: [MIGRATED] })).namespaces;
    expect(snapshot!.labels).toEqual({ 'istio-injection': null, 'istio.io/rev': oldRevision });

    await run(activities.setNamespaceInjection, { namespace: MIGRATED, labels: { 'istio-injection': null, 'istio.io/rev': newRevision } });
    const restart = await run(activities.restartWorkloads, { namespace: MIGRATED, kinds: ['Deployment'], token: `canary-${RUN}` });
    expect(restart.restarted.map((ref) => ref.name)).toEqual(['api', 'web']);
    await rollout(MIGRATED);

    expect(await run(activities.checkProxyRevision, { namespace: MIGRATED, revision: newRevision })).toEqual({ namespace: MIGRATED, matching: 4, mismatched: [] });
    const asOld = await run(activities.checkProxyRevision, { namespace: MIGRATED, revision: oldRevision });
    expect(asOld.matching).toBe(0);
    expect(asOld.mismatched).toHaveLength(4);
    for (const pod of asOld.mismatched) expect(pod.revision).toBe(newRevision);
    // The injector gave them the new version's proxy image.
    expect(proxyImages(await runningPods(MIGRATED))).toEqual([`${info.versions.hub}/proxyv2:${info.versions.newVersion}`]);
    expect(await run(activities.countProxiesOnRevision, { revision: newRevision })).toEqual({ pods: 4, namespaces: [MIGRATED] });

    // Rollback: the exact labels from before, a new token, the old proxies again.
    await run(activities.setNamespaceInjection, { namespace: MIGRATED, labels: snapshot!.labels });
    await run(activities.restartWorkloads, { namespace: MIGRATED, kinds: ['Deployment'], token: `rollback-${RUN}` });
    await rollout(MIGRATED);
    expect(await run(activities.checkProxyRevision, { namespace: MIGRATED, revision: oldRevision })).toEqual({ namespace: MIGRATED, matching: 4, mismatched: [] });
    expect(proxyImages(await runningPods(MIGRATED))).toEqual([`${info.versions.hub}/proxyv2:${info.versions.oldVersion}`]);
    expect(await run(activities.countProxiesOnRevision, { revision: newRevision })).toEqual({ pods: 0, namespaces: [] });
  });

  it('setGatewayRevision moves the ingress gateway’s pods to the new revision, once per token, and back', async () => {
    const token = `gateway-${RUN}`;
    expect(await run(activities.setGatewayRevision, { ...GATEWAY, revision: newRevision, token })).toEqual({ changed: true });
    // A retry of the same step changes nothing.
    expect(await run(activities.setGatewayRevision, { ...GATEWAY, revision: newRevision, token })).toEqual({ changed: false });
    expect(await run(activities.listGateways, { namespace: GATEWAY.namespace, selector: 'istio=ingressgateway' })).toEqual([{ ...GATEWAY, revision: newRevision }]);
    await rollout(GATEWAY.namespace);
    expect(await run(activities.countProxiesOnRevision, { revision: newRevision })).toEqual({ pods: 2, namespaces: [GATEWAY.namespace] });
    const gatewayPods = (await runningPods(GATEWAY.namespace)).filter((pod) => pod.metadata?.labels?.['istio'] === 'ingressgateway');
    expect(proxyImages(gatewayPods)).toEqual([`${info.versions.hub}/proxyv2:${info.versions.newVersion}`]);

    expect(await run(activities.setGatewayRevision, { ...GATEWAY, revision: oldRevision, token: `gateway-back-${RUN}` })).toEqual({ changed: true });
    await rollout(GATEWAY.namespace);
    expect(await run(activities.countProxiesOnRevision, { revision: newRevision })).toEqual({ pods: 0, namespaces: [] });

    // And exactly as `lab up` left it (no restart annotation).
    await restoreGateway();
    expect(await readGatewayTemplate()).toEqual(gatewayTemplate);
    expect(await run(activities.listGateways, { namespace: GATEWAY.namespace, selector: 'istio=ingressgateway' })).toEqual([{ ...GATEWAY, revision: oldRevision }]);
  });

  it('istioctlTagSet moves a revision tag to the new revision, so pods following the tag get its proxies, and back', async () => {
    await run(activities.istioctlTagSet, { istioctl, tag: LAB_TAG, revision: newRevision });
    expect((await run(activities.detectMeshState, { namespaces: [] })).tags).toEqual({ default: oldRevision, [LAB_TAG]: newRevision });
    // A retry converges (--overwrite).
    await run(activities.istioctlTagSet, { istioctl, tag: LAB_TAG, revision: newRevision });
    await run(activities.restartWorkloads, { namespace: TAGGED, kinds: ['Deployment'], token: `tag-${RUN}` });
    await rollout(TAGGED);
    expect(await run(activities.checkProxyRevision, { namespace: TAGGED, revision: newRevision })).toEqual({ namespace: TAGGED, matching: 1, mismatched: [] });

    await run(activities.istioctlTagSet, { istioctl, tag: LAB_TAG, revision: oldRevision });
    expect((await run(activities.detectMeshState, { namespaces: [] })).tags).toEqual({ default: oldRevision, [LAB_TAG]: oldRevision });
    await run(activities.restartWorkloads, { namespace: TAGGED, kinds: ['Deployment'], token: `tag-back-${RUN}` });
    await rollout(TAGGED);
    expect(await run(activities.checkProxyRevision, { namespace: TAGGED, revision: oldRevision })).toEqual({ namespace: TAGGED, matching: 1, mismatched: [] });
  });

  it('istioctlUninstall removes the revision once nothing runs on it; again, or for a revision never installed, it succeeds', async () => {
    expect(await run(activities.countProxiesOnRevision, { revision: newRevision })).toEqual({ pods: 0, namespaces: [] });
    await run(activities.istioctlUninstall, { istioctl, revision: newRevision });

    // istioctl deletes in the foreground: its istiod may outlive the command for a moment,
    // being deleted; detectMeshState must not count it as installed then.
    const lingering = await apps.readNamespacedDeployment({ namespace: 'istio-system', name: `istiod-${newRevision}` }).catch(() => undefined);
    if (lingering) expect(lingering.metadata?.deletionTimestamp).toBeDefined();
    const state = await run(activities.detectMeshState, { namespaces: [] });
    expect(state.revisions).toEqual([{ revision: oldRevision, version: info.versions.oldVersion, ready: true }]);
    expect(state.tags).toEqual({ default: oldRevision, [LAB_TAG]: oldRevision });
    // Its injection webhook is gone or going (the same foreground deletion).
    const webhooks = await admission.listMutatingWebhookConfiguration({ labelSelector: `istio.io/rev=${newRevision}` });
    expect(webhooks.items.filter((webhook) => webhook.metadata?.deletionTimestamp == null).map((webhook) => webhook.metadata?.name)).toEqual([]);
    expect(await failureOf(run(activities.waitForIstiod, { revision: newRevision, timeoutMs: 2_000 }))).toMatchObject({ type: 'RolloutFailed' });

    // A retry after success (istioctl may still see the objects it is deleting, or none), and a
    // revision that never existed: converged, not an error.
    expect((await run(activities.istioctlUninstall, { istioctl, revision: newRevision })).output).toMatch(/not installed|Uninstall complete/);
    expect((await run(activities.istioctlUninstall, { istioctl, revision: 'never-installed' })).output).toMatch(/not installed/);
    // The old revision still serves.
    expect((await run(activities.waitForIstiod, { revision: oldRevision, timeoutMs: 10_000 })).readyReplicas).toBeGreaterThanOrEqual(1);
  });
});
