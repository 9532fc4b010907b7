// lab/traffic/main.ts as the lab runs it: a process with a kubeconfig, printing
// one ready line, following pods through list+watch, stopping on SIGTERM. The
// Kubernetes API here is a small list/watch stand-in on 127.0.0.1 (pods in all
// namespaces, istiod Deployments), enough to drive client-node's informers;
// the lab's real API server is exercised by the lab's own tests.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { SimulatorState } from '../../lab/traffic/simulator.js';

jest.setTimeout(60_000);

type Obj = { apiVersion: string; kind: string; metadata: { namespace: string; name: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

/** A list/watch stand-in for two collections of the Kubernetes API. */
class FakeApi {
  private rv = 1;
  private readonly objects = { pods: new Map<string, Obj>(), deployments: new Map<string, Obj>() };
  private readonly watchers = { pods: new Set<ServerResponse>(), deployments: new Set<ServerResponse>() };
  readonly requests: string[] = [];
  server!: Server;

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      this.requests.push(`${req.method} ${url.pathname}${url.search}`);
      const kind =
        url.pathname === '/api/v1/pods' ? 'pods' : url.pathname === '/apis/apps/v1/namespaces/istio-system/deployments' ? 'deployments' : null;
      if (!kind) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"kind":"Status","code":404}');
        return;
      }
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders();
        this.watchers[kind].add(res);
        res.on('close', () => this.watchers[kind].delete(res));
        return;
      }
      const list = {
        apiVersion: kind === 'pods' ? 'v1' : 'apps/v1',
        kind: kind === 'pods' ? 'PodList' : 'DeploymentList',
        metadata: { resourceVersion: String(this.rv) },
        items: [...this.objects[kind].values()],
      };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(list));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  apply(kind: 'pods' | 'deployments', obj: Obj): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const type = this.objects[kind].has(key) ? 'MODIFIED' : 'ADDED';
    const stamped = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    this.objects[kind].set(key, stamped);
    this.emit(kind, type, stamped);
  }

  remove(kind: 'pods' | 'deployments', namespace: string, name: string): void {
    const obj = this.objects[kind].get(`${namespace}/${name}`);
    if (!obj) return;
    this.objects[kind].delete(`${namespace}/${name}`);
    this.emit(kind, 'DELETED', { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
  }

  watching(kind: 'pods' | 'deployments'): number {
    return this.watchers[kind].size;
  }

  /** Ends every open watch, as an API server does at its watch timeout. */
  closeWatches(): void {
    for (const set of Object.values(this.watchers)) {
      for (const res of set) res.end();
      set.clear();
    }
  }

  private emit(kind: 'pods' | 'deployments', type: string, object: Obj): void {
    for (const res of this.watchers[kind]) res.write(`${JSON.stringify({ type, object })}\n`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function pod(ns: string, deployment: string, index: number, version: string, revision: string): Obj {
  const hash = `h${revision.replace(/-/g, '')}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: ns,
      name: `${deployment}-${hash}-${index}`,
      uid: `uid-${ns}-${deployment}-${hash}-${index}`,
      labels: { app: deployment, 'pod-template-hash': hash },
      annotations: { 'sidecar.istio.io/status': JSON.stringify({ containers: ['istio-proxy'], revision }) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${deployment}-${hash}`, uid: 'rs', controller: true }],
    },
    spec: { containers: [{ name: 'app', image: 'app:1' }, { name: 'istio-proxy', image: `docker.io/istio/proxyv2:${version}` }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function istiod(version: string, revision: string): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: 'istio-system', name: `istiod-${revision}`, labels: { app: 'istiod', 'istio.io/rev': revision } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'istiod' } },
      template: { spec: { containers: [{ name: 'discovery', image: `docker.io/istio/pilot:${version}` }] } },
    },
    status: { readyReplicas: 1 },
  };
}

