// Where the simulator learns about pods and istiod Deployments: a small
// interface with two implementations, the Kubernetes API (list+watch through
// client-node informers: pods in all namespaces, Deployments in istio-system
// with app=istiod) and an in-memory source for tests and in-process use.

import { AppsV1Api, CoreV1Api, KubeConfig, makeInformer, type Informer, type KubernetesObject, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { ISTIO_NAMESPACE } from '../../activities/kubernetes-revision.js';
import type { DeploymentLike, PodLike } from './pods.js';
import type { MeshObjectSink } from './simulator.js';

export interface PodSource {
  /** Starts delivering to `sink`; resolves once the current state has been delivered. */
  start(sink: MeshObjectSink): Promise<void>;
  stop(): Promise<void>;
}

// ---- in memory ----

export interface MemoryPodSource extends PodSource {
  /** Adds or replaces a pod (by namespace/name). */
  applyPod(pod: PodLike): void;
  deletePod(namespace: string, name: string): void;
  /** Adds or replaces a Deployment (only istiod Deployments matter). */
  applyDeployment(deployment: DeploymentLike): void;
  deleteDeployment(namespace: string, name: string): void;
}

function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export function createMemoryPodSource(initial: { pods?: PodLike[]; deployments?: DeploymentLike[] } = {}): MemoryPodSource {
  const pods = new Map<string, PodLike>();
  const deployments = new Map<string, DeploymentLike>();
  for (const pod of initial.pods ?? []) pods.set(keyOf(pod), pod);
  for (const deployment of initial.deployments ?? []) deployments.set(keyOf(deployment), deployment);
  let sink: MeshObjectSink | null = null;
  return {
    async start(target) {
      sink = target;
      for (const deployment of deployments.values()) target.upsertDeployment(deployment);
      for (const pod of pods.values()) target.upsertPod(pod);
    },
    async stop() {
      sink = null;
    },
    applyPod(pod) {
      pods.set(keyOf(pod), pod);
      sink?.upsertPod(pod);
    },
    deletePod(namespace, name) {
      pods.delete(`${namespace}/${name}`);
      sink?.deletePod(namespace, name);
    },
    applyDeployment(deployment) {
      deployments.set(keyOf(deployment), deployment);
      sink?.upsertDeployment(deployment);
    },
    deleteDeployment(namespace, name) {
      deployments.delete(`${namespace}/${name}`);
      sink?.deleteDeployment(namespace, name);
    },
  };
}

// ---- Kubernetes ----

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The lab talks to loopback only; refuse a kubeconfig whose server is anywhere else. */
export function assertLoopbackServer(server: string | undefined): void {
  let host: string;
  try {
    host = new URL(server ?? '').hostname;
  } catch {
    throw new Error(`kubeconfig server ${JSON.stringify(server)} is not a URL`);
  }
  if (!LOOPBACK_HOSTS.has(host) && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw new Error(`kubeconfig server ${server} is not on loopback; the lab's traffic simulator only talks to 127.0.0.1`);
  }
}

export interface KubePodSourceOptions {
  /** Path of the kubeconfig file (its current context is used). */
  kubeconfig: string;
  /** Called on watch errors (the source re-lists and re-watches on its own). */
  onError?: (err: unknown) => void;
  /** Delay before restarting a failed informer, ms. Default 1000. */
  restartDelayMs?: number;
}

type AnyInformer = Informer<KubernetesObject>;

export function createKubePodSource(options: KubePodSourceOptions): PodSource {
  const kc = new KubeConfig();
  kc.loadFromFile(options.kubeconfig);
  assertLoopbackServer(kc.getCurrentCluster()?.server);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const restartDelayMs = options.restartDelayMs ?? 1000;
  const informers: AnyInformer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  function supervise(informer: AnyInformer, firstStart: { failed?: unknown }): void {
    informer.on('error', (err?: unknown) => {
      if (firstStart.failed === undefined) {
        firstStart.failed = err ?? new Error('informer failed'); // start() throws it
        return;
      }
      if (stopped) return;
      options.onError?.(err);
      // client-node's informer stops on an error; start it again (it re-lists, delivering deletes it missed).
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopped) void informer.start();
      }, restartDelayMs);
      timers.add(timer);
    });
  }

  return {
    async start(sink) {
      stopped = false;
      const pods = makeInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
      pods.on('add', (pod) => sink.upsertPod(pod));
      pods.on('update', (pod) => sink.upsertPod(pod));
      pods.on('delete', (pod) => sink.deletePod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''));

      const selector = 'app=istiod';
      const deployments = makeInformer<V1Deployment>(
        kc,
        `/apis/apps/v1/namespaces/${ISTIO_NAMESPACE}/deployments`,
        () => apps.listNamespacedDeployment({ namespace: ISTIO_NAMESPACE, labelSelector: selector }),
        selector,
      );
      deployments.on('add', (d) => sink.upsertDeployment(d));
      deployments.on('update', (d) => sink.upsertDeployment(d));
      deployments.on('delete', (d) => sink.deleteDeployment(d.metadata?.namespace ?? '', d.metadata?.name ?? ''));

      for (const informer of [deployments, pods] as unknown as AnyInformer[]) {
        const firstStart: { failed?: unknown } = {};
        supervise(informer, firstStart);
        informers.push(informer);
        // start() resolves once the list is delivered and the watch is open; a
        // failed first list is reported through the error callback instead.
        await informer.start();
        if (firstStart.failed !== undefined) {
          await this.stop();
          throw new Error(`cannot list from the Kubernetes API: ${String((firstStart.failed as Error)?.message ?? firstStart.failed)}`);
        }
        firstStart.failed = null; // later errors restart instead of failing start()
      }
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(informers.splice(0).map((informer) => informer.stop()));
    },
  };
}
