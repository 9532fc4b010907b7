// The workloads of one namespace as a rollout wait follows them: listed once per
// kind, then kept current by a watch, so a wait costs a list and a watch per kind
// however long the rollout runs, and sees its end as soon as the API server
// records it. Polling cost a list per kind every interval in every waiting
// namespace: with a few hundred namespaces in a wave, those lists queued behind
// the worker's request limit and the end of each rollout was noticed seconds late.

import { AppsV1Api, ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { WorkloadKind } from '../plan/types.js';

const RESOURCE: Record<WorkloadKind, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

export interface WorkloadWatch {
  /** The workloads of a kind as last seen. */
  workloads(kind: WorkloadKind): readonly KubernetesObject[];
  /** Resolves at the next change to any watched workload (or a watch failing); race it with a timeout. */
  nextChange(): Promise<void>;
  /** Why a watch stopped (the API server went away, a list failed); the wait should fail and be retried. */
  failure(): unknown;
  stop(): Promise<void>;
}

/**
 * Lists and starts watching the namespace's workloads of each kind. Resolves
 * once every list is in (or failed: see failure()). client-node's ListWatch
 * re-watches on its own after a quiet connection times out or the server ends
 * it, and lists again when the server says the resourceVersion is too old.
 */
export async function watchWorkloads(kc: KubeConfig, namespace: string, kinds: readonly WorkloadKind[]): Promise<WorkloadWatch> {
  const apps = kc.makeApiClient(AppsV1Api);
  const watch = new Watch(kc);
  let failure: unknown;
  let wake: (() => void) | undefined;
  const changed = (): void => {
    wake?.();
    wake = undefined;
  };

  const list = (kind: WorkloadKind) => (): Promise<KubernetesListObject<KubernetesObject>> => {
    switch (kind) {
      case 'Deployment':
        return apps.listNamespacedDeployment({ namespace });
      case 'StatefulSet':
        return apps.listNamespacedStatefulSet({ namespace });
      case 'DaemonSet':
        return apps.listNamespacedDaemonSet({ namespace });
    }
  };

  const caches = new Map<WorkloadKind, ListWatch<KubernetesObject>>();
  for (const kind of new Set(kinds)) {
    const cache = new ListWatch(`/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${RESOURCE[kind]}`, watch, list(kind), false);
    cache.on('add', changed);
    cache.on('update', changed);
    cache.on('delete', changed);
    cache.on('error', (error: unknown) => {
      failure ??= error;
      changed();
    });
    caches.set(kind, cache);
  }
  try {
    await Promise.all([...caches.values()].map((cache) => cache.start()));
  } catch (error) {
    failure ??= error;
  }

  return {
    workloads: (kind) => caches.get(kind)?.list(namespace) ?? [],
    nextChange: () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        if (failure !== undefined) changed();
      }),
    failure: () => failure,
    stop: async () => {
      for (const cache of caches.values()) await cache.stop();
    },
  };
}
