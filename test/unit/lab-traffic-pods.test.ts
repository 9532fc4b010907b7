import { describe, expect, it } from '@jest/globals';
import {
  UNKNOWN_VERSION,
  isIngressGateway,
  proxyVersion,
  toIstiod,
  toMeshPod,
  workloadName,
  type DeploymentLike,
  type PodLike,
} from '../../lab/traffic/pods.js';

const status = (revision: string): string =>
  JSON.stringify({ initContainers: ['istio-init'], containers: ['istio-proxy'], volumes: [], imagePullSecrets: null, revision });

interface PodSpec {
  namespace?: string;
  name?: string;
  owner?: { kind: string; name: string } | null;
  labels?: Record<string, string>;
  proxyImage?: string | null;
  nativeSidecar?: boolean;
  revision?: string | null;
  phase?: string;
  ready?: boolean;
  deleting?: boolean;
  serviceAccount?: string;
}

function pod(spec: PodSpec = {}): PodLike {
  const proxy = spec.proxyImage === null ? [] : [{ name: 'istio-proxy', image: spec.proxyImage ?? 'docker.io/istio/proxyv2:1.30.3' }];
  const revision = spec.revision === undefined ? '1-30-3' : spec.revision;
  return {
    metadata: {
      namespace: spec.namespace ?? 'shop',
      name: spec.name ?? 'cart-5d8f7c9b4-x2k9p',
      labels: spec.labels ?? { app: 'cart', 'pod-template-hash': '5d8f7c9b4' },
      annotations: revision === null ? {} : { 'sidecar.istio.io/status': status(revision) },
      ownerReferences: spec.owner === null ? [] : [{ controller: true, ...(spec.owner ?? { kind: 'ReplicaSet', name: 'cart-5d8f7c9b4' }) }],
      ...(spec.deleting && { deletionTimestamp: new Date() }),
    },
    spec: {
      containers: [{ name: 'app', image: 'nginx:1.27' }, ...(spec.nativeSidecar ? [] : proxy)],
      initContainers: spec.nativeSidecar ? proxy : [],
      ...(spec.serviceAccount && { serviceAccountName: spec.serviceAccount }),
    },
    status: {
      phase: spec.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: spec.ready === false ? 'False' : 'True' }],
    },
  };
}

describe('workloadName', () => {
  it('strips the pod-template-hash from the ReplicaSet owner', () => {
    expect(workloadName(pod())).toBe('cart');
  });
  it('strips the last segment when the hash label is missing or does not match', () => {
    expect(workloadName(pod({ labels: {}, owner: { kind: 'ReplicaSet', name: 'web-api-7f9c' } }))).toBe('web-api');
  });
  it('keeps a ReplicaSet name without a dash', () => {
    expect(workloadName(pod({ labels: {}, owner: { kind: 'ReplicaSet', name: 'solo' } }))).toBe('solo');
  });
  it('uses the StatefulSet or DaemonSet name as is', () => {
    expect(workloadName(pod({ owner: { kind: 'StatefulSet', name: 'db' } }))).toBe('db');
    expect(workloadName(pod({ owner: { kind: 'DaemonSet', name: 'agent' } }))).toBe('agent');
  });
  it("reports a CronJob's Job as the CronJob", () => {
    expect(workloadName(pod({ owner: { kind: 'Job', name: 'backup-28930140' } }))).toBe('backup');
    expect(workloadName(pod({ owner: { kind: 'Job', name: 'migrate' } }))).toBe('migrate');
  });
  it('falls back to the app label, then the pod name', () => {
    expect(workloadName(pod({ owner: null, labels: { app: 'ratings' } }))).toBe('ratings');
    expect(workloadName(pod({ owner: null, labels: {}, name: 'lonely' }))).toBe('lonely');
  });
});

describe('proxyVersion', () => {
  it.each([
    ['docker.io/istio/proxyv2:1.30.3', '1.30.3'],
    ['gcr.io/istio-release/proxyv2:1.31.0-distroless', '1.31.0'],
    ['localhost:5000/istio/proxyv2:1.29.2', '1.29.2'],
    ['docker.io/istio/proxyv2:1.31.0-beta.1', '1.31.0-beta.1'],
  ])('%s -> %s', (image, version) => {
    expect(proxyVersion(pod({ proxyImage: image }))).toBe(version);
  });
  it.each(['auto', 'docker.io/istio/proxyv2:latest', 'docker.io/istio/proxyv2@sha256:abc'])('%s -> unknown', (image) => {
    expect(proxyVersion(pod({ proxyImage: image }))).toBe(UNKNOWN_VERSION);
  });
  it('reads a native sidecar among the init containers', () => {
    expect(proxyVersion(pod({ nativeSidecar: true, proxyImage: 'docker.io/istio/proxyv2:1.31.0' }))).toBe('1.31.0');
  });
  it('is unknown without a proxy container', () => {
    expect(proxyVersion(pod({ proxyImage: null }))).toBe(UNKNOWN_VERSION);
  });
});

