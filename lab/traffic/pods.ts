// What the simulator needs to know about a pod or an istiod Deployment, read
// from the Kubernetes object the way Istio itself names things. Pure: works on
// plain objects (client-node's V1Pod and V1Deployment fit the shapes below).
//
// - workload: the owning Deployment (a ReplicaSet owner minus its
//   pod-template-hash), else the owner's name, else the `app` label, else the
//   pod's name: what Istio puts in source_workload / destination_workload;
// - proxy: present when the pod carries an injected `istio-proxy` (or the
//   injector's status annotation); its version is the tag of the istio-proxy
//   image (`<hub>/proxyv2:1.30.3[-distroless]` -> `1.30.3`), its revision comes
//   from the `sidecar.istio.io/status` annotation (activities/kubernetes-revision);
// - canonical service and revision: Istio's label precedence
//   (service.istio.io/canonical-*, app.kubernetes.io/*, app / version).

import {
  ISTIO_NAMESPACE,
  PROXY_CONTAINER,
  istiodImage,
  istiodRevision,
  podProxyRevision,
  versionFromImage,
} from '../../activities/kubernetes-revision.js';

/** Version given to a proxy whose image tag is not a version (`auto`, a digest, `latest`). */
export const UNKNOWN_VERSION = 'unknown';

interface Container {
  name: string;
  image?: string;
}

interface Metadata {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
  deletionTimestamp?: Date | string;
}

/** The parts of a Pod read here. */
export interface PodLike {
  metadata?: Metadata;
  spec?: { containers?: Container[]; initContainers?: Container[]; serviceAccountName?: string };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

/** The parts of an istiod Deployment read here. */
export interface DeploymentLike {
  metadata?: Metadata;
  spec?: { replicas?: number; template?: { spec?: { containers?: Container[] } } };
  status?: { readyReplicas?: number };
}

export type GatewayKind = 'ingress' | 'egress' | 'other';

export interface MeshPod {
  /** `<namespace>/<name>`. */
  key: string;
  namespace: string;
  name: string;
  workload: string;
  /** The `app` label, or "unknown" (Istio's source_app / destination_app). */
  app: string;
  /** The `version` label, or "unknown". */
  versionLabel: string;
  canonicalService: string;
  canonicalRevision: string;
  serviceAccount: string;
  /** Phase Running, condition Ready=True, not being deleted: an endpoint that gets traffic. */
  ready: boolean;
  /** Phase Running and not being deleted: its proxy (if any) is connected to istiod. */
  running: boolean;
  /** The injected proxy; null for a pod outside the mesh. */
  proxy: { version: string; revision: string } | null;
  /** Istio gateways run a proxy but serve no mesh workload. */
  gateway: GatewayKind | null;
}

export interface Istiod {
  key: string;
  revision: string;
  /** The tag of its discovery (pilot) image. */
  version: string;
  ready: boolean;
}

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The Deployment (or other controller) that owns the pod, as Istio names workloads. */
export function workloadName(pod: PodLike): string {
  const meta = pod.metadata ?? {};
  const owners = meta.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller) ?? owners[0];
  if (owner) {
    if (owner.kind === 'ReplicaSet') {
      const hash = meta.labels?.['pod-template-hash'];
      if (hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -(hash.length + 1));
      const dash = owner.name.lastIndexOf('-');
      return dash > 0 ? owner.name.slice(0, dash) : owner.name;
    }
    if (owner.kind === 'Job') {
      // A CronJob's Job is `<cronjob>-<schedule time>`; Istio reports the CronJob.
      const match = /^(.+)-\d{8,}$/.exec(owner.name);
      return match?.[1] ?? owner.name;
    }
    return owner.name;
  }
  return meta.labels?.['app'] || meta.name || 'unknown';
}

function proxyContainer(pod: PodLike): Container | undefined {
  const find = (list?: Container[]): Container | undefined => list?.find((c) => c.name === PROXY_CONTAINER);
  return find(pod.spec?.containers) ?? find(pod.spec?.initContainers);
}

/** The Istio version of the pod's proxy image, UNKNOWN_VERSION when its tag is not a version. */
export function proxyVersion(pod: PodLike): string {
  return versionFromImage(proxyContainer(pod)?.image) ?? UNKNOWN_VERSION;
}

function isReady(pod: PodLike): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function gatewayKind(labels: Record<string, string>): GatewayKind | null {
  const istio = labels['istio'];
  if (istio === 'ingressgateway') return 'ingress';
  if (istio === 'egressgateway') return 'egress';
  if ((istio && istio.endsWith('gateway')) || labels['gateway.networking.k8s.io/gateway-name']) return 'other';
  return null;
}

export function toMeshPod(pod: PodLike): MeshPod | null {
  const namespace = pod.metadata?.namespace;
  const name = pod.metadata?.name;
  if (!namespace || !name) return null;
  const labels = pod.metadata?.labels ?? {};
  const running = pod.status?.phase === 'Running' && pod.metadata?.deletionTimestamp == null;
  const revision = podProxyRevision(pod);
  const workload = workloadName(pod);
  return {
    key: podKey(namespace, name),
    namespace,
    name,
    workload,
    app: labels['app'] || 'unknown',
    versionLabel: labels['version'] || 'unknown',
    canonicalService: labels['service.istio.io/canonical-name'] || labels['app.kubernetes.io/name'] || labels['app'] || workload,
    canonicalRevision:
      labels['service.istio.io/canonical-revision'] || labels['app.kubernetes.io/version'] || labels['version'] || 'latest',
    serviceAccount: pod.spec?.serviceAccountName || 'default',
    ready: running && isReady(pod),
    running,
    proxy: revision === null ? null : { version: proxyVersion(pod), revision },
    gateway: gatewayKind(labels),
  };
}

/** An ingress gateway pod: Istio's `istio=ingressgateway` in istio-system. */
export function isIngressGateway(pod: MeshPod): boolean {
  return pod.namespace === ISTIO_NAMESPACE && pod.gateway === 'ingress';
}

/** An istiod Deployment (app=istiod in istio-system), or null for any other Deployment. */
export function toIstiod(deployment: DeploymentLike): Istiod | null {
  const meta = deployment.metadata ?? {};
  if (!meta.name || meta.namespace !== ISTIO_NAMESPACE || meta.labels?.['app'] !== 'istiod') return null;
  return {
    key: podKey(meta.namespace, meta.name),
    revision: istiodRevision(deployment),
    version: versionFromImage(istiodImage(deployment)) ?? UNKNOWN_VERSION,
    // Only an istiod with a ready pod is up to be scraped.
    ready: (deployment.status?.readyReplicas ?? 0) >= 1 && meta.deletionTimestamp == null,
  };
}
