import { describe, expect, it } from '@jest/globals';
import {
  isLivePod,
  isRunningPod,
  istiodDeploymentName,
  istiodImage,
  istiodReady,
  istiodRevision,
  podProxyRevision,
  revisionFromSidecarStatus,
  tagsFromWebhooks,
  versionFromImage,
  type PodObject,
} from '../../activities/kubernetes-revision.js';

// The status annotation exactly as Istio 1.30's injector writes it (pkg/kube/inject/webhook.go).
const status = (revision: string): string =>
  JSON.stringify({
    initContainers: ['istio-init'],
    containers: ['istio-proxy'],
    volumes: ['workload-socket', 'istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token', 'istiod-ca-cert'],
    imagePullSecrets: null,
    revision,
  });

function pod(overrides: { annotations?: Record<string, string>; labels?: Record<string, string>; containers?: string[]; initContainers?: string[]; phase?: string; deleting?: boolean } = {}): PodObject {
  return {
    metadata: {
      name: 'p',
      annotations: overrides.annotations ?? {},
      labels: overrides.labels ?? {},
      ...(overrides.deleting && { deletionTimestamp: new Date() }),
    },
    spec: {
      containers: (overrides.containers ?? ['app']).map((name) => ({ name })),
      initContainers: (overrides.initContainers ?? []).map((name) => ({ name })),
    },
    status: { phase: overrides.phase ?? 'Running' },
  };
}

describe('revisionFromSidecarStatus', () => {
  it('reads the revision field', () => {
    expect(revisionFromSidecarStatus(status('1-30-3'))).toBe('1-30-3');
  });
  it('is undefined when absent, empty or unreadable', () => {
    expect(revisionFromSidecarStatus(undefined)).toBeUndefined();
    expect(revisionFromSidecarStatus('{"containers":["istio-proxy"]}')).toBeUndefined();
    expect(revisionFromSidecarStatus('{"revision":""}')).toBeUndefined();
    expect(revisionFromSidecarStatus('not json')).toBeUndefined();
    expect(revisionFromSidecarStatus('"a string"')).toBeUndefined();
  });
});

describe('podProxyRevision', () => {
  it('takes the revision from the status annotation', () => {
    expect(podProxyRevision(pod({ annotations: { 'sidecar.istio.io/status': status('1-30-3') }, containers: ['app', 'istio-proxy'] }))).toBe('1-30-3');
  });
  it('prefers the status annotation over an istio.io/rev label that names a tag', () => {
    const p = pod({ annotations: { 'sidecar.istio.io/status': status('1-30-3') }, labels: { 'istio.io/rev': 'canary' }, containers: ['app', 'istio-proxy'] });
    expect(podProxyRevision(p)).toBe('1-30-3');
  });
  it('falls back to the istio.io/rev annotation, then the label', () => {
    expect(podProxyRevision(pod({ annotations: { 'sidecar.istio.io/status': '{}', 'istio.io/rev': '1-29-0' } }))).toBe('1-29-0');
    expect(podProxyRevision(pod({ containers: ['app', 'istio-proxy'], labels: { 'istio.io/rev': '1-29-0' } }))).toBe('1-29-0');
  });
  it('calls an injected pod without any revision mark "default"', () => {
    expect(podProxyRevision(pod({ annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } }))).toBe('default');
  });
  it('finds a native sidecar among the init containers', () => {
    expect(podProxyRevision(pod({ initContainers: ['istio-proxy'], annotations: { 'istio.io/rev': 'x' } }))).toBe('x');
  });
  it('is null for a pod without a proxy, whatever its labels say', () => {
    expect(podProxyRevision(pod())).toBeNull();
    expect(podProxyRevision(pod({ labels: { 'istio.io/rev': '1-30-3' } }))).toBeNull();
  });
});

