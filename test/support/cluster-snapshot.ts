// "Nothing changed" for refused input: the mesh as the end-to-end tests compare it
// (labels, proxies, revisions, webhooks, tags), every Deployment's restart history
// (ReplicaSets and restartedAt tokens), and the resourceVersion of every object a run
// writes to. A resourceVersion moves on any write, so a relabel undone or an
// annotation set back still shows, which the other views would miss.
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { labInfo } from '../../lab/lab.js';
import { meshSnapshot, restartHistory, type MeshSnapshot, type RestartHistory } from './e2e.js';

export interface ClusterSnapshot {
  mesh: MeshSnapshot;
  restarts: Record<string, RestartHistory>;
  /** `kind namespace/name` -> resourceVersion. */
  resourceVersions: Record<string, string>;
}

const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

export async function clusterSnapshot(): Promise<ClusterSnapshot> {
  const [mesh, restarts, versions] = await Promise.all([meshSnapshot(), restartHistory(), resourceVersions()]);
  return { mesh, restarts, resourceVersions: versions };
}

/** The cheap part of the snapshot: any write to what an upgrade touches moves one of these. */
export async function resourceVersions(): Promise<Record<string, string>> {
  const kc = new KubeConfig();
  kc.loadFromFile(labInfo().kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);

  const versions: Array<[string, string]> = [];
  const add = (kind: string, items: Array<{ metadata?: { namespace?: string; name?: string; resourceVersion?: string } }>) => {
    for (const { metadata } of items) {
      if (metadata?.namespace && SYSTEM_NAMESPACES.has(metadata.namespace)) continue;
      versions.push([`${kind} ${metadata?.namespace ? `${metadata.namespace}/` : ''}${metadata?.name}`, metadata?.resourceVersion ?? '']);
    }
  };
  add('Namespace', (await core.listNamespace()).items.filter((ns) => !SYSTEM_NAMESPACES.has(ns.metadata?.name ?? '')));
  add('Deployment', (await apps.listDeploymentForAllNamespaces()).items);
  add('ReplicaSet', (await apps.listReplicaSetForAllNamespaces()).items);
  add('ConfigMap', (await core.listNamespacedConfigMap({ namespace: 'istio-system' })).items);
  add('MutatingWebhookConfiguration', (await admission.listMutatingWebhookConfiguration()).items);
  add('ValidatingWebhookConfiguration', (await admission.listValidatingWebhookConfiguration()).items);

  return Object.fromEntries(versions.sort(([a], [b]) => a.localeCompare(b)));
}
