// The cluster view the lab uses: three informers (list + watch, kept in
// memory by @kubernetes/client-node) over namespaces, the istiod Deployments
// in istio-system, and the MutatingWebhookConfigurations (revision and tag
// webhooks). The webhook then answers from memory in microseconds and never
// waits on the API server; a broken watch is restarted with a backoff.

import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
  type V1MutatingWebhookConfiguration,
  type V1Namespace,
} from '@kubernetes/client-node';
import type { ClusterView, IstiodDeployment } from './cluster-view.js';
import { REV_LABEL, revisionsFromWebhookLabels, tagsFromWebhookLabels, type Labels } from './decide.js';
import { ISTIO_NAMESPACE, istiodName } from './patch.js';

const RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 10_000;

/** True for 127.0.0.0/8, ::1 and localhost: the lab never talks to anything else. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function loadLoopbackKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error(`kubeconfig ${path}: no current cluster`);
  const host = new URL(server).hostname;
  if (!isLoopbackHost(host)) {
    throw new Error(`kubeconfig ${path}: API server ${server} is not on loopback; the lab only talks to 127.0.0.1`);
  }
  return kc;
}

interface Watched<T extends KubernetesObject> {
  name: string;
  informer: Informer<T> & ObjectCache<T>;
  listed: boolean;
  delay: number;
  timer?: NodeJS.Timeout;
}

export interface KubeClusterViewOptions {
  log?: (line: string) => void;
  /** How long `start` waits for the first list of every resource. */
  syncTimeoutMs?: number;
}

export class KubeClusterView implements ClusterView {
  private stopped = false;
  private readonly namespaces: Watched<V1Namespace>;
  private readonly deployments: Watched<V1Deployment>;
  private readonly webhooks: Watched<V1MutatingWebhookConfiguration>;
  private readonly log: (line: string) => void;

  private constructor(kc: KubeConfig, options: KubeClusterViewOptions) {
    this.log = options.log ?? (() => {});
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    this.namespaces = this.watch(kc, 'namespaces', '/api/v1/namespaces', () => core.listNamespace());
    this.deployments = this.watch(
      kc,
      'istiod deployments',
      `/apis/apps/v1/namespaces/${ISTIO_NAMESPACE}/deployments`,
      () => apps.listNamespacedDeployment({ namespace: ISTIO_NAMESPACE, labelSelector: 'app=istiod' }),
      'app=istiod',
    );
    this.webhooks = this.watch(
      kc,
      'mutating webhook configurations',
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
      () => admission.listMutatingWebhookConfiguration(),
    );
  }

  /** Starts the informers and waits until each has listed once. */
  static async start(kc: KubeConfig, options: KubeClusterViewOptions = {}): Promise<KubeClusterView> {
    const view = new KubeClusterView(kc, options);
    const all = [view.namespaces, view.deployments, view.webhooks] as Watched<KubernetesObject>[];
    for (const w of all) view.run(w);
    const deadline = Date.now() + (options.syncTimeoutMs ?? 30_000);
    while (!view.synced()) {
      if (Date.now() > deadline) {
        await view.stop();
        const missing = all.filter((w) => !w.listed).map((w) => w.name);
        throw new Error(`cluster view: could not list ${missing.join(', ')} from the API server in time`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return view;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of [this.namespaces, this.deployments, this.webhooks] as Watched<KubernetesObject>[]) {
      if (w.timer) clearTimeout(w.timer);
      await w.informer.stop().catch(() => {});
    }
  }

  private watch<T extends KubernetesObject>(
    kc: KubeConfig,
    name: string,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    labelSelector?: string,
  ): Watched<T> {
    const watched: Watched<T> = {
      name,
      listed: false,
      delay: RESTART_DELAY_MS,
      informer: undefined as unknown as Informer<T> & ObjectCache<T>,
    };
    watched.informer = makeInformer<T>(
      kc,
      path,
      async () => {
        const result = await list();
        watched.listed = true;
        watched.delay = RESTART_DELAY_MS;
        return result;
      },
      labelSelector,
    );
    watched.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      const reason = err instanceof Error ? err.message : String(err);
      this.log(`cluster view: watch of ${name} failed (${reason}); restarting in ${watched.delay} ms`);
      watched.timer = setTimeout(() => this.run(watched as unknown as Watched<KubernetesObject>), watched.delay);
      watched.delay = Math.min(watched.delay * 2, MAX_RESTART_DELAY_MS);
    });
    return watched;
  }

  private run(w: Watched<KubernetesObject>): void {
    if (this.stopped) return;
    w.informer.start().catch((err: unknown) => {
      this.log(`cluster view: starting the watch of ${w.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  synced(): boolean {
    return this.namespaces.listed && this.deployments.listed && this.webhooks.listed;
  }

  namespaceLabels(namespace: string): Labels | undefined {
    const ns = this.namespaces.informer.get(namespace);
    return ns ? (ns.metadata?.labels ?? {}) : undefined;
  }

  private istiods(): IstiodDeployment[] {
    return this.deployments.informer.list(ISTIO_NAMESPACE).map((d) => {
      const containers = d.spec?.template?.spec?.containers ?? [];
      const image = (containers.find((c) => c.name === 'discovery') ?? containers[0])?.image;
      return {
        name: d.metadata?.name ?? '',
        revision: d.metadata?.labels?.[REV_LABEL] || 'default',
        image,
        readyReplicas: d.status?.readyReplicas ?? 0,
      };
    });
  }

  istiod(revision: string): IstiodDeployment | undefined {
    const candidates = this.istiods().filter((d) => d.revision === revision);
    return candidates.find((d) => d.name === istiodName(revision)) ?? candidates[0];
  }

  private webhookMeta(): Array<{ name: string; labels: Labels }> {
    return this.webhooks.informer.list().map((w) => ({ name: w.metadata?.name ?? '', labels: w.metadata?.labels ?? {} }));
  }

  tags(): Labels {
    return tagsFromWebhookLabels(this.webhookMeta());
  }

  revisions(): readonly string[] {
    const fromWebhooks = revisionsFromWebhookLabels(this.webhookMeta());
    return [...new Set([...fromWebhooks, ...this.istiods().map((d) => d.revision)])].sort();
  }
}
