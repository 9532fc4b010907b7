// The mutation istiod's injector makes, as a JSONPatch against the pod the API
// server sent: the `sidecar` template (an `istio-proxy` container and an
// `istio-init` init container) or, for pods annotated
// `inject.istio.io/templates: gateway`, the `gateway` template (the pod's own
// `istio-proxy` container gets the proxy image). Shapes follow
// manifests/charts/istio-control/istio-discovery/files/injection-template.yaml
// and gateway-injection-template.yaml at the default values; the metadata
// (labels, `istio.io/rev`, `sidecar.istio.io/status`) follows
// pkg/kube/inject/webhook.go. KWOK runs no containers, so the container
// bodies only have to be valid pod spec, but the names, images and metadata
// are exactly what the orchestrator and the traffic simulator read.

import { REV_LABEL, SIDECAR_STATUS } from './decide.js';

export const PROXY_CONTAINER = 'istio-proxy';
export const INIT_CONTAINER = 'istio-init';
export const TEMPLATES_ANNOTATION = 'inject.istio.io/templates';
export const PROXY_IMAGE_ANNOTATION = 'sidecar.istio.io/proxyImage';
export const NATIVE_SIDECAR_ANNOTATION = 'sidecar.istio.io/nativeSidecar';
export const ISTIO_NAMESPACE = 'istio-system';
/** pkg/kube/inject/webhook.go AutoImage: a container image the injector fills in. */
export const AUTO_IMAGE = 'auto';

// ---- minimal pod shape (only what is read) ----

export interface Container {
  name: string;
  image?: string;
  [key: string]: unknown;
}

export interface Pod {
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ apiVersion?: string; kind?: string; name?: string; controller?: boolean }>;
  };
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    volumes?: Array<{ name: string; [key: string]: unknown }>;
    imagePullSecrets?: Array<{ name: string }>;
    hostNetwork?: boolean;
    serviceAccountName?: string;
  };
}

export type PatchOperation =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** RFC 6901: `~` -> `~0`, `/` -> `~1` (label keys contain slashes). */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

// ---- images ----

/** `docker.io/istio/pilot:1.30.3-distroless@sha256:...` -> hub `docker.io/istio`, tag `1.30.3-distroless`. */
export function parseImage(image: string): { hub: string; name: string; tag: string } {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const hub = slash === -1 ? '' : withoutDigest.slice(0, slash);
  const last = withoutDigest.slice(slash + 1);
  const colon = last.indexOf(':');
  return colon === -1 ? { hub, name: last, tag: 'latest' } : { hub, name: last.slice(0, colon), tag: last.slice(colon + 1) };
}

/**
 * The proxy image of a revision: `<hub>/proxyv2:<tag>`, with the hub and tag of
 * that revision's istiod (`<hub>/pilot:<tag>`), as `.ProxyImage` is built from
 * the same `global.hub`/`global.tag` values. `hub` overrides the istiod's hub.
 */
export function proxyImageFor(istiodImage: string, hub?: string): string {
  const parsed = parseImage(istiodImage);
  const base = hub ?? parsed.hub;
  return `${base ? `${base}/` : ''}proxyv2:${parsed.tag}`;
}

// ---- workload identity (pkg/kube/util.go GetDeployMetaFromPod) ----

/** The workload name Istio derives: the Deployment name for ReplicaSet pods, else the controller's, else the pod's. */
export function workloadName(pod: Pod): string {
  const meta = pod.metadata ?? {};
  let name = meta.name ?? '';
  if (meta.generateName) {
    const controller = (meta.ownerReferences ?? []).find((ref) => ref.controller === true);
    if (controller?.name) {
      name = controller.name;
      const hash = meta.labels?.['pod-template-hash'];
      if (controller.kind === 'ReplicaSet' && hash && controller.name.endsWith(hash)) {
        name = controller.name.slice(0, -(hash.length + 1));
      }
    }
  }
  return name || meta.name || '';
}

function canonicalName(pod: Pod, truncate: boolean): string {
  const labels = pod.metadata?.labels ?? {};
  const name =
    labels['service.istio.io/canonical-name'] || labels['app.kubernetes.io/name'] || labels['app'] || workloadName(pod);
  // `trunc 63 | trimSuffix "-"` in the sidecar template (not in the gateway one).
  return truncate ? name.slice(0, 63).replace(/-$/, '') : name;
}