const api = new FakeApi();
let dir: string;
let child: ChildProcessWithoutNullStreams;
let url: string;
let stderr = '';
let simulatorPid: number | undefined;

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function state(): Promise<SimulatorState> {
  return (await (await fetch(`${url}/state`)).json()) as SimulatorState;
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}\nstderr: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  const port = await api.start();
  api.apply('deployments', istiod('1.29.0', '1-29-0'));
  for (const i of [0, 1]) api.apply('pods', pod('shop', 'web', i, '1.29.0', '1-29-0'));
  dir = await mkdtemp(join(tmpdir(), 'lab-traffic-process-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'lab', user: { token: 'lab' } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'lab' } }],
      'current-context': 'lab',
    }),
  );
  child = spawn(
    'node_modules/.bin/tsx',
    ['lab/traffic/main.ts', '--port', '0', '--kubeconfig', kubeconfig, '--rps', '10', '--faults', '{"1.31.0":{"errorRate":0.05,"latencyMs":600}}'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface(child.stdout);
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
  });
  const ready = JSON.parse(firstLine) as { ready: boolean; url: string; target: string; pid: number };
  expect(ready.ready).toBe(true);
  // tsx runs the script in a child node process; that is the pid it reports.
  simulatorPid = ready.pid;
  expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  url = ready.url;
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (alive(simulatorPid)) process.kill(simulatorPid!, 'SIGKILL');
  await api.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('lab/traffic/main.ts as a process', () => {
  it('is ready with the cluster listed, and the faults of --faults', async () => {
    const s = await state();
    expect(s.rpsPerWorkload).toBe(10);
    expect(s.podsByVersion).toEqual({ '1.29.0': 2 });
    expect(s.controlPlanes.map((c) => [c.revision, c.version, c.connectedProxies])).toEqual([['1-29-0', '1.29.0', 2]]);
    expect(s.faults.versions).toEqual({ '1.31.0': { errorRate: 0.05, latencyMs: 600, xdsRejectsPerMin: 0 } });
    // Only the two collections, istiod Deployments by label.
    expect(api.requests.some((r) => r.startsWith('GET /apis/apps/v1/namespaces/istio-system/deployments?labelSelector=app%3Distiod'))).toBe(true);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('pilot_xds{revision="1-29-0",version="1.29.0"} 2');
  });

  it('follows watch events: a pod moved to a faulty version raises the error rate', async () => {
    await until(async () => api.watching('pods'), (n) => n > 0, 'the pod watch');
    api.remove('pods', 'shop', 'web-h1290-0');
    api.apply('pods', pod('shop', 'web', 0, '1.31.0', '1-31-0'));
    const s = await until(state, (x) => x.podsByVersion['1.31.0'] === 1, 'the new pod');
    expect(s.podsByVersion).toEqual({ '1.29.0': 1, '1.31.0': 1 });
    expect(s.workloads[0]!.errorRate).toBeCloseTo((0.05 + 0.001) / 2, 12);
  });

  it('keeps following after the API server ends its watches', async () => {
    await until(async () => api.watching('pods') + api.watching('deployments'), (n) => n === 2, 'both watches');
    api.closeWatches();
    expect(api.watching('pods') + api.watching('deployments')).toBe(0);
    await until(async () => api.watching('pods') + api.watching('deployments'), (n) => n === 2, 'the watches to reopen');
    api.apply('deployments', istiod('1.31.0', '1-31-0'));
    const s = await until(state, (x) => x.controlPlanes.length === 2, 'the new istiod');
    expect(s.controlPlanes.map((c) => [c.revision, c.connectedProxies])).toEqual([
      ['1-29-0', 1],
      ['1-31-0', 1],
    ]);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM, stopping');
    await until(async () => alive(simulatorPid), (a) => !a, 'the simulator process to end');
  });
});

describe('lab/traffic/main.ts refuses bad input', () => {
  const run = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      const p = spawn('node_modules/.bin/tsx', ['lab/traffic/main.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      p.once('exit', (code) => resolve({ code, stderr: err }));
    });

  it('without --kubeconfig, or with a bad --faults', async () => {
    const none = await run([]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--kubeconfig is required/);
    const bad = await run(['--kubeconfig', '/nonexistent', '--faults', '{"1.31.0":{"errorRate":7}}']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/faults\.1\.31\.0: errorRate must be/);
  });
});
