// Kubernetes adapter: the cluster reads and patches of an upgrade, each a thin
// idempotent call that converges an object to a target state. The decisions
// (what a patch should contain, whether a rollout is complete, which revision
// injected a pod) are pure functions in kubernetes-*.ts; this file only fetches,
// patches and waits.

import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  VersionApi,
  type KubeConfig,
  type V1DaemonSet,
  type V1Deployment,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkloadKind } from '../plan/types.js';
import {
  PermanentErrors,
  type ControlPlaneRevision,
  type GatewayState,
  type NamespaceSnapshot,
  type UpgradeActivities,
  type WorkloadRef,
} from './contract.js';
import { gatewayRevisionPatch, injectionLabelsOf, injectionLabelsPatch, restartPatch, templateRevisionOf, type MergePatch } from './kubernetes-labels.js';
import {
  ISTIO_NAMESPACE,
  REVISION_KEY,
  TAG_LABEL,
  isLivePod,
  isRunningPod,
  istiodDeploymentName,
  istiodImage,
  istiodReady,
  istiodRevision,
  podProxyRevision,
  tagsFromWebhooks,
  versionFromImage,
} from './kubernetes-revision.js';
import { rolloutProgress, type RolloutProgress, type WorkloadObject } from './kubernetes-rollout.js';
import { MERGE_PATCH, api, apiFailure, beat, invalidInput, isNotFound, namespaceNotFound, pause, previousHeartbeat } from './kubernetes-support.js';
import { watchWorkloads } from './workload-watch.js';
import {
  requireDuration,
  requireInjectionLabels,
  requireKinds,
  requireNamespace,
  requireObjectName,
  requireRevision,
  requireSelector,
  requireToken,
} from './kubernetes-validate.js';

export type KubernetesActivities = Pick<
  UpgradeActivities,
  | 'checkCluster'
  | 'detectMeshState'
  | 'listNamespaces'
  | 'findMissingNamespaces'
  | 'setNamespaceInjection'
  | 'restartWorkloads'
  | 'waitForRollout'
  | 'checkProxyRevision'
  | 'waitForIstiod'
  | 'listGateways'
  | 'setGatewayRevision'
  | 'countProxiesOnRevision'
>;

/** How often a wait heartbeats and checks its deadline (and waitForIstiod looks again); well inside the workflow's 30 s heartbeat timeout. */
export const POLL_INTERVAL_MS = 1_500;
/**
 * Pods per page when walking pods. A decoded pod costs the worker tens of KB, so
 * the cluster-wide count (every pod, at finalize) handles one page at a time:
 * the worker's memory then depends on the page, not on the cluster's size.
 */
const POD_PAGE_SIZE = 100;
/** Parallel reads when checking many namespaces. */
const READ_CONCURRENCY = 8;

type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

interface WorkloadStatus {
  ref: WorkloadRef;
  progress: RolloutProgress;
}

/** What a wait remembers in its heartbeat, so a retried attempt keeps the original clock. */
interface WaitCheckpoint {
  startedAt: number;
  lastProgressAt: number;
  fingerprint?: string;
}

function readCheckpoint(details: unknown): WaitCheckpoint | undefined {
  if (!details || typeof details !== 'object') return undefined;
  const { startedAt, lastProgressAt, fingerprint } = details as Partial<WaitCheckpoint>;
  if (typeof startedAt !== 'number' || typeof lastProgressAt !== 'number') return undefined;
  return { startedAt, lastProgressAt, fingerprint: typeof fingerprint === 'string' ? fingerprint : undefined };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function describeWorkload(ref: WorkloadRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

function byRef(a: WorkloadRef, b: WorkloadRef): number {
  return a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);
}

function rolloutFailed(message: string, details: unknown): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, PermanentErrors.RolloutFailed, details);
}

