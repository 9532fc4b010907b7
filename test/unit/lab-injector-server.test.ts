import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleInject, parseInjectPath, type AdmissionRequest, type AdmissionReview } from '../../lab/injector/admission.js';
import { ensureServingCerts } from '../../lab/injector/certs.js';
import { InMemoryClusterView } from '../../lab/injector/cluster-view.js';
import { InjectorMetrics } from '../../lab/injector/metrics.js';
import type { PatchOperation, Pod } from '../../lab/injector/patch.js';
import { startInjector, type RunningInjector } from '../../lab/injector/server.js';
import { istioOperatorOverlay, istioWebhookValues } from '../../lab/injector/install-values.js';
import { parse } from 'yaml';

function view(): InMemoryClusterView {
  return new InMemoryClusterView()
    .setIstiod('1-29-0', 'docker.io/istio/pilot:1.29.0')
    .setIstiod('1-30-3', 'docker.io/istio/pilot:1.30.3')
    .setTag('default', '1-29-0')
    .setTag('canary', '1-30-3')
    .setNamespace('legacy', { 'istio-injection': 'enabled' })
    .setNamespace('pinned', { 'istio.io/rev': '1-29-0' })
    .setNamespace('tagged', { 'istio.io/rev': 'canary' })
    .setNamespace('plain', {});
}

function podRequest(namespace: string, pod: Partial<Pod> = {}, uid = 'uid-1'): AdmissionRequest {
  return {
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace,
    operation: 'CREATE',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'web-abc12-', labels: { app: 'web' }, ...pod.metadata },
      spec: { containers: [{ name: 'web', image: 'web:1' }], ...pod.spec },
    },
  };
}

function decodePatch(patch: string | undefined): PatchOperation[] {
  return JSON.parse(Buffer.from(patch ?? '', 'base64').toString('utf8')) as PatchOperation[];
}

function statusOf(ops: PatchOperation[]): { revision: string } {
  const op = ops.find((o) => o.path === '/metadata/annotations/sidecar.istio.io~1status' || o.path === '/metadata/annotations');
  if (!op || op.op === 'remove') throw new Error('no status annotation in the patch');
  const value = op.value as string | Record<string, string>;
  return JSON.parse(typeof value === 'string' ? value : (value['sidecar.istio.io/status'] ?? '')) as { revision: string };
}

function proxyImage(ops: PatchOperation[]): string | undefined {
  const op = ops.find((o) => o.path === '/spec/containers/-');
  return op && op.op !== 'remove' ? (op.value as { image?: string }).image : undefined;
}