function canonicalRevision(pod: Pod): string {
  const labels = pod.metadata?.labels ?? {};
  return labels['service.istio.io/canonical-revision'] || labels['app.kubernetes.io/version'] || labels['version'] || 'latest';
}

// ---- the templates' parts ----

/** Volumes the sidecar template adds, in template order (the status annotation lists these names). */
function sidecarVolumes(gateway: boolean): Array<{ name: string; [key: string]: unknown }> {
  const volumes: Array<{ name: string; [key: string]: unknown }> = [
    { name: 'workload-socket', emptyDir: {} },
    { name: 'credential-socket', emptyDir: {} },
    { name: 'workload-certs', emptyDir: {} },
    { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
    { name: 'istio-data', emptyDir: {} },
    {
      name: 'istio-podinfo',
      downwardAPI: {
        items: [
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        ],
      },
    },
    {
      name: 'istio-token',
      projected: { sources: [{ serviceAccountToken: { path: 'istio-token', expirationSeconds: 43200, audience: 'istio-ca' } }] },
    },
    { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
  ];
  // The gateway template has no CRL volume.
  if (!gateway) volumes.push({ name: 'istio-ca-crl', configMap: { name: 'istio-ca-crl', optional: true } });
  return volumes;
}

function volumeMounts(gateway: boolean): Array<Record<string, unknown>> {
  const mounts: Array<Record<string, unknown>> = [
    { name: 'workload-socket', mountPath: '/var/run/secrets/workload-spiffe-uds' },
    { name: 'credential-socket', mountPath: '/var/run/secrets/credential-uds' },
    { name: 'workload-certs', mountPath: '/var/run/secrets/workload-spiffe-credentials' },
    { name: 'istiod-ca-cert', mountPath: '/var/run/secrets/istio' },
  ];
  if (!gateway) mounts.push({ name: 'istio-ca-crl', mountPath: '/var/run/secrets/istio/crl' });
  mounts.push(
    { name: 'istio-data', mountPath: '/var/lib/istio/data' },
    { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
    { name: 'istio-token', mountPath: '/var/run/secrets/tokens' },
    { name: 'istio-podinfo', mountPath: '/etc/istio/pod' },
  );
  return mounts;
}

const PROXY_RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2000m', memory: '1024Mi' } };

function fieldEnv(name: string, fieldPath: string) {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

function proxyEnv(revision: string, appContainers: string[], workload: string): Array<Record<string, unknown>> {
  return [
    { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
    { name: 'CA_ADDR', value: `${istiodName(revision)}.${ISTIO_NAMESPACE}.svc:15012` },
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('INSTANCE_IP', 'status.podIP'),
    fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    fieldEnv('HOST_IP', 'status.hostIP'),
    { name: 'ISTIO_META_APP_CONTAINERS', value: appContainers.join(',') },
    { name: 'ISTIO_META_CLUSTER_ID', value: 'Kubernetes' },
    fieldEnv('ISTIO_META_NODE_NAME', 'spec.nodeName'),
    { name: 'ISTIO_META_INTERCEPTION_MODE', value: 'REDIRECT' },
    ...(workload ? [{ name: 'ISTIO_META_WORKLOAD_NAME', value: workload }] : []),
    { name: 'ISTIO_META_MESH_ID', value: 'cluster.local' },
    { name: 'TRUST_DOMAIN', value: 'cluster.local' },
  ];
}

function proxyContainer(opts: {
  image: string;
  revision: string;
  gateway: boolean;
  native: boolean;
  appContainers: string[];
  workload: string;
}): Container {
  const container: Container = {
    name: PROXY_CONTAINER,
    image: opts.image,
    ...(opts.native && { restartPolicy: 'Always' }),
    ports: [{ containerPort: 15090, protocol: 'TCP', name: 'http-envoy-prom' }],
    args: [
      'proxy',
      opts.gateway ? 'router' : 'sidecar',
      '--domain',
      '$(POD_NAMESPACE).svc.cluster.local',
      '--proxyLogLevel=warning',
      '--proxyComponentLogLevel=misc:error',
      '--log_output_level=default:info',
    ],
    env: proxyEnv(opts.revision, opts.appContainers, opts.workload),
    readinessProbe: {
      httpGet: { path: '/healthz/ready', port: 15021 },
      initialDelaySeconds: 0,
      periodSeconds: 15,
      timeoutSeconds: 3,
      failureThreshold: 4,
    },
    volumeMounts: volumeMounts(opts.gateway),
  };
  if (opts.gateway) {
    container['securityContext'] = { runAsUser: 1337, runAsGroup: 1337 };
  } else {
    container['startupProbe'] = {
      httpGet: { path: '/healthz/ready', port: 15021 },
      initialDelaySeconds: 0,
      periodSeconds: 1,
      timeoutSeconds: 3,
      failureThreshold: 600,
    };
    container['securityContext'] = {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1337,
      runAsGroup: 1337,
    };
    container['resources'] = PROXY_RESOURCES;
  }
  return container;
}

function initContainer(image: string): Container {
  return {
    name: INIT_CONTAINER,
    image,
    args: [
      'istio-iptables',
      '-p', '15001',
      '-z', '15006',
      '-u', '1337',
      '-m', 'REDIRECT',
      '-i', '*',
      '-x', '',
      '-b', '*',
      '-d', '15090,15021,15020',
      '--log_output_level=default:info',
    ],
    resources: PROXY_RESOURCES,
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}

export function istiodName(revision: string): string {
  return revision === 'default' ? 'istiod' : `istiod-${revision}`;
}

// ---- the status annotation (pkg/kube/inject/webhook.go getInjectionStatus) ----

export interface SidecarStatus {
  initContainers: string[] | null;
  containers: string[] | null;
  volumes: string[] | null;
  imagePullSecrets: string[] | null;
  revision: string;
}

/**
 * `sidecar.istio.io/status`: the names of what the template injected, Go's
 * json.Marshal of SidecarInjectionStatus (pkg/kube/inject/inject.go): that key
 * order, `null` for an empty list, `revision` the injecting istiod's revision
 * ("" -> "default"), never the tag.
 */
export function sidecarStatusAnnotation(status: {
  initContainers: readonly string[];
  containers: readonly string[];
  volumes: readonly string[];
  imagePullSecrets: readonly string[];
  revision: string;
}): string {
  const list = (names: readonly string[]) => (names.length ? [...names] : null);
  const value: SidecarStatus = {
    initContainers: list(status.initContainers),
    containers: list(status.containers),
    volumes: list(status.volumes),
    imagePullSecrets: list(status.imagePullSecrets),
    revision: status.revision || 'default',
  };
  return JSON.stringify(value);
}

// ---- the whole injection ----

export interface InjectionOptions {
  revision: string;
  /** The revision's proxy image, `<hub>/proxyv2:<version>`. */
  proxyImage: string;
  /** Put istio-proxy among the init containers with restartPolicy Always (Kubernetes native sidecars). */
  nativeSidecars?: boolean;
}

export interface Injection {
  template: 'sidecar' | 'gateway';
  patch: PatchOperation[];
  /** The value written to `sidecar.istio.io/status`. */
  status: string;
}

function templatesOf(pod: Pod): string[] {
  const raw = pod.metadata?.annotations?.[TEMPLATES_ANNOTATION];
  return raw ? raw.split(',').map((t) => t.trim()).filter(Boolean) : ['sidecar'];
}

/** Builds the JSONPatch that injects `pod` for `options.revision`. */
export function buildInjection(pod: Pod, options: InjectionOptions): Injection {
  const gateway = templatesOf(pod).includes('gateway');
  const annotations = pod.metadata?.annotations ?? {};
  const labels = pod.metadata?.labels ?? {};
  const containers = pod.spec?.containers ?? [];
  const initContainers = pod.spec?.initContainers ?? [];
  const override = annotations[PROXY_IMAGE_ANNOTATION];
  const image = override && override.includes('/') ? override : options.proxyImage;
  const nativeAnnotation = annotations[NATIVE_SIDECAR_ANNOTATION];
  const native = !gateway && (nativeAnnotation !== undefined ? nativeAnnotation !== 'false' : options.nativeSidecars === true);
  const appContainers = containers.map((c) => c.name).filter((n) => n !== PROXY_CONTAINER);
  const workload = labels['service.istio.io/workload-name'] || workloadName(pod);

  const patch: PatchOperation[] = [];
  const injectedInit: string[] = [];
  const injectedContainers: string[] = [];

  if (pod.metadata === undefined) patch.push({ op: 'add', path: '/metadata', value: {} });

  // Containers.
  const proxy = proxyContainer({ image, revision: options.revision, gateway, native, appContainers, workload });
  const existing = containers.findIndex((c) => c.name === PROXY_CONTAINER);
  if (existing !== -1) {
    // The pod brings its own istio-proxy (gateways: `image: auto`). Its fields
    // override the template's (pkg/kube/inject/webhook.go
    // reapplyOverwrittenContainers), except an image of `auto` (or none),
    // which the template's image replaces.
    const current = containers[existing]?.image;
    const path = `/spec/containers/${existing}/image`;
    if (current === undefined || current === '') patch.push({ op: 'add', path, value: image });
    else if (current === AUTO_IMAGE) patch.push({ op: 'replace', path, value: image });
    injectedContainers.push(PROXY_CONTAINER);
  } else if (native) {
    // {istio-init} => istio-proxy => the pod's own init containers.
    if (initContainers.length === 0) patch.push({ op: 'add', path: '/spec/initContainers', value: [initContainer(image), proxy] });
    else {
      patch.push({ op: 'add', path: '/spec/initContainers/0', value: proxy });
      patch.push({ op: 'add', path: '/spec/initContainers/0', value: initContainer(image) });
    }
    injectedInit.push(INIT_CONTAINER, PROXY_CONTAINER);
  } else {
    // The proxy goes last among the containers.
    patch.push({ op: 'add', path: '/spec/containers/-', value: proxy });
    injectedContainers.push(PROXY_CONTAINER);
  }
  if (!gateway && !(native && existing === -1)) {
    // istio-init goes last among the init containers (the gateway template has none).
    if (initContainers.length === 0) patch.push({ op: 'add', path: '/spec/initContainers', value: [initContainer(image)] });
    else patch.push({ op: 'add', path: '/spec/initContainers/-', value: initContainer(image) });
    injectedInit.unshift(INIT_CONTAINER);
  }

  // Volumes (names already in the pod are kept as they are).
  const templateVolumes = sidecarVolumes(gateway);
  const present = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
  const missing = templateVolumes.filter((v) => !present.has(v.name));
  if (pod.spec?.volumes === undefined) {
    if (missing.length) patch.push({ op: 'add', path: '/spec/volumes', value: missing });
  } else {
    for (const volume of missing) patch.push({ op: 'add', path: '/spec/volumes/-', value: volume });
  }

  // Labels.
  const newLabels: Record<string, string> = {};
  if (!gateway) newLabels['security.istio.io/tlsMode'] = labels['security.istio.io/tlsMode'] || 'istio';
  newLabels['service.istio.io/canonical-name'] = canonicalName(pod, !gateway);
  newLabels['service.istio.io/canonical-revision'] = canonicalRevision(pod);
  setMap(patch, '/metadata/labels', pod.metadata?.labels, newLabels);

  // Annotations.
  const status = sidecarStatusAnnotation({
    initContainers: injectedInit,
    containers: injectedContainers,
    volumes: templateVolumes.map((v) => v.name),
    imagePullSecrets: [],
    revision: options.revision,
  });
  const newAnnotations: Record<string, string> = { [REV_LABEL]: options.revision || 'default' };
  const firstApp = appContainers[0];
  if (firstApp !== undefined) {
    if (annotations['kubectl.kubernetes.io/default-logs-container'] === undefined) {
      newAnnotations['kubectl.kubernetes.io/default-logs-container'] = firstApp;
    }
    if (annotations['kubectl.kubernetes.io/default-container'] === undefined) {
      newAnnotations['kubectl.kubernetes.io/default-container'] = firstApp;
    }
  }
  // Prometheus merge (enablePrometheusMerge defaults to true): scrape the agent's merged endpoint.
  if (annotations['prometheus.io/scrape'] !== 'false' && annotations['prometheus.istio.io/merge-metrics'] !== 'false') {
    newAnnotations['prometheus.io/port'] = '15020';
    newAnnotations['prometheus.io/path'] = '/stats/prometheus';
    newAnnotations['prometheus.io/scrape'] = 'true';
  }
  newAnnotations[SIDECAR_STATUS] = status;
  setMap(patch, '/metadata/annotations', pod.metadata?.annotations, newAnnotations);

  return { template: gateway ? 'gateway' : 'sidecar', patch, status };
}

/** Adds/overwrites keys of a string map, creating the map if the pod has none. */
function setMap(patch: PatchOperation[], path: string, current: Record<string, string> | undefined, values: Record<string, string>) {
  const changed = Object.entries(values).filter(([key, value]) => current?.[key] !== value);
  if (!changed.length) return;
  if (current === undefined) {
    patch.push({ op: 'add', path, value: Object.fromEntries(changed) });
    return;
  }
  for (const [key, value] of changed) patch.push({ op: 'add', path: `${path}/${escapePointer(key)}`, value });
}