export function createKubernetesActivities(kc: KubeConfig): KubernetesActivities {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const version = kc.makeApiClient(VersionApi);

  /** The namespace's labels, or undefined when it does not exist. */
  async function readNamespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    try {
      const namespace = await core.readNamespace({ name });
      return namespace.metadata?.labels ?? {};
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw apiFailure(`read namespace ${name}`, error);
    }
  }

  /**
   * Listing in a missing namespace returns nothing; a missing namespace must fail
   * loudly instead. Asked only when a list came back empty: one request less per
   * activity and namespace, which adds up across a wave of hundreds.
   */
  async function requireNamespaceExists(name: string): Promise<Record<string, string>> {
    const labels = await readNamespaceLabels(name);
    if (labels === undefined) throw namespaceNotFound([name]);
    return labels;
  }

  async function listWorkloads(namespace: string, kind: WorkloadKind): Promise<Workload[]> {
    const what = `list ${kind}s in ${namespace}`;
    switch (kind) {
      case 'Deployment':
        return (await api(what, () => apps.listNamespacedDeployment({ namespace }))).items;
      case 'StatefulSet':
        return (await api(what, () => apps.listNamespacedStatefulSet({ namespace }))).items;
      case 'DaemonSet':
        return (await api(what, () => apps.listNamespacedDaemonSet({ namespace }))).items;
    }
  }

  /** Sends a merge patch to one workload; errors are left raw so callers can tell a 404. */
  function patchWorkload(ref: WorkloadRef, body: MergePatch): Promise<Workload> {
    const { namespace, name } = ref;
    switch (ref.kind) {
      case 'Deployment':
        return apps.patchNamespacedDeployment({ namespace, name, body }, MERGE_PATCH);
      case 'StatefulSet':
        return apps.patchNamespacedStatefulSet({ namespace, name, body }, MERGE_PATCH);
      case 'DaemonSet':
        return apps.patchNamespacedDaemonSet({ namespace, name, body }, MERGE_PATCH);
    }
  }

  /** The Deployment, or undefined when it does not exist. */
  async function readDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    try {
      return await apps.readNamespacedDeployment({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw apiFailure(`read Deployment ${namespace}/${name}`, error);
    }
  }

  /** The pods of a namespace (or of the whole cluster), a page at a time. */
  async function* podPages(namespace?: string): AsyncGenerator<V1Pod[]> {
    let _continue: string | undefined;
    do {
      const page = namespace
        ? await api(`list pods in ${namespace}`, () => core.listNamespacedPod({ namespace, limit: POD_PAGE_SIZE, _continue }))
        : await api('list pods in all namespaces', () => core.listPodForAllNamespaces({ limit: POD_PAGE_SIZE, _continue }));
      yield page.items;
      _continue = page.metadata?._continue || undefined;
    } while (_continue);
  }

  async function listPods(namespace: string): Promise<V1Pod[]> {
    const pods: V1Pod[] = [];
    for await (const page of podPages(namespace)) pods.push(...page);
    return pods;
  }

  return {
    async checkCluster() {
      const info = await api('read the API server version', () => version.getCode());
      return { serverVersion: info.gitVersion };
    },

    async detectMeshState({ namespaces }) {
      const names = [...new Set(namespaces.map(requireNamespace))];

      const istiods = await api(`list istiod Deployments in ${ISTIO_NAMESPACE}`, () =>
        apps.listNamespacedDeployment({ namespace: ISTIO_NAMESPACE, labelSelector: 'app=istiod' }),
      );
      const revisions: ControlPlaneRevision[] = istiods.items
        // An istiod being deleted (`istioctl uninstall` deletes in the foreground, so its
        // Deployment outlives the command until its pods are gone) is no installed revision.
        .filter((deployment) => deployment.metadata?.deletionTimestamp == null)
        .map((deployment) => {
          const found = versionFromImage(istiodImage(deployment));
          return { revision: istiodRevision(deployment), ...(found && { version: found }), ready: istiodReady(deployment) };
        })
        .sort((a, b) => a.revision.localeCompare(b.revision));

      const webhooks = await api('list revision tag webhooks', () => admission.listMutatingWebhookConfiguration({ labelSelector: TAG_LABEL }));
      const tags = tagsFromWebhooks(webhooks.items);

      const labels = await mapLimit(names, READ_CONCURRENCY, readNamespaceLabels);
      const missing = names.filter((_, i) => labels[i] === undefined);
      if (missing.length) throw namespaceNotFound(missing);
      const snapshots: NamespaceSnapshot[] = names.map((name, i) => ({ name, labels: injectionLabelsOf(labels[i]) }));

      return { revisions, tags, namespaces: snapshots };
    },

    async listNamespaces({ selector }) {
      requireSelector(selector);
      const list = await api(`list namespaces matching ${selector}`, () => core.listNamespace({ labelSelector: selector }));
      // A namespace being deleted cannot be migrated (its pods are going away too).
      return list.items
        .filter((ns) => ns.status?.phase !== 'Terminating' && ns.metadata?.deletionTimestamp == null)
        .map((ns) => ns.metadata?.name ?? '')
        .filter((name) => name !== '')
        .sort();
    },

    async findMissingNamespaces({ namespaces }) {
      const names = [...new Set(namespaces.map(requireNamespace))];
      const labels = await mapLimit(names, READ_CONCURRENCY, readNamespaceLabels);
      return names.filter((_, i) => labels[i] === undefined);
    },

    async setNamespaceInjection({ namespace, labels }) {
      requireNamespace(namespace);
      const target = requireInjectionLabels(labels);
      const current = await requireNamespaceExists(namespace);
      const body = injectionLabelsPatch(current, target);
      if (body === null) return { name: namespace, labels: injectionLabelsOf(current) };
      try {
        // The patch response is the namespace as stored after the patch: the read-back.
        const patched = await core.patchNamespace({ name: namespace, body }, MERGE_PATCH);
        return { name: namespace, labels: injectionLabelsOf(patched.metadata?.labels) };
      } catch (error) {
        if (isNotFound(error)) throw namespaceNotFound([namespace]);
        throw apiFailure(`label namespace ${namespace}`, error);
      }
    },

    async restartWorkloads({ namespace, kinds, token }) {
      requireNamespace(namespace);
      const wanted = requireKinds(kinds);
      requireToken(token);

      const restarted: WorkloadRef[] = [];
      const alreadyRestarted: WorkloadRef[] = [];
      for (const kind of wanted) {
        for (const workload of await listWorkloads(namespace, kind)) {
          const ref: WorkloadRef = { kind, namespace, name: workload.metadata?.name ?? '' };
          const body = restartPatch(workload, token);
          if (body === null) {
            alreadyRestarted.push(ref);
            continue;
          }
          try {
            await patchWorkload(ref, body);
            restarted.push(ref);
          } catch (error) {
            // Deleted between the list and the patch: nothing left to restart.
            if (!isNotFound(error)) throw apiFailure(`restart ${describeWorkload(ref)}`, error);
          }
          beat({ restarted: restarted.length, alreadyRestarted: alreadyRestarted.length });
        }
      }
      if (!restarted.length && !alreadyRestarted.length) await requireNamespaceExists(namespace);
      return { restarted: restarted.sort(byRef), alreadyRestarted: alreadyRestarted.sort(byRef) };
    },

    async waitForRollout({ namespace, kinds, progressDeadlineMs }) {
      requireNamespace(namespace);
      const wanted = requireKinds(kinds);
      requireDuration(progressDeadlineMs, 'progressDeadlineMs');

      const checkpoint = readCheckpoint(previousHeartbeat());
      const startedAt = checkpoint?.startedAt ?? Date.now();
      let lastProgressAt = checkpoint?.lastProgressAt ?? startedAt;
      let fingerprint = checkpoint?.fingerprint;

      const watch = await watchWorkloads(kc, namespace, wanted);
      try {
        for (;;) {
          const failure = watch.failure();
          if (failure !== undefined) throw apiFailure(`watch ${wanted.join(', ')} workloads in ${namespace}`, failure);
          const statuses = wanted
            .flatMap((kind) =>
              watch.workloads(kind).map((workload): WorkloadStatus => ({
                ref: { kind, namespace, name: workload.metadata?.name ?? '' },
                progress: rolloutProgress(kind, workload as WorkloadObject),
              })),
            )
            .sort((a, b) => byRef(a.ref, b.ref));
          const now = Date.now();
          const describe = ({ ref, progress }: WorkloadStatus): string => `${describeWorkload(ref)}: ${progress.lacking.join(', ')}`;

          const failed = statuses.filter((s) => s.progress.state === 'failed');
          if (failed.length) {
            throw rolloutFailed(`rollout failed in ${namespace}: ${failed.map(describe).join('; ')}`, { failed: failed.map(describe) });
          }
          const pending = statuses.filter((s) => s.progress.state === 'progressing');
          if (!pending.length) {
            if (!statuses.length) await requireNamespaceExists(namespace);
            return {
              workloads: statuses.map(({ ref, progress }) => ({ ...ref, readyReplicas: progress.readyReplicas, replicas: progress.replicas })),
              durationMs: now - startedAt,
            };
          }

          const current = JSON.stringify(statuses.map((s) => [s.ref.kind, s.ref.name, s.progress.fingerprint]));
          if (current !== fingerprint) {
            fingerprint = current;
            lastProgressAt = now;
          } else if (now - lastProgressAt > progressDeadlineMs) {
            throw rolloutFailed(
              `rollout in ${namespace} made no progress for ${Math.round((now - lastProgressAt) / 1000)}s ` +
                `(deadline ${Math.round(progressDeadlineMs / 1000)}s): ${pending.map(describe).join('; ')}`,
              { pending: pending.map(describe) },
            );
          }
          const checkpoint: WaitCheckpoint = { startedAt, lastProgressAt, fingerprint };
          beat({ ...checkpoint, pending: pending.slice(0, 20).map(describe) });
          // The next change, or a heartbeat's worth of time to check the deadline; pause() ends the wait on cancellation.
          await Promise.race([watch.nextChange(), pause(POLL_INTERVAL_MS)]);
        }
      } finally {
        await watch.stop();
      }
    },

    async checkProxyRevision({ namespace, revision }) {
      requireNamespace(namespace);
      requireRevision(revision);
      const pods = await listPods(namespace);
      if (!pods.length) await requireNamespaceExists(namespace);
      let matching = 0;
      const mismatched: Array<{ pod: string; revision: string | null }> = [];
      for (const pod of pods.filter(isRunningPod)) {
        const injectedBy = podProxyRevision(pod);
        if (injectedBy === revision) matching++;
        else mismatched.push({ pod: pod.metadata?.name ?? '', revision: injectedBy });
      }
      mismatched.sort((a, b) => a.pod.localeCompare(b.pod));
      return { namespace, matching, mismatched };
    },

    async waitForIstiod({ revision, timeoutMs }) {
      requireRevision(revision);
      requireDuration(timeoutMs, 'timeoutMs');
      const name = istiodDeploymentName(revision);
      const startedAt = readCheckpoint(previousHeartbeat())?.startedAt ?? Date.now();

      for (;;) {
        const deployment = await readDeployment(ISTIO_NAMESPACE, name);
        // istioctl may not have created it yet: keep waiting until the timeout.
        let lacking = ['the Deployment does not exist yet'];
        if (deployment) {
          const progress = rolloutProgress('Deployment', deployment);
          if (progress.state === 'failed') {
            throw rolloutFailed(`${ISTIO_NAMESPACE}/${name} failed to roll out: ${progress.lacking.join(', ')}`, { lacking: progress.lacking });
          }
          if (progress.state === 'complete' && istiodReady(deployment)) return { readyReplicas: deployment.status?.readyReplicas ?? 0 };
          lacking = progress.lacking.length ? progress.lacking : ['no ready replica'];
        }
        const elapsed = Date.now() - startedAt;
        if (elapsed > timeoutMs) {
          throw rolloutFailed(`${ISTIO_NAMESPACE}/${name} not Ready after ${Math.round(elapsed / 1000)}s: ${lacking.join(', ')}`, { lacking });
        }
        const checkpoint: WaitCheckpoint = { startedAt, lastProgressAt: startedAt };
        beat({ ...checkpoint, waitingFor: `${ISTIO_NAMESPACE}/${name}`, lacking });
        await pause(POLL_INTERVAL_MS);
      }
    },

    async listGateways({ namespace, selector }) {
      requireNamespace(namespace);
      requireSelector(selector);
      await requireNamespaceExists(namespace);
      const list = await api(`list gateway Deployments ${selector} in ${namespace}`, () =>
        apps.listNamespacedDeployment({ namespace, labelSelector: selector }),
      );
      const gateways: GatewayState[] = list.items.map((deployment) => ({
        namespace,
        name: deployment.metadata?.name ?? '',
        revision: templateRevisionOf(deployment),
      }));
      return gateways.sort((a, b) => a.name.localeCompare(b.name));
    },

    async setGatewayRevision({ namespace, name, revision, token }) {
      requireNamespace(namespace);
      requireObjectName(name);
      if (revision !== null) requireRevision(revision);
      requireToken(token);

      const deployment = await readDeployment(namespace, name);
      if (!deployment) {
        await requireNamespaceExists(namespace);
        throw invalidInput(`gateway Deployment ${namespace}/${name} does not exist`);
      }
      // The selector is immutable and must match the template: a gateway selected by
      // istio.io/rev cannot be moved by relabelling its pods.
      if (deployment.spec?.selector?.matchLabels?.[REVISION_KEY] !== undefined) {
        throw invalidInput(`gateway ${namespace}/${name} selects its pods by ${REVISION_KEY}; reinstall it for the new revision instead`);
      }
      const body = gatewayRevisionPatch(deployment, revision, token);
      if (body === null) return { changed: false };
      await api(`move gateway ${namespace}/${name} to revision ${revision ?? '(none)'}`, () =>
        patchWorkload({ kind: 'Deployment', namespace, name }, body),
      );
      return { changed: true };
    },

    async countProxiesOnRevision({ revision }) {
      requireRevision(revision);
      const namespaces = new Set<string>();
      let pods = 0;
      // Pending pods count too: they are about to start a proxy from this revision.
      for await (const page of podPages()) {
        for (const pod of page.filter(isLivePod)) {
          if (podProxyRevision(pod) !== revision) continue;
          pods++;
          namespaces.add(pod.metadata?.namespace ?? '');
        }
      }
      return { pods, namespaces: [...namespaces].sort() };
    },
  };
}