describe('handleInject', () => {
  const ctx = () => ({ view: view(), metrics: new InjectorMetrics() });

  it('/inject decides the revision from the namespace: default tag, revision, tag', () => {
    const c = ctx();
    for (const [ns, revision, version] of [
      ['legacy', '1-29-0', '1.29.0'],
      ['pinned', '1-29-0', '1.29.0'],
      ['tagged', '1-30-3', '1.30.3'],
    ] as const) {
      const res = handleInject(podRequest(ns), '/inject', c);
      expect(res).toMatchObject({ uid: 'uid-1', allowed: true, patchType: 'JSONPatch' });
      const ops = decodePatch(res.patch);
      expect(statusOf(ops).revision).toBe(revision);
      expect(proxyImage(ops)).toBe(`docker.io/istio/proxyv2:${version}`);
    }
    expect(c.metrics.snapshot().injectionsByRevision).toEqual({ '1-29-0': 2, '1-30-3': 1 });
  });

  it('/inject leaves pods no webhook selects unpatched', () => {
    const res = handleInject(podRequest('plain'), '/inject', ctx());
    expect(res).toEqual({ uid: 'uid-1', allowed: true });
  });

  it('/inject/rev/<rev> injects that revision and counts a cross-check mismatch when the rules disagree', () => {
    const c = ctx();
    const lines: string[] = [];
    const res = handleInject(podRequest('pinned'), '/inject/rev/1-30-3', { ...c, log: (l: string) => lines.push(l) });
    expect(statusOf(decodePatch(res.patch)).revision).toBe('1-30-3');
    expect(c.metrics.snapshot().mismatches).toBe(1);
    expect(lines[0]).toContain('the lab rules say revision 1-29-0');
    handleInject(podRequest('tagged'), '/inject/rev/1-30-3', c);
    expect(c.metrics.snapshot().mismatches).toBe(1);
  });

  it('refuses the pod, naming the revision, when that istiod is not Ready', () => {
    const c = ctx();
    c.view.setIstiodReady('1-30-3', 0);
    const res = handleInject(podRequest('tagged'), '/inject/rev/1-30-3', c);
    expect(res.allowed).toBe(false);
    expect(res.patch).toBeUndefined();
    expect(res.status?.message).toContain('Istio revision 1-30-3');
    expect(res.status?.message).toContain('istio-system/istiod-1-30-3 is not ready');
    expect(c.metrics.snapshot().refusalsByRevision).toEqual({ '1-30-3': 1 });
    // The other revision still injects.
    expect(handleInject(podRequest('pinned'), '/inject/rev/1-29-0', c).allowed).toBe(true);
  });

  it('refuses when the revision has a webhook but no istiod Deployment', () => {
    const c = ctx();
    c.view.deleteIstiod('1-30-3').addRevisionWebhook('1-30-3');
    const res = handleInject(podRequest('tagged'), '/inject', c);
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('no istiod Deployment (istio-system/istiod-1-30-3)');
  });

  it('skips already injected, opted-out and non-pod requests without a patch', () => {
    const c = ctx();
    const injected = podRequest('pinned', { metadata: { annotations: { 'sidecar.istio.io/status': '{}' } } });
    const optedOut = podRequest('pinned', { metadata: { annotations: { 'sidecar.istio.io/inject': 'false' } } });
    for (const req of [injected, optedOut]) expect(handleInject(req, '/inject/rev/1-29-0', c)).toEqual({ uid: 'uid-1', allowed: true });
    expect(handleInject({ ...podRequest('pinned'), operation: 'UPDATE' }, '/inject', c)).toEqual({ uid: 'uid-1', allowed: true });
    expect(c.metrics.snapshot().skips).toBe(3);
  });

  it('reads the webhook path the way istiod does', () => {
    expect(parseInjectPath('/inject')).toEqual({ params: {} });
    expect(parseInjectPath('/inject/rev/1-30-3/')).toEqual({ revision: '1-30-3', params: { rev: '1-30-3' } });
    expect(parseInjectPath('/inject/cluster/c1/net/n--slash--1')).toEqual({ params: { cluster: 'c1', net: 'n/1' } });
    expect(() => parseInjectPath('/inject/rev/Bad_Rev')).toThrow('DNS-1123');
    expect(() => parseInjectPath('/mutate')).toThrow('unknown path');
  });
});

describe('install values', () => {
  const endpoint = { url: 'https://127.0.0.1:15017', caBundle: 'LS0tQ0E=' };

  it('point the revision webhook at /inject/rev/<rev> and validation at /validate, with the caBundle', () => {
    expect(istioWebhookValues(endpoint, '1-30-3')).toEqual({
      istiodRemote: { injectionURL: 'https://127.0.0.1:15017/inject/rev/1-30-3', injectionCABundle: 'LS0tQ0E=' },
      base: { validationURL: 'https://127.0.0.1:15017/validate', validationCABundle: 'LS0tQ0E=' },
    });
  });

  it('come as an IstioOperator overlay file (base64 padding survives, unlike --set)', () => {
    const overlay = parse(istioOperatorOverlay(endpoint, '1-30-3')) as {
      kind: string;
      spec: { revision: string; values: { base: { validationCABundle: string } } };
    };
    expect(overlay.kind).toBe('IstioOperator');
    expect(overlay.spec.revision).toBe('1-30-3');
    expect(overlay.spec.values.base.validationCABundle).toBe('LS0tQ0E=');
  });
});

