// The simulator's HTTP face, on 127.0.0.1 only:
//   GET    /metrics            Prometheus exposition (what a scrape reads)
//   GET    /faults             {"default": profile, "versions": {"<version>": profile}}
//   PUT    /faults/<version>   body {errorRate?, latencyMs?, xdsRejectsPerMin?}; missing fields take the default profile's
//   DELETE /faults/<version>   back to the default profile (204 either way)
//   GET    /state              workloads, pods per version, control planes (debugging, tests)
//   GET    /healthz            "ok"
// and startTrafficSimulator(), which wires a pod source, the simulator and this server.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';
import { createKubePodSource, type PodSource } from './pod-source.js';
import { InvalidFaultError, assertVersionName, parseFaultProfile } from './profiles.js';
import { MeshSimulator, type SimulatorOptions } from './simulator.js';

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(body, null, 2)}\n`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

function versionFromPath(path: string): string {
  let version: string;
  try {
    version = decodeURIComponent(path.slice('/faults/'.length));
  } catch {
    throw new HttpError(400, 'bad version in path');
  }
  try {
    assertVersionName(version);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  return version;
}

/** The request handler over a simulator (exported for tests that skip the socket). */
export function createControlHandler(simulator: MeshSimulator): (req: IncomingMessage, res: ServerResponse) => void {
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const method = req.method ?? 'GET';
    if (path === '/metrics') {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'GET only');
      res.writeHead(200, { 'Content-Type': EXPOSITION_CONTENT_TYPE }).end(method === 'HEAD' ? undefined : simulator.render());
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/state') {
      if (method !== 'GET') throw new HttpError(405, 'GET only');
      sendJson(res, 200, simulator.state());
      return;
    }
    if (path === '/faults' || path === '/faults/') {
      if (method !== 'GET') throw new HttpError(405, 'GET only');
      sendJson(res, 200, simulator.faults());
      return;
    }
    if (path.startsWith('/faults/')) {
      const version = versionFromPath(path);
      if (method === 'GET') {
        const profile = simulator.faults().versions[version];
        if (!profile) throw new HttpError(404, `no fault for version ${version}`);
        sendJson(res, 200, profile);
        return;
      }
      if (method === 'PUT') {
        const body = await readJson(req);
        let profile;
        try {
          profile = parseFaultProfile(body, simulator.faults().default);
        } catch (err) {
          if (err instanceof InvalidFaultError) throw new HttpError(400, err.message);
          throw err;
        }
        simulator.setFault(version, profile);
        sendJson(res, 200, { version, ...profile });
        return;
      }
      if (method === 'DELETE') {
        simulator.deleteFault(version);
        res.writeHead(204).end();
        return;
      }
      throw new HttpError(405, 'GET, PUT or DELETE');
    }
    throw new HttpError(404, `no route ${path}`);
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: (err as Error).message ?? String(err) });
      else res.destroy();
    });
  };
}

export interface TrafficSimulatorOptions extends SimulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Where pods come from; or give `kubeconfig` to watch a cluster. */
  podSource?: PodSource;
  kubeconfig?: string;
  /** Watch errors after start (the Kubernetes source recovers on its own). */
  onSourceError?: (err: unknown) => void;
}

export interface RunningTrafficSimulator {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** `127.0.0.1:<port>`, a Prometheus static target. */
  target: string;
  simulator: MeshSimulator;
  stop(): Promise<void>;
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Starts the pod source, the simulator and its HTTP server on 127.0.0.1. */
export async function startTrafficSimulator(options: TrafficSimulatorOptions): Promise<RunningTrafficSimulator> {
  const source =
    options.podSource ??
    (options.kubeconfig !== undefined
      ? createKubePodSource({ kubeconfig: options.kubeconfig, ...(options.onSourceError && { onError: options.onSourceError }) })
      : undefined);
  if (!source) throw new Error('startTrafficSimulator needs a podSource or a kubeconfig');
  const simulator = new MeshSimulator(options);
  await source.start(simulator);
  const server = createServer(createControlHandler(simulator));
  let port: number;
  try {
    port = await listen(server, options.port ?? 0);
  } catch (err) {
    await source.stop();
    throw err;
  }
  let stopping: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    target: `127.0.0.1:${port}`,
    simulator,
    stop: () =>
      (stopping ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await source.stop();
      })()),
  };
}
