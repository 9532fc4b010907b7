import { describe, expect, it } from '@jest/globals';
import {
  buildInjection,
  escapePointer,
  parseImage,
  proxyImageFor,
  sidecarStatusAnnotation,
  workloadName,
  type PatchOperation,
  type Pod,
} from '../../lab/injector/patch.js';

// ---- a small RFC 6902 apply (add / replace / remove), strict about missing parents ----

function unescape(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function applyPatch<T>(doc: T, ops: PatchOperation[]): T {
  const root = structuredClone(doc) as unknown;
  for (const op of ops) {
    const segments = op.path.split('/').slice(1).map(unescape);
    const last = segments.pop();
    if (last === undefined) throw new Error(`bad path ${op.path}`);
    let parent = root as Record<string, unknown> | unknown[];
    for (const s of segments) {
      const next: unknown = Array.isArray(parent) ? parent[Number(s)] : parent[s];
      if (next === undefined || next === null || typeof next !== 'object') throw new Error(`${op.op} ${op.path}: missing parent ${s}`);
      parent = next as Record<string, unknown> | unknown[];
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`${op.op} ${op.path}: bad index`);
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else if (op.op === 'replace') {
        if (index >= parent.length) throw new Error(`replace ${op.path}: no such element`);
        parent[index] = structuredClone(op.value);
      } else parent.splice(index, 1);
    } else {
      if (op.op === 'add') parent[last] = structuredClone(op.value);
      else if (op.op === 'replace') {
        if (!(last in parent)) throw new Error(`replace ${op.path}: no such member`);
        parent[last] = structuredClone(op.value);
      } else {
        if (!(last in parent)) throw new Error(`remove ${op.path}: no such member`);
        delete parent[last];
      }
    }
  }
  return root as T;
}

// ---- fixtures ----

function deploymentPod(overrides: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Pod['spec'] } = {}): Pod {
  return {
    metadata: {
      generateName: 'reviews-7c9d8f6b5d-',
      namespace: 'shop',
      labels: { app: 'reviews', version: 'v2', 'pod-template-hash': '7c9d8f6b5d', ...overrides.labels },
      ...(overrides.annotations && { annotations: overrides.annotations }),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reviews-7c9d8f6b5d', controller: true }],
    },
    spec: overrides.spec ?? { containers: [{ name: 'reviews', image: 'example/reviews:2', ports: [{ containerPort: 9080 }] }] },
  };
}

const IMAGE = 'docker.io/istio/proxyv2:1.30.3';
const SIDECAR_VOLUMES = [
  'workload-socket',
  'credential-socket',
  'workload-certs',
  'istio-envoy',
  'istio-data',
  'istio-podinfo',
  'istio-token',
  'istiod-ca-cert',
  'istio-ca-crl',
];

function names(list: Array<{ name: string }> | undefined): string[] {
  return (list ?? []).map((c) => c.name);
}

