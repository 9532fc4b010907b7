// The lab's fault knobs (lab/knobs.ts, lab/stages.ts) against the test lab:
// KWOK's default stages still make ordinary pods Ready, a never-ready workload
// really stalls (the deployment controller itself gives up), a slow-start
// workload is Running-but-unready first and then completes, and a version
// marked faulty really changes what the traffic simulator serves.
// Works in its own namespace, which it deletes; leaves no fault behind.

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CLUSTER_NAME, kubectl } from '../../lab/cluster.js';
import { deploymentManifest } from '../../lab/fleet.js';
import {
  NEVER_READY_LABEL,
  SLOW_START_LABEL,
  assertKnobStages,
  clearFault,
  clearPodKnobs,
  listFaults,
  neverReady,
  setFault,
  slowStart,
} from '../../lab/knobs.js';
import { labInfo, type LabInfo } from '../../lab/lab.js';
import { labPaths, type LabPaths } from '../../lab/paths.js';
import { LAB_STAGE_NAMES } from '../../lab/stages.js';
import { FAULTY_PROFILE, HEALTHY_PROFILE } from '../../lab/traffic/profiles.js';
import type { SimulatorState } from '../../lab/traffic/simulator.js';
import { useTestLab } from '../support/lab.js';

jest.setTimeout(120_000);

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const NS = `lab-knobs-${Date.now().toString(36)}`;

let paths: LabPaths;
let info: LabInfo;
let core: CoreV1Api;
let apps: AppsV1Api;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const isReady = (pod: V1Pod): boolean => pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const live = (pods: V1Pod[]): V1Pod[] => pods.filter((pod) => pod.metadata?.deletionTimestamp == null);

