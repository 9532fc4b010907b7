// lab/prometheus.ts: the lab's Prometheus as a detached background process with
// a pid file and a log under its state directory, scraping the simulator;
// a second start keeps it (reloading the targets), stop ends it by pid.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { prometheusPaths, prometheusStatus, startPrometheus, stopPrometheus, type LabPrometheus } from '../../lab/prometheus.js';
import { createMemoryPodSource } from '../../lab/traffic/pod-source.js';
import { startTrafficSimulator, type RunningTrafficSimulator } from '../../lab/traffic/server.js';

jest.setTimeout(60_000);

let stateDir: string;
let port: number;
const simulators: RunningTrafficSimulator[] = [];
let first: LabPrometheus;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return p;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function upTargets(url: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent('sum(up{job="lab"})')}`);
  const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
  return Number(body.data.result[0]?.value[1] ?? 0);
}

async function until(read: () => Promise<number>, ok: (n: number) => boolean): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'lab-prometheus-'));
  port = await freePort();
  for (let i = 0; i < 2; i++) simulators.push(await startTrafficSimulator({ podSource: createMemoryPodSource() }));
});

afterAll(async () => {
  if (stateDir) {
    await stopPrometheus({ stateDir });
    await rm(stateDir, { recursive: true, force: true });
  }
  await Promise.all(simulators.map((s) => s.stop()));
});

describe('lab Prometheus', () => {
  it('starts detached on 127.0.0.1 with pid file, log and data under the state directory, and scrapes its target', async () => {
    first = await startPrometheus({ stateDir, port, targets: [simulators[0]!.target] });
    expect(first).toMatchObject({ url: `http://127.0.0.1:${port}`, reused: false, ...prometheusPaths(stateDir) });
    expect(Number((await readFile(first.pidFile, 'utf8')).trim())).toBe(first.pid);
    expect(existsSync(first.logFile)).toBe(true);
    expect(existsSync(first.dataDir)).toBe(true);
    expect(await until(() => upTargets(first.url), (n) => n === 1)).toBe(1);
    expect(await prometheusStatus({ stateDir })).toEqual({ running: true, pid: first.pid });
  });

  it('a second start keeps the running server and reloads the new targets', async () => {
    const again = await startPrometheus({ stateDir, port, targets: simulators.map((s) => s.target) });
    expect(again).toMatchObject({ pid: first.pid, reused: true });
    expect(await until(() => upTargets(again.url), (n) => n === 2)).toBe(2);
  });

  it('refuses non-loopback targets before touching anything', async () => {
    await expect(startPrometheus({ stateDir, port, targets: ['10.0.0.1:9090'] })).rejects.toThrow(/127\.0\.0\.1:<port> targets only/);
    expect(alive(first.pid)).toBe(true);
  });

  it('stops by pid and forgets it; stopping again is a no-op', async () => {
    expect(await stopPrometheus({ stateDir })).toBe(true);
    expect(alive(first.pid)).toBe(false);
    expect(existsSync(first.pidFile)).toBe(false);
    expect(await prometheusStatus({ stateDir })).toEqual({ running: false });
    expect(await stopPrometheus({ stateDir, removeData: true })).toBe(false);
    expect(existsSync(first.dataDir)).toBe(false);
  });

  it('a stale pid file (a pid that is not our Prometheus) is ignored', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(prometheusPaths(stateDir).pidFile, `${process.pid}\n`);
    expect(await prometheusStatus({ stateDir })).toEqual({ running: false });
    expect(await stopPrometheus({ stateDir })).toBe(false);
    expect(alive(process.pid)).toBe(true);
  });
});