describe('sidecar injection patch', () => {
  it('adds istio-proxy last, istio-init, the volumes, labels and annotations', () => {
    const pod = deploymentPod();
    const { patch, status, template } = buildInjection(pod, { revision: '1-30-3', proxyImage: IMAGE });
    expect(template).toBe('sidecar');
    const out = applyPatch(pod, patch);

    expect(names(out.spec?.containers)).toEqual(['reviews', 'istio-proxy']);
    expect(out.spec?.containers?.[1]?.image).toBe(IMAGE);
    expect(names(out.spec?.initContainers)).toEqual(['istio-init']);
    expect(out.spec?.initContainers?.[0]?.image).toBe(IMAGE);
    expect(names(out.spec?.volumes)).toEqual(SIDECAR_VOLUMES);
    expect(out.spec?.containers?.[0]).toEqual(pod.spec?.containers?.[0]);

    expect(out.metadata?.labels).toEqual({
      ...pod.metadata?.labels,
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': 'reviews',
      'service.istio.io/canonical-revision': 'v2',
    });
    expect(out.metadata?.annotations).toEqual({
      'istio.io/rev': '1-30-3',
      'kubectl.kubernetes.io/default-container': 'reviews',
      'kubectl.kubernetes.io/default-logs-container': 'reviews',
      'prometheus.io/path': '/stats/prometheus',
      'prometheus.io/port': '15020',
      'prometheus.io/scrape': 'true',
      'sidecar.istio.io/status': status,
    });
  });

  it('every volume the proxy mounts is in the pod (the API server validates mounts)', () => {
    const out = applyPatch(deploymentPod(), buildInjection(deploymentPod(), { revision: 'r', proxyImage: IMAGE }).patch);
    const volumes = new Set(names(out.spec?.volumes));
    const mounts = (out.spec?.containers?.[1]?.['volumeMounts'] ?? []) as Array<{ name: string }>;
    expect(mounts.length).toBeGreaterThan(0);
    for (const m of mounts) expect(volumes.has(m.name)).toBe(true);
  });

  it('appends to existing init containers, volumes, labels and annotations, escaping keys', () => {
    const pod = deploymentPod({
      annotations: { 'team/owner': 'shop', 'a~b': 'x' },
      spec: {
        containers: [{ name: 'app', image: 'app:1' }],
        initContainers: [{ name: 'migrate', image: 'migrate:1' }],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    });
    const { patch } = buildInjection(pod, { revision: '1-30-3', proxyImage: IMAGE });
    expect(patch.some((op) => op.path === '/metadata/annotations/sidecar.istio.io~1status')).toBe(true);
    const out = applyPatch(pod, patch);
    expect(names(out.spec?.initContainers)).toEqual(['migrate', 'istio-init']);
    expect(names(out.spec?.volumes)).toEqual(['data', ...SIDECAR_VOLUMES]);
    expect(out.metadata?.annotations?.['team/owner']).toBe('shop');
    expect(out.metadata?.annotations?.['a~b']).toBe('x');
    expect(out.metadata?.annotations?.['istio.io/rev']).toBe('1-30-3');
  });

  it('keeps canonical labels and default-container annotations the pod already has', () => {
    const pod = deploymentPod({
      labels: { 'service.istio.io/canonical-name': 'catalog', 'security.istio.io/tlsMode': 'disabled' },
      annotations: { 'kubectl.kubernetes.io/default-container': 'sidecar-x' },
    });
    const out = applyPatch(pod, buildInjection(pod, { revision: 'r', proxyImage: IMAGE }).patch);
    expect(out.metadata?.labels?.['service.istio.io/canonical-name']).toBe('catalog');
    expect(out.metadata?.labels?.['security.istio.io/tlsMode']).toBe('disabled');
    expect(out.metadata?.annotations?.['kubectl.kubernetes.io/default-container']).toBe('sidecar-x');
  });

  it('creates the labels and annotations maps when the pod has none', () => {
    const pod: Pod = { metadata: { name: 'solo', namespace: 'shop' }, spec: { containers: [{ name: 'c', image: 'c:1' }] } };
    const out = applyPatch(pod, buildInjection(pod, { revision: 'r', proxyImage: IMAGE }).patch);
    expect(out.metadata?.labels?.['service.istio.io/canonical-name']).toBe('solo');
    expect(out.metadata?.labels?.['service.istio.io/canonical-revision']).toBe('latest');
    expect(out.metadata?.annotations?.['istio.io/rev']).toBe('r');
  });

  it('honours sidecar.istio.io/proxyImage and prometheus.io/scrape=false', () => {
    const pod = deploymentPod({ annotations: { 'sidecar.istio.io/proxyImage': 'my.registry/istio/proxyv2:custom', 'prometheus.io/scrape': 'false' } });
    const out = applyPatch(pod, buildInjection(pod, { revision: 'r', proxyImage: IMAGE }).patch);
    expect(out.spec?.containers?.[1]?.image).toBe('my.registry/istio/proxyv2:custom');
    expect(out.metadata?.annotations?.['prometheus.io/scrape']).toBe('false');
    expect(out.metadata?.annotations?.['prometheus.io/port']).toBeUndefined();
  });

  it('native sidecars: istio-init, then istio-proxy (restartPolicy Always), then the pod init containers', () => {
    const pod = deploymentPod({ spec: { containers: [{ name: 'app' }], initContainers: [{ name: 'migrate' }] } });
    const { patch, status } = buildInjection(pod, { revision: '1-30-3', proxyImage: IMAGE, nativeSidecars: true });
    const out = applyPatch(pod, patch);
    expect(names(out.spec?.initContainers)).toEqual(['istio-init', 'istio-proxy', 'migrate']);
    expect(out.spec?.initContainers?.[1]?.['restartPolicy']).toBe('Always');
    expect(names(out.spec?.containers)).toEqual(['app']);
    expect(JSON.parse(status)).toMatchObject({ initContainers: ['istio-init', 'istio-proxy'], containers: null });
  });
});

describe('the sidecar.istio.io/status annotation', () => {
  it('is exactly the format istiod writes (key order, null for empty lists)', () => {
    const { status } = buildInjection(deploymentPod(), { revision: '1-30-3', proxyImage: IMAGE });
    expect(status).toBe(
      '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket",' +
        '"workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert","istio-ca-crl"],' +
        '"imagePullSecrets":null,"revision":"1-30-3"}',
    );
  });

  it('names the revision, "default" for the non-revisioned install', () => {
    expect(JSON.parse(sidecarStatusAnnotation({ initContainers: [], containers: ['x'], volumes: [], imagePullSecrets: [], revision: '' }))).toEqual({
      initContainers: null,
      containers: ['x'],
      volumes: null,
      imagePullSecrets: null,
      revision: 'default',
    });
  });
});

describe('gateway template', () => {
  function gatewayPod(image = 'auto'): Pod {
    return {
      metadata: {
        generateName: 'istio-ingressgateway-5d9c7b8f6-',
        namespace: 'istio-system',
        labels: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'sidecar.istio.io/inject': 'true', 'istio.io/rev': '1-29-0' },
        annotations: { 'inject.istio.io/templates': 'gateway', 'sidecar.istio.io/inject': 'true' },
      },
      spec: {
        containers: [{ name: 'istio-proxy', image, ports: [{ containerPort: 8080 }] }],
        serviceAccountName: 'istio-ingressgateway-service-account',
      },
    };
  }

  it('replaces the image of the pod istio-proxy container instead of adding a second one', () => {
    const pod = gatewayPod();
    const { patch, status, template } = buildInjection(pod, { revision: '1-29-0', proxyImage: 'docker.io/istio/proxyv2:1.29.0' });
    expect(template).toBe('gateway');
    const out = applyPatch(pod, patch);
    expect(names(out.spec?.containers)).toEqual(['istio-proxy']);
    expect(out.spec?.containers?.[0]).toEqual({ ...pod.spec?.containers?.[0], image: 'docker.io/istio/proxyv2:1.29.0' });
    expect(out.spec?.initContainers).toBeUndefined();
    expect(out.metadata?.labels?.['security.istio.io/tlsMode']).toBeUndefined();
    expect(out.metadata?.labels?.['service.istio.io/canonical-name']).toBe('istio-ingressgateway');
    expect(out.metadata?.annotations?.['istio.io/rev']).toBe('1-29-0');
    // As in pkg/kube/inject/testdata/inject/gateway.yaml.injected.
    expect(status).toBe(
      '{"initContainers":null,"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs",' +
        '"istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"1-29-0"}',
    );
  });

  it('keeps an explicit image on the pod istio-proxy container (pod fields override the template)', () => {
    const pod = gatewayPod('my.registry/proxyv2:pinned');
    const { patch } = buildInjection(pod, { revision: '1-30-3', proxyImage: IMAGE });
    expect(patch.some((op) => op.path.startsWith('/spec/containers'))).toBe(false);
    expect(applyPatch(pod, patch).spec?.containers?.[0]?.image).toBe('my.registry/proxyv2:pinned');
  });

  it('the same Deployment template (image: auto) gets the new revision image after a move', () => {
    for (const [revision, image] of [['1-29-0', 'docker.io/istio/proxyv2:1.29.0'], ['1-30-3', IMAGE]] as const) {
      const out = applyPatch(gatewayPod(), buildInjection(gatewayPod(), { revision, proxyImage: image }).patch);
      expect(out.spec?.containers?.[0]?.image).toBe(image);
    }
  });
});

