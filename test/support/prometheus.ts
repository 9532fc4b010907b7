// Starts a real Prometheus (Debian's package) for a test file: loopback only,
// scraping only the given static 127.0.0.1 targets every second, with a
// throw-away data directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

export interface RunningPrometheus {
  url: string;
  /** Resolves once every target has been scraped at least `count` times. */
  waitForScrapes(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const LOOPBACK_TARGET = /^127\.0\.0\.1:[0-9]{1,5}$/;

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function config(targets: string[]): string {
  // JSON is valid YAML, and quotes every target for us.
  return JSON.stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [{ job_name: 'mesh', static_configs: [{ targets }] }],
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitUntilReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Prometheus exited before it was ready (${child.exitCode ?? child.signalCode}):\n${stderr()}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Prometheus at ${url} not ready after ${READY_TIMEOUT_MS} ms:\n${stderr()}`);
}

async function waitForScrapes(url: string, count: number, timeoutMs = 60_000): Promise<void> {
  // Samples of `up` are scrapes; counting them says how much history a window
  // holds without assuming anything about when scraping started.
  const query = encodeURIComponent('min(count_over_time(up[1h]))');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/api/v1/query?query=${query}`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
    const scrapes = Number(body.data?.result?.[0]?.value[1] ?? 0);
    if (scrapes >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Prometheus at ${url}: targets not scraped ${count} times within ${timeoutMs} ms`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited(child);
  clearTimeout(timer);
}

export async function startPrometheus({ targets }: { targets: string[] }): Promise<RunningPrometheus> {
  if (!existsSync(PROMETHEUS_BINARY)) {
    throw new Error('Prometheus not found: run `npm run tools` (apt-get install -y prometheus)');
  }
  const nonLoopback = targets.filter((target) => !LOOPBACK_TARGET.test(target));
  if (nonLoopback.length > 0) {
    throw new Error(`Prometheus may scrape 127.0.0.1:<port> targets only, got ${nonLoopback.join(', ')}`);
  }

  const dir = await mkdtemp(join(tmpdir(), 'istio-canary-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, config(targets));
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });

  const stop = async (): Promise<void> => {
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(url, child, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, waitForScrapes: (count, timeoutMs) => waitForScrapes(url, count, timeoutMs), stop };
}