describe('toMeshPod', () => {
  it('reads an injected, Ready pod', () => {
    expect(toMeshPod(pod({ serviceAccount: 'cart-sa', labels: { app: 'cart', version: 'v2', 'pod-template-hash': '5d8f7c9b4' } }))).toEqual({
      key: 'shop/cart-5d8f7c9b4-x2k9p',
      namespace: 'shop',
      name: 'cart-5d8f7c9b4-x2k9p',
      workload: 'cart',
      app: 'cart',
      versionLabel: 'v2',
      canonicalService: 'cart',
      canonicalRevision: 'v2',
      serviceAccount: 'cart-sa',
      ready: true,
      running: true,
      proxy: { version: '1.30.3', revision: '1-30-3' },
      gateway: null,
    });
  });

  it('takes the revision from the status annotation, "default" when it names none', () => {
    expect(toMeshPod(pod({ revision: 'canary' }))?.proxy).toEqual({ version: '1.30.3', revision: 'canary' });
    expect(toMeshPod(pod({ revision: null }))?.proxy).toEqual({ version: '1.30.3', revision: 'default' });
  });

  it('has no proxy when nothing was injected', () => {
    expect(toMeshPod(pod({ proxyImage: null, revision: null }))?.proxy).toBeNull();
  });

  it('is ready only when Running, Ready=True and not being deleted', () => {
    expect(toMeshPod(pod({ ready: false }))).toMatchObject({ ready: false, running: true });
    expect(toMeshPod(pod({ phase: 'Pending' }))).toMatchObject({ ready: false, running: false });
    expect(toMeshPod(pod({ deleting: true }))).toMatchObject({ ready: false, running: false });
  });

  it("follows Istio's precedence for canonical service and revision", () => {
    const labels = {
      app: 'cart',
      version: 'v1',
      'app.kubernetes.io/name': 'cart-k8s',
      'app.kubernetes.io/version': '2.0',
      'service.istio.io/canonical-name': 'cart-canonical',
      'service.istio.io/canonical-revision': 'r7',
    };
    expect(toMeshPod(pod({ labels }))).toMatchObject({ canonicalService: 'cart-canonical', canonicalRevision: 'r7' });
    expect(toMeshPod(pod({ labels: { app: 'cart', version: 'v1', 'app.kubernetes.io/version': '2.0' } }))).toMatchObject({
      canonicalService: 'cart',
      canonicalRevision: '2.0',
    });
    expect(toMeshPod(pod({ labels: {}, owner: { kind: 'ReplicaSet', name: 'cart-abc' } }))).toMatchObject({
      app: 'unknown',
      versionLabel: 'unknown',
      canonicalService: 'cart',
      canonicalRevision: 'latest',
      serviceAccount: 'default',
    });
  });

  it('recognises gateways', () => {
    const gw = toMeshPod(pod({ namespace: 'istio-system', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } }))!;
    expect(gw.gateway).toBe('ingress');
    expect(isIngressGateway(gw)).toBe(true);
    expect(toMeshPod(pod({ labels: { istio: 'egressgateway' } }))?.gateway).toBe('egress');
    expect(toMeshPod(pod({ labels: { 'gateway.networking.k8s.io/gateway-name': 'gw' } }))?.gateway).toBe('other');
    // An ingress gateway outside istio-system is not the mesh's ingress.
    expect(isIngressGateway(toMeshPod(pod({ namespace: 'shop', labels: { istio: 'ingressgateway' } }))!)).toBe(false);
  });

  it('ignores an object without namespace or name', () => {
    expect(toMeshPod({ metadata: { name: 'x' } })).toBeNull();
  });
});

describe('toIstiod', () => {
  const istiod = (overrides: { name?: string; namespace?: string; labels?: Record<string, string>; image?: string; ready?: number } = {}): DeploymentLike => ({
    metadata: {
      name: overrides.name ?? 'istiod-1-30-3',
      namespace: overrides.namespace ?? 'istio-system',
      labels: overrides.labels ?? { app: 'istiod', 'istio.io/rev': '1-30-3' },
    },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'discovery', image: overrides.image ?? 'docker.io/istio/pilot:1.30.3' }] } } },
    status: { readyReplicas: overrides.ready ?? 1 },
  });

  it('reads revision, version and readiness', () => {
    expect(toIstiod(istiod())).toEqual({ key: 'istio-system/istiod-1-30-3', revision: '1-30-3', version: '1.30.3', ready: true });
    expect(toIstiod(istiod({ ready: 0 }))?.ready).toBe(false);
    expect(toIstiod(istiod({ image: 'docker.io/istio/pilot:1.31.0-distroless' }))?.version).toBe('1.31.0');
  });
  it('calls an istiod without istio.io/rev "default"', () => {
    expect(toIstiod(istiod({ name: 'istiod', labels: { app: 'istiod' } }))?.revision).toBe('default');
  });
  it('ignores other Deployments and other namespaces', () => {
    expect(toIstiod(istiod({ labels: { app: 'istio-ingressgateway' } }))).toBeNull();
    expect(toIstiod(istiod({ namespace: 'shop' }))).toBeNull();
  });
});