describe('serving certificates', () => {
  it('makes a CA and a 127.0.0.1 serving cert with openssl, then reuses them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-injector-certs-'));
    try {
      const first = await ensureServingCerts(dir);
      expect(first.reused).toBe(false);
      const cert = new X509Certificate(first.certPem);
      const ca = new X509Certificate(first.caPem);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(ca.ca).toBe(true);
      expect(Buffer.from(first.caBundle, 'base64').toString('utf8')).toBe(first.caPem);
      expect(readFileSync(join(dir, 'ca-bundle.b64'), 'utf8').trim()).toBe(first.caBundle);
      expect(statSync(first.keyFile).mode & 0o077).toBe(0);

      const second = await ensureServingCerts(dir);
      expect(second.reused).toBe(true);
      expect(second.certPem).toBe(first.certPem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HTTPS round trip', () => {
  let dir: string;
  let injector: RunningInjector;
  let clusterView: InMemoryClusterView;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-injector-'));
    clusterView = view();
    injector = await startInjector({ port: 0, stateDir: dir, view: clusterView, log: () => {} });
  });

  afterAll(async () => {
    await injector?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function call(path: string, body?: unknown, method = 'POST'): Promise<{ status: number; body: string; json?: AdmissionReview }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port: injector.port,
          path,
          method,
          ca: Buffer.from(injector.caBundle, 'base64'),
          // Verify the certificate exactly as the API server will: by IP SAN 127.0.0.1.
          servername: undefined,
          headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const isJson = (res.headers['content-type'] ?? '').startsWith('application/json');
            resolve({ status: res.statusCode ?? 0, body: text, ...(isJson && { json: JSON.parse(text) as AdmissionReview }) });
          });
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  function review(req: AdmissionRequest) {
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req };
  }

  it('listens on 127.0.0.1 and exposes the per-revision URL', () => {
    expect(injector.url).toBe(`https://127.0.0.1:${injector.port}`);
    expect(injector.injectURLFor('1-30-3')).toBe(`https://127.0.0.1:${injector.port}/inject/rev/1-30-3`);
  });

  it('injects a pod through POST /inject/rev/<rev> with an AdmissionReview v1', async () => {
    const started = Date.now();
    const res = await call('/inject/rev/1-30-3', review(podRequest('tagged', {}, 'abc-123')));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(200);
    expect(res.json?.apiVersion).toBe('admission.k8s.io/v1');
    expect(res.json?.kind).toBe('AdmissionReview');
    expect(res.json?.response).toMatchObject({ uid: 'abc-123', allowed: true, patchType: 'JSONPatch' });
    const ops = decodePatch(res.json?.response?.patch);
    expect(proxyImage(ops)).toBe('docker.io/istio/proxyv2:1.30.3');
    expect(statusOf(ops).revision).toBe('1-30-3');
  });

  it('refuses over HTTPS when the revision istiod is not Ready, and admits again once it is', async () => {
    clusterView.setIstiodReady('1-29-0', 0);
    const refused = await call('/inject/rev/1-29-0', review(podRequest('pinned', {}, 'r-1')));
    expect(refused.json?.response).toMatchObject({ uid: 'r-1', allowed: false });
    expect(refused.json?.response?.status?.message).toContain('Istio revision 1-29-0');
    clusterView.setIstiodReady('1-29-0', 2);
    const admitted = await call('/inject/rev/1-29-0', review(podRequest('pinned', {}, 'r-2')));
    expect(admitted.json?.response).toMatchObject({ uid: 'r-2', allowed: true });
  });

  it('admits Istio config on /validate and counts it', async () => {
    const before = injector.metrics.snapshot().validations;
    const res = await call(
      '/validate',
      review({
        uid: 'v-1',
        kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' },
        resource: { group: 'networking.istio.io', version: 'v1', resource: 'virtualservices' },
        namespace: 'shop',
        operation: 'CREATE',
        object: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs' }, spec: {} },
      }),
    );
    expect(res.json?.response).toEqual({ uid: 'v-1', allowed: true });
    expect(injector.metrics.snapshot().validations).toBe(before + 1);
  });

  it('answers /healthz and /metrics', async () => {
    const health = await call('/healthz', undefined, 'GET');
    expect(health).toMatchObject({ status: 200, body: 'ok\n' });
    const metrics = await call('/metrics', undefined, 'GET');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/sidecar_injection_success_total\{revision="1-30-3",template="sidecar"\} \d+/);
    expect(metrics.body).toMatch(/sidecar_injection_failure_total\{revision="1-29-0",reason="istiod not ready"\} 1/);
    expect(metrics.body).toMatch(/galley_validation_passed\{group="networking.istio.io",version="v1",resource="virtualservices"\} 1/);
  });

  it('rejects bad requests with 4xx', async () => {
    expect((await call('/inject', { kind: 'Pod' })).status).toBe(400);
    expect((await call('/inject', review({ uid: '' } as AdmissionRequest))).status).toBe(400);
    expect((await call('/inject/rev/NOT_OK', review(podRequest('pinned')))).status).toBe(400);
    expect((await call('/inject', undefined, 'GET')).status).toBe(405);
    expect((await call('/nope', undefined, 'GET')).status).toBe(404);
  });
});