async function podsOf(deployment: string): Promise<V1Pod[]> {
  return live((await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${deployment}` })).items);
}

/** The rollout is complete the way `kubectl rollout status` means it, and every live pod is Ready. */
async function rolledOut(name: string): Promise<V1Deployment | undefined> {
  const d = await apps.readNamespacedDeployment({ namespace: NS, name });
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const done =
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    s.updatedReplicas === want &&
    (s.replicas ?? 0) === want &&
    s.readyReplicas === want &&
    s.availableReplicas === want;
  if (!done) return undefined;
  const pods = await podsOf(name);
  return pods.length === want && pods.every(isReady) ? d : undefined;
}

async function simulatorState(): Promise<SimulatorState> {
  const response = await fetch(`${info.trafficUrl}/state`);
  return (await response.json()) as SimulatorState;
}

beforeAll(async () => {
  useTestLab();
  paths = labPaths();
  info = labInfo(paths);
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  const namespace = `apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
  labels:
    istio.io/rev: ${info.versions.oldRevision}
`;
  await kubectl(paths, ['apply', '-f', '-'], [namespace, ...['plain', 'stuck', 'slow'].map((name) => deploymentManifest(NS, name, 2))].join('---\n'));
  for (const name of ['plain', 'stuck', 'slow']) await eventually(`${NS}/${name} Ready`, () => rolledOut(name));
});

afterAll(async () => {
  await clearFault(info, info.versions.oldVersion).catch(() => undefined);
  await kubectl(paths, ['delete', 'namespace', NS, '--ignore-not-found', '--timeout=90s']).catch(() => undefined);
});

describe('KWOK stages', () => {
  it('run KWOK’s default node and pod stages next to the knob stages', async () => {
    expect(() => assertKnobStages(paths)).not.toThrow();
    const config = readFileSync(join(paths.kwokWorkdir, 'clusters', CLUSTER_NAME, 'kwok.yaml'), 'utf8');
    const stages = parseAllDocuments(config)
      .map((doc) => doc.toJS() as { kind?: string; metadata?: { name?: string } } | null)
      .filter((doc) => doc?.kind === 'Stage')
      .map((doc) => doc?.metadata?.name);
    expect(stages.sort()).toEqual([...LAB_STAGE_NAMES].sort());

    // An ordinary workload's pods went Pending -> Running/Ready with the lab's proxy injected.
    const pods = await podsOf('plain');
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Running');
      expect(isReady(pod)).toBe(true);
      expect(pod.status?.podIP).toMatch(/^127\.1\./);
      expect(pod.spec?.containers.map((c) => c.name)).toContain('istio-proxy');
    }
    // The nodes are initialized and kept Ready by the restated node stages.
    const nodes = (await core.listNode()).items;
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    for (const node of nodes) expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });
});

describe('pod knobs', () => {
  it('neverReady: new pods run but never become Ready, and the deployment controller reports ProgressDeadlineExceeded', async () => {
    // A short controller deadline, so the controller's own verdict comes quickly.
    await apps.patchNamespacedDeployment({ namespace: NS, name: 'stuck', body: { spec: { progressDeadlineSeconds: 3 } } }, MERGE_PATCH);
    await neverReady(paths, NS, 'stuck');

    const stalled = await eventually('ProgressDeadlineExceeded', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: NS, name: 'stuck' });
      const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
      return progressing?.reason === 'ProgressDeadlineExceeded' ? d : undefined;
    });
    const held = (await podsOf('stuck')).filter((pod) => pod.metadata?.labels?.[NEVER_READY_LABEL] === 'true');
    expect(held.length).toBeGreaterThanOrEqual(1);
    for (const pod of held) {
      expect(pod.status?.phase).toBe('Running');
      expect(isReady(pod)).toBe(false);
      expect(pod.status?.containerStatuses?.every((c) => c.ready === false && c.state?.running)).toBe(true);
    }
    // The old pods keep serving: maxUnavailable 25% of 2 rounds down to 0.
    expect(stalled.status?.readyReplicas).toBe(2);
    expect(stalled.status?.updatedReplicas).toBe(held.length);

    // The traffic simulator sees the unready pod too (it serves Ready pods only).
    const workload = await eventually('the simulator to see the unready pod', async () => {
      const seen = (await simulatorState()).workloads.find((w) => w.namespace === NS && w.workload === 'stuck');
      return seen && seen.pods > 2 ? seen : undefined;
    });
    expect(workload.readyPods).toBe(2);

    // Clearing the knob rolls out ordinary pods again.
    await apps.patchNamespacedDeployment({ namespace: NS, name: 'stuck', body: { spec: { progressDeadlineSeconds: 120 } } }, MERGE_PATCH);
    await clearPodKnobs(paths, NS, 'stuck');
    await eventually('stuck rolled out after clearPodKnobs', () => rolledOut('stuck'));
    expect((await podsOf('stuck')).some((pod) => pod.metadata?.labels?.[NEVER_READY_LABEL] !== undefined)).toBe(false);
  });

  it('slowStart: new pods are Running but unready first, then Ready, and the rollout completes', async () => {
    await slowStart(paths, NS, 'slow', '3s');
    const unready = await eventually('a slow-start pod Running but not Ready', async () => {
      const pods = (await podsOf('slow')).filter((pod) => pod.metadata?.labels?.[SLOW_START_LABEL] === '3s');
      return pods.find((pod) => pod.status?.phase === 'Running' && !isReady(pod));
    });
    expect(unready.status?.podIP).toMatch(/^127\.1\./);

    await eventually('slow rolled out', () => rolledOut('slow'));
    const pods = await podsOf('slow');
    expect(pods.every((pod) => pod.metadata?.labels?.[SLOW_START_LABEL] === '3s' && isReady(pod))).toBe(true);
    // The pod seen unready is the same pod that later became Ready (not a replacement).
    const later = await core.readNamespacedPod({ namespace: NS, name: unready.metadata!.name! });
    expect(isReady(later)).toBe(true);
    expect(later.metadata?.uid).toBe(unready.metadata?.uid);
  });

  it('refuse bad input before touching the cluster', async () => {
    await expect(slowStart(paths, NS, 'slow', 'soon')).rejects.toThrow(/Go duration/);
    await expect(neverReady(paths, 'Not_A_Namespace', 'slow')).rejects.toThrow(/not a valid name/);
    await expect(neverReady(paths, NS, '--all')).rejects.toThrow(/not a valid name/);
  });
});

describe('traffic faults', () => {
  it('setFault marks a proxy version faulty in the simulator and clearFault puts it back', async () => {
    const version = info.versions.oldVersion;
    const errorRateOf = async (): Promise<number | null | undefined> =>
      (await simulatorState()).workloads.find((w) => w.namespace === NS && w.workload === 'plain')?.errorRate;
    // The simulator watches pods: wait until it serves this namespace.
    await eventually('the simulator to serve plain', async () => ((await errorRateOf()) == null ? undefined : true));
    expect(await errorRateOf()).toBeCloseTo(HEALTHY_PROFILE.errorRate, 6);

    try {
      const applied = await setFault(info, version, { errorRate: 0.3 });
      // Fields not given take the default profile's.
      expect(applied).toEqual({ ...HEALTHY_PROFILE, errorRate: 0.3 });
      expect((await listFaults(info)).versions[version]).toEqual(applied);
      expect(await errorRateOf()).toBeGreaterThan(0.25);

      // Without a profile: the ready-made "bad release".
      expect(await setFault(info, version)).toEqual(FAULTY_PROFILE);
    } finally {
      await clearFault(info, version);
    }
    expect((await listFaults(info)).versions[version]).toBeUndefined();
    expect(await errorRateOf()).toBeCloseTo(HEALTHY_PROFILE.errorRate, 6);
    // Clearing a version that is not marked is fine.
    await clearFault(info, version);
  });

  it('setFault rejects a profile the simulator refuses', async () => {
    await expect(setFault(info, info.versions.oldVersion, { errorRate: 2 })).rejects.toThrow(/HTTP 400.*errorRate/);
    await expect(setFault({ trafficUrl: 'http://10.0.0.1:1' }, '1.0.0')).rejects.toThrow(/loopback/);
    expect((await listFaults(info)).versions[info.versions.oldVersion]).toBeUndefined();
  });
});