describe('helpers', () => {
  it('parses image references and builds the proxy image from the istiod image', () => {
    expect(parseImage('docker.io/istio/pilot:1.30.3-distroless@sha256:abc')).toEqual({ hub: 'docker.io/istio', name: 'pilot', tag: '1.30.3-distroless' });
    expect(parseImage('localhost:5000/istio/pilot')).toEqual({ hub: 'localhost:5000/istio', name: 'pilot', tag: 'latest' });
    expect(proxyImageFor('docker.io/istio/pilot:1.29.0')).toBe('docker.io/istio/proxyv2:1.29.0');
    expect(proxyImageFor('docker.io/istio/pilot:1.29.0', 'gcr.io/istio-release')).toBe('gcr.io/istio-release/proxyv2:1.29.0');
  });

  it('derives the workload name the way istio does', () => {
    expect(workloadName(deploymentPod())).toBe('reviews');
    expect(workloadName({ metadata: { name: 'p' } })).toBe('p');
    expect(
      workloadName({ metadata: { generateName: 'job-x-', ownerReferences: [{ kind: 'Job', name: 'job-x', controller: true }] } }),
    ).toBe('job-x');
  });

  it('escapes JSON pointer segments', () => {
    expect(escapePointer('sidecar.istio.io/status')).toBe('sidecar.istio.io~1status');
    expect(escapePointer('a~/b')).toBe('a~0~1b');
  });
});
