// The informer-backed cluster view and the injector process, against a
// minimal stand-in for the API server's list and watch endpoints on
// 127.0.0.1 (the real API server is exercised by the lab's integration tests).

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureServingCerts } from '../../lab/injector/certs.js';
import { KubeClusterView, isLoopbackHost, loadLoopbackKubeConfig } from '../../lab/injector/kube-view.js';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> }; [k: string]: unknown };

class FakeApiServer {
  private server!: Server;
  private rv = 10;
  readonly collections = new Map<
    string,
    { kind: string; items: Map<string, Obj>; watchers: Set<ServerResponse>; events: Array<{ rv: number; line: string }> }
  >();
  port = 0;

  constructor() {
    this.collection('/api/v1/namespaces', 'NamespaceList');
    this.collection('/apis/apps/v1/namespaces/istio-system/deployments', 'DeploymentList');
    this.collection('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', 'MutatingWebhookConfigurationList');
  }

  private collection(path: string, kind: string) {
    this.collections.set(path, { kind, items: new Map(), watchers: new Set(), events: [] });
  }

  put(path: string, obj: Obj) {
    const c = this.collections.get(path);
    if (!c) throw new Error(path);
    const type = c.items.has(obj.metadata.name) ? 'MODIFIED' : 'ADDED';
    obj.metadata.resourceVersion = String(++this.rv);
    c.items.set(obj.metadata.name, obj);
    const line = `${JSON.stringify({ type, object: obj })}\n`;
    c.events.push({ rv: this.rv, line });
    for (const w of c.watchers) w.write(line);
  }

  /** Serves HTTPS with a certificate for 127.0.0.1 made in `certDir`; returns the CA (base64 PEM). */
  async start(certDir: string): Promise<string> {
    const certs = await ensureServingCerts(certDir);
    this.server = createServer({ key: certs.keyPem, cert: certs.certPem }, (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const c = this.collections.get(url.pathname);
      if (!c) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 }));
        return;
      }
      const selector = url.searchParams.get('labelSelector');
      const matches = (o: Obj) => {
        if (!selector) return true;
        const [k, v] = selector.split('=');
        return o.metadata.labels?.[k ?? ''] === v;
      };
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders();
        // Like the API server: replay what happened after the resourceVersion the client listed at.
        const since = Number(url.searchParams.get('resourceVersion') || '0');
        for (const e of c.events) if (e.rv > since) res.write(e.line);
        c.watchers.add(res);
        req.on('close', () => c.watchers.delete(res));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: c.kind, apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items: [...c.items.values()].filter(matches) }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return certs.caBundle;
  }

  async stop() {
    for (const c of this.collections.values()) for (const w of c.watchers) w.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const NS = '/api/v1/namespaces';
const DEPLOY = '/apis/apps/v1/namespaces/istio-system/deployments';
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

function istiod(revision: string, version: string, readyReplicas: number): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `istiod-${revision}`, namespace: 'istio-system', labels: { app: 'istiod', 'istio.io/rev': revision } },
    spec: { selector: { matchLabels: { app: 'istiod' } }, template: { spec: { containers: [{ name: 'discovery', image: `docker.io/istio/pilot:${version}` }] } } },
    status: { readyReplicas },
  };
}

function webhook(name: string, labels: Record<string, string>): Obj {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name, labels }, webhooks: [] };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('KubeClusterView (informers)', () => {
  const api = new FakeApiServer();
  let dir: string;
  let kubeconfig: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-injector-kv-'));
    const caData = await api.start(join(dir, 'api-certs'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: lab\n  cluster:\n    server: https://127.0.0.1:${api.port}\n    certificate-authority-data: ${caData}`,
        'users:',
        '- name: lab\n  user:\n    token: lab',
        'contexts:',
        '- name: lab\n  context:\n    cluster: lab\n    user: lab',
        'current-context: lab',
        '',
      ].join('\n'),
    );
    api.put(NS, { metadata: { name: 'shop', labels: { 'istio.io/rev': 'prod' } } });
    api.put(DEPLOY, istiod('1-29-0', '1.29.0', 1));
    api.put(MWC, webhook('istio-sidecar-injector-1-29-0', { app: 'sidecar-injector', 'istio.io/rev': '1-29-0' }));
    api.put(MWC, webhook('istio-revision-tag-prod', { app: 'sidecar-injector', 'istio.io/rev': '1-29-0', 'istio.io/tag': 'prod' }));
  });

  afterAll(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a kubeconfig whose API server is not on loopback', () => {
    const other = join(dir, 'remote');
    writeFileSync(
      other,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user: {}\ncurrent-context: c\n',
    );
    expect(() => loadLoopbackKubeConfig(other)).toThrow('not on loopback');
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('192.0.2.10')).toBe(false);
  });

  it('lists, then follows watch events', async () => {
    const view = await KubeClusterView.start(loadLoopbackKubeConfig(kubeconfig), { syncTimeoutMs: 5000 });
    try {
      expect(view.synced()).toBe(true);
      expect(view.namespaceLabels('shop')).toEqual({ 'istio.io/rev': 'prod' });
      expect(view.namespaceLabels('absent')).toBeUndefined();
      expect(view.tags()).toEqual({ prod: '1-29-0' });
      expect(view.revisions()).toEqual(['1-29-0']);
      expect(view.istiod('1-29-0')).toEqual({ name: 'istiod-1-29-0', revision: '1-29-0', image: 'docker.io/istio/pilot:1.29.0', readyReplicas: 1 });

      api.put(DEPLOY, istiod('1-30-3', '1.30.3', 0));
      api.put(MWC, webhook('istio-revision-tag-prod', { app: 'sidecar-injector', 'istio.io/rev': '1-30-3', 'istio.io/tag': 'prod' }));
      api.put(NS, { metadata: { name: 'new', labels: { 'istio-injection': 'enabled' } } });
      await eventually(() => view.tags()['prod'] === '1-30-3' && view.istiod('1-30-3') !== undefined && view.namespaceLabels('new') !== undefined, 'watch events');
      expect(view.istiod('1-30-3')?.readyReplicas).toBe(0);
      expect(view.revisions()).toEqual(['1-29-0', '1-30-3']);

      api.put(DEPLOY, istiod('1-30-3', '1.30.3', 2));
      await eventually(() => view.istiod('1-30-3')?.readyReplicas === 2, 'readiness update');
    } finally {
      await view.stop();
    }
  }, 20_000);

  it('runs as a process: one ready line, serves, stops on SIGTERM', async () => {
    const stateDir = join(dir, 'state');
    // tsx on the Node that runs the tests (node_modules/.bin/tsx would take whatever `node` is on PATH).
    const child = spawn(
      process.execPath,
      [join(process.cwd(), 'node_modules/tsx/dist/cli.mjs'), 'lab/injector/main.ts', '--port', '0', '--state-dir', stateDir, '--kubeconfig', kubeconfig],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line; stderr: ${stderr}`)), 20_000);
        lines.once('line', (line) => {
          clearTimeout(timer);
          resolve(line);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const ready = JSON.parse(first) as { event: string; port: number; url: string; caFile: string; caBundleFile: string; injectURLTemplate: string };
      expect(ready.event).toBe('ready');
      expect(ready.url).toBe(`https://127.0.0.1:${ready.port}`);
      expect(ready.injectURLTemplate).toBe(`https://127.0.0.1:${ready.port}/inject/rev/<revision>`);
      const { readFileSync } = await import('node:fs');
      const ca = Buffer.from(readFileSync(ready.caBundleFile, 'utf8').trim(), 'base64');
      const health = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: ready.port, path: '/healthz', ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(health).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);
});
