// Reading Istio's own marks on Kubernetes objects: which revision injected a
// pod's proxy, which revision an istiod Deployment serves and at what version,
// and where the revision tags point. Pure: unit-tested on plain objects.
//
// Where the marks come from (Istio 1.30, pkg/kube/inject/webhook.go and
// manifests/charts/istio-control/istio-discovery):
// - the injector writes the `sidecar.istio.io/status` annotation, JSON with
//   initContainers, containers, volumes, imagePullSecrets and `revision`
//   ("default" for an istiod installed without a revision). Istio deliberately
//   does NOT set an `istio.io/rev` label on injected pods: that label, when
//   present, may name a revision *tag*, so it is only a last resort here;
// - the injection template also adds an `istio.io/rev` *annotation* with the
//   same revision;
// - istiod Deployments carry `app=istiod` and `istio.io/rev=<rev or "default">`,
//   their container `discovery` runs `<hub>/pilot:<tag>[-<variant>]`;
// - tag webhooks (MutatingWebhookConfiguration) carry `istio.io/tag=<tag>` and
//   `istio.io/rev=<revision>`.

export const SIDECAR_STATUS_ANNOTATION = 'sidecar.istio.io/status';
export const REVISION_KEY = 'istio.io/rev';
export const TAG_LABEL = 'istio.io/tag';
export const PROXY_CONTAINER = 'istio-proxy';
export const ISTIO_NAMESPACE = 'istio-system';

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: Date | string;
  generation?: number;
}

/** The parts of a Pod these functions read (client-node's V1Pod fits). */
export interface PodObject {
  metadata?: Meta;
  spec?: { containers?: Array<{ name: string }>; initContainers?: Array<{ name: string }> };
  status?: { phase?: string };
}

/** `revision` from the injector's status annotation; undefined when absent or unreadable. */
export function revisionFromSidecarStatus(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === 'object') {
      const revision = (parsed as { revision?: unknown }).revision;
      if (typeof revision === 'string' && revision !== '') return revision;
    }
  } catch {
    // An unreadable annotation still says the pod was injected; the caller falls back.
  }
  return undefined;
}

function hasProxyContainer(pod: PodObject): boolean {
  const named = (list?: Array<{ name: string }>): boolean => (list ?? []).some((c) => c.name === PROXY_CONTAINER);
  // Native sidecars (Kubernetes >= 1.29) put istio-proxy among the init containers.
  return named(pod.spec?.containers) || named(pod.spec?.initContainers);
}

/**
 * The revision whose injector gave this pod its proxy, or null when the pod has
 * no proxy. Prefers the status annotation, then the istio.io/rev annotation,
 * then the istio.io/rev label; an injected pod with none of them came from an
 * istiod without a revision, which Istio calls "default".
 */
export function podProxyRevision(pod: PodObject): string | null {
  const annotations = pod.metadata?.annotations ?? {};
  const status = annotations[SIDECAR_STATUS_ANNOTATION];
  const injected = status !== undefined || hasProxyContainer(pod);
  if (!injected) return null;
  return revisionFromSidecarStatus(status) ?? annotations[REVISION_KEY] ?? pod.metadata?.labels?.[REVISION_KEY] ?? 'default';
}

/** Running and not being deleted: the pods that serve traffic now. */
export function isRunningPod(pod: PodObject): boolean {
  return pod.status?.phase === 'Running' && pod.metadata?.deletionTimestamp == null;
}

/** Not finished and not being deleted: the pods that run, or are about to run, their proxy. */
export function isLivePod(pod: PodObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata?.deletionTimestamp == null;
}

/** istiod's Deployment: `istiod` for the revision-less ("default") install, else `istiod-<rev>`. */
export function istiodDeploymentName(revision: string): string {
  return revision === 'default' ? 'istiod' : `istiod-${revision}`;
}

export function istiodRevision(deployment: { metadata?: Meta }): string {
  return deployment.metadata?.labels?.[REVISION_KEY] || 'default';
}

/**
 * The Istio version in an image reference's tag: `docker.io/istio/pilot:1.30.3-distroless`
 * -> `1.30.3`. Undefined when there is no tag (digest only) or it is not a version (`latest`).
 */
export function versionFromImage(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon === -1) return undefined;
  const tag = lastSegment.slice(colon + 1);
  const match = /^v?(\d+\.\d+(?:\.\d+)?(?:-(?:alpha|beta|rc)(?:\.\d+)?)?)(?:-[A-Za-z0-9.]+)*$/.exec(tag);
  return match?.[1];
}

interface DeploymentLike {
  metadata?: Meta;
  spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ name: string; image?: string }> } } };
  status?: { readyReplicas?: number };
}

/** The image of istiod's `discovery` container (or its first container). */
export function istiodImage(deployment: DeploymentLike): string | undefined {
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  return (containers.find((c) => c.name === 'discovery') ?? containers[0])?.image;
}

/** At least one istiod pod is ready, and as many as desired. */
export function istiodReady(deployment: DeploymentLike): boolean {
  const ready = deployment.status?.readyReplicas ?? 0;
  const desired = deployment.spec?.replicas ?? 1;
  return ready >= 1 && ready >= desired;
}

/** Tag -> revision from the tag webhooks' labels; webhooks without both labels are ignored. */
export function tagsFromWebhooks(webhooks: Array<{ metadata?: Meta }>): Record<string, string> {
  const tags: Record<string, string> = {};
  const sorted = [...webhooks].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const webhook of sorted) {
    const tag = webhook.metadata?.labels?.[TAG_LABEL];
    const revision = webhook.metadata?.labels?.[REVISION_KEY];
    if (tag && revision) tags[tag] = revision;
  }
  return tags;
}