describe('pod liveness', () => {
  it('running means phase Running and not being deleted', () => {
    expect(isRunningPod(pod())).toBe(true);
    expect(isRunningPod(pod({ phase: 'Pending' }))).toBe(false);
    expect(isRunningPod(pod({ deleting: true }))).toBe(false);
  });
  it('live also counts pending pods, but not finished or deleting ones', () => {
    expect(isLivePod(pod({ phase: 'Pending' }))).toBe(true);
    expect(isLivePod(pod({ phase: 'Succeeded' }))).toBe(false);
    expect(isLivePod(pod({ phase: 'Failed' }))).toBe(false);
    expect(isLivePod(pod({ deleting: true }))).toBe(false);
  });
});

describe('istiod', () => {
  it('names the Deployment after the revision', () => {
    expect(istiodDeploymentName('default')).toBe('istiod');
    expect(istiodDeploymentName('1-30-3')).toBe('istiod-1-30-3');
  });
  it('reads the revision label, "default" without one', () => {
    expect(istiodRevision({ metadata: { labels: { app: 'istiod', 'istio.io/rev': '1-30-3' } } })).toBe('1-30-3');
    expect(istiodRevision({ metadata: { labels: { app: 'istiod' } } })).toBe('default');
  });
  it('finds the discovery container image', () => {
    const deployment = {
      spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'x:1' }, { name: 'discovery', image: 'docker.io/istio/pilot:1.30.3' }] } } },
    };
    expect(istiodImage(deployment)).toBe('docker.io/istio/pilot:1.30.3');
    expect(istiodImage({ spec: { template: { spec: { containers: [{ name: 'other', image: 'y:2' }] } } } })).toBe('y:2');
  });
  it('is ready with at least one ready replica and as many as desired', () => {
    expect(istiodReady({ spec: { replicas: 2 }, status: { readyReplicas: 2 } })).toBe(true);
    expect(istiodReady({ spec: { replicas: 2 }, status: { readyReplicas: 1 } })).toBe(false);
    expect(istiodReady({ spec: {}, status: { readyReplicas: 1 } })).toBe(true);
    expect(istiodReady({ spec: { replicas: 0 }, status: { readyReplicas: 0 } })).toBe(false);
    expect(istiodReady({ spec: { replicas: 1 }, status: {} })).toBe(false);
  });
});

describe('versionFromImage', () => {
  it.each([
    ['docker.io/istio/pilot:1.30.3', '1.30.3'],
    ['docker.io/istio/pilot:1.30.3-distroless', '1.30.3'],
    ['gcr.io/istio-release/pilot:1.31.0-beta.1', '1.31.0-beta.1'],
    ['localhost:5000/istio/pilot:1.30.3@sha256:abc', '1.30.3'],
    ['pilot:v1.29.0', '1.29.0'],
  ])('%s -> %s', (image, version) => {
    expect(versionFromImage(image)).toBe(version);
  });
  it.each([['docker.io/istio/pilot'], ['localhost:5000/istio/pilot'], ['istio/pilot@sha256:abc'], ['istio/pilot:latest'], ['']])(
    '%s has no version',
    (image) => {
      expect(versionFromImage(image)).toBeUndefined();
    },
  );
});

describe('tagsFromWebhooks', () => {
  it('maps istio.io/tag to istio.io/rev and ignores revision webhooks', () => {
    const tags = tagsFromWebhooks([
      { metadata: { name: 'istio-revision-tag-default', labels: { 'istio.io/tag': 'default', 'istio.io/rev': '1-29-0' } } },
      { metadata: { name: 'istio-revision-tag-prod', labels: { 'istio.io/tag': 'prod', 'istio.io/rev': '1-30-3' } } },
      { metadata: { name: 'istio-sidecar-injector-1-30-3', labels: { 'istio.io/rev': '1-30-3' } } },
      { metadata: { name: 'broken', labels: { 'istio.io/tag': 'x' } } },
    ]);
    expect(tags).toEqual({ default: '1-29-0', prod: '1-30-3' });
  });
});
