// The lab's Prometheus (Debian's /usr/bin/prometheus) as a long-lived
// background process: listening on 127.0.0.1 only, scraping only static
// 127.0.0.1 targets every second, with its config, data, log and pid file
// under the lab's state directory:
//
//   <stateDir>/prometheus.yml   config (rewritten by every start)
//   <stateDir>/prometheus.pid   pid of the running server
//   <stateDir>/prometheus.log   its stdout and stderr
//   <stateDir>/prometheus-data/ TSDB
//
// startPrometheus is idempotent: when the pid file names a live Prometheus of
// this state directory on the same port, it reloads the config (SIGHUP) and
// returns it; otherwise it starts a new, detached one.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LOOPBACK_TARGET = /^127\.0\.0\.1:([0-9]{1,5})$/;

export interface PrometheusPaths {
  configFile: string;
  pidFile: string;
  logFile: string;
  dataDir: string;
}

export function prometheusPaths(stateDir: string): PrometheusPaths {
  const dir = resolve(stateDir);
  return {
    configFile: join(dir, 'prometheus.yml'),
    pidFile: join(dir, 'prometheus.pid'),
    logFile: join(dir, 'prometheus.log'),
    dataDir: join(dir, 'prometheus-data'),
  };
}

export interface PrometheusConfigOptions {
  /** `127.0.0.1:<port>` only. */
  targets: readonly string[];
  /** Default `lab`. */
  jobName?: string;
  /** More jobs, each with its own `127.0.0.1:<port>` targets (e.g. the worker's /metrics). */
  extraJobs?: ReadonlyArray<{ jobName: string; targets: readonly string[] }>;
  /** Seconds between scrapes (and their timeout); default LAB_PROMETHEUS_SCRAPE_INTERVAL, else 1. */
  scrapeIntervalSeconds?: number;
}

/**
 * 1 s by default, so gates and tests see a change within a second. The
 * benchmark's 200-namespace fleet exposes ~70,000 series lines (60 MB) per
 * scrape, which neither the traffic simulator nor Prometheus turns over every
 * second on 2 cores: it sets a longer interval.
 */
export function scrapeIntervalSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LAB_PROMETHEUS_SCRAPE_INTERVAL;
  if (raw === undefined || raw === '') return 1;
  const seconds = Number(raw);
  if (!/^\d+$/.test(raw) || seconds < 1 || seconds > 60) throw new Error(`LAB_PROMETHEUS_SCRAPE_INTERVAL must be whole seconds from 1 to 60, got ${JSON.stringify(raw)}`);
  return seconds;
}

function assertLoopbackTargets(targets: readonly string[]): void {
  const bad = targets.filter((t) => {
    const match = LOOPBACK_TARGET.exec(t);
    const port = Number(match?.[1]);
    return !match || port < 1 || port > 65535;
  });
  if (bad.length > 0) {
    throw new Error(`the lab's Prometheus scrapes 127.0.0.1:<port> targets only, got ${bad.map((t) => JSON.stringify(t)).join(', ')}`);
  }
}

/** The config text: scrapes (1 s unless set) of static loopback targets, nothing else (no service discovery, no remote write). */
export function renderPrometheusConfig({ targets, jobName = 'lab', extraJobs = [], scrapeIntervalSeconds: interval = scrapeIntervalSeconds() }: PrometheusConfigOptions): string {
  const jobs = [{ jobName, targets }, ...extraJobs];
  for (const job of jobs) {
    assertLoopbackTargets(job.targets);
    if (!/^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(job.jobName)) throw new Error(`job name ${JSON.stringify(job.jobName)} is not valid`);
  }
  // JSON is YAML, and quotes every value.
  const config = {
    global: { scrape_interval: `${interval}s`, scrape_timeout: `${interval}s`, evaluation_interval: '1s' },
    scrape_configs: jobs.map((job) => ({ job_name: job.jobName, static_configs: [{ targets: [...job.targets] }] })),
  };
  return `# Written by lab/prometheus.ts; rewritten on every start.\n${JSON.stringify(config, null, 2)}\n`;
}

/** Writes <stateDir>/prometheus.yml; returns its path. */
export async function writePrometheusConfig(options: PrometheusConfigOptions & { stateDir: string }): Promise<string> {
  const { configFile } = prometheusPaths(options.stateDir);
  const text = renderPrometheusConfig(options);
  await mkdir(resolve(options.stateDir), { recursive: true });
  await writeFile(configFile, text);
  return configFile;
}

export interface StartPrometheusOptions extends PrometheusConfigOptions {
  stateDir: string;
  /** Port on 127.0.0.1. */
  port: number;
  /** Default /usr/bin/prometheus. */
  binary?: string;
  /** TSDB retention, default `2d`. */
  retention?: string;
  readyTimeoutMs?: number;
}

export interface LabPrometheus extends PrometheusPaths {
  pid: number;
  url: string;
  /** True when an already running Prometheus was kept (and its config reloaded). */
  reused: boolean;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(pidFile: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isSafeInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/** The command line of a live process, or null (gone, or a zombie with an empty cmdline). */
async function commandLine(pid: number): Promise<string[] | null> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const argv = raw.split('\0').filter(Boolean);
    return argv.length ? argv : null;
  } catch {
    return null;
  }
}

/** The pid of the Prometheus this state directory started, if it still runs. */
async function runningPid(paths: PrometheusPaths): Promise<{ pid: number; argv: string[] } | null> {
  const pid = await readPid(paths.pidFile);
  if (pid === null || !alive(pid)) return null;
  const argv = await commandLine(pid);
  // A recycled pid would not carry our config file on its command line.
  if (!argv || !argv.includes(`--config.file=${paths.configFile}`)) return null;
  return { pid, argv };
}

async function tail(file: string, chars = 3000): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).slice(-chars);
  } catch {
    return '';
  }
}

async function waitUntilReady(url: string, pid: number, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid) || (await commandLine(pid)) === null) {
      throw new Error(`Prometheus (pid ${pid}) exited before it was ready; ${logFile}:\n${await tail(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Prometheus at ${url} not ready after ${timeoutMs} ms; ${logFile}:\n${await tail(logFile)}`);
}

/** Starts (or keeps) the lab's Prometheus; resolves once it answers /-/ready. */
export async function startPrometheus(options: StartPrometheusOptions): Promise<LabPrometheus> {
  const binary = options.binary ?? PROMETHEUS_BINARY;
  if (!existsSync(binary)) throw new Error(`Prometheus not found at ${binary}: run \`npm run tools\` (apt-get install -y prometheus)`);
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new Error(`port must be 1..65535, got ${options.port}`);
  }
  const paths = prometheusPaths(options.stateDir);
  const listen = `127.0.0.1:${options.port}`;
  const url = `http://${listen}`;
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  await writePrometheusConfig({ ...options, stateDir: options.stateDir });

  const running = await runningPid(paths);
  if (running) {
    if (running.argv.includes(`--web.listen-address=${listen}`)) {
      process.kill(running.pid, 'SIGHUP'); // reload the rewritten config
      await waitUntilReady(url, running.pid, paths.logFile, timeoutMs);
      return { ...paths, pid: running.pid, url, reused: true };
    }
    await stopPrometheus({ stateDir: options.stateDir });
  }

  await mkdir(paths.dataDir, { recursive: true });
  const log = await open(paths.logFile, 'a');
  let pid: number;
  try {
    const child = spawn(
      binary,
      [
        `--config.file=${paths.configFile}`,
        `--storage.tsdb.path=${paths.dataDir}`,
        `--storage.tsdb.retention.time=${options.retention ?? '2d'}`,
        `--web.listen-address=${listen}`,
        '--log.level=info',
      ],
      { detached: true, stdio: ['ignore', log.fd, log.fd] },
    );
    if (child.pid === undefined) {
      throw await new Promise<Error>((resolve) => child.once('error', resolve));
    }
    child.on('error', () => undefined);
    pid = child.pid;
    child.unref();
  } finally {
    await log.close();
  }
  await writeFile(paths.pidFile, `${pid}\n`);
  try {
    await waitUntilReady(url, pid, paths.logFile, timeoutMs);
  } catch (err) {
    await stopPrometheus({ stateDir: options.stateDir });
    throw err;
  }
  return { ...paths, pid, url, reused: false };
}

/** Whether the Prometheus of this state directory runs, and its pid. */
export async function prometheusStatus({ stateDir }: { stateDir: string }): Promise<{ running: boolean; pid?: number }> {
  const running = await runningPid(prometheusPaths(stateDir));
  return running ? { running: true, pid: running.pid } : { running: false };
}

/**
 * Stops the Prometheus of this state directory (SIGTERM, then SIGKILL after
 * `timeoutMs`) and removes its pid file. True when one was running.
 * `removeData` also deletes its TSDB, config and log.
 */
export async function stopPrometheus({
  stateDir,
  timeoutMs = STOP_TIMEOUT_MS,
  removeData = false,
}: {
  stateDir: string;
  timeoutMs?: number;
  removeData?: boolean;
}): Promise<boolean> {
  const paths = prometheusPaths(stateDir);
  const running = await runningPid(paths);
  if (running) {
    process.kill(running.pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while ((await commandLine(running.pid)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if ((await commandLine(running.pid)) !== null) process.kill(running.pid, 'SIGKILL');
  }
  await rm(paths.pidFile, { force: true });
  if (removeData) {
    await Promise.all([paths.dataDir, paths.configFile, paths.logFile].map((p) => rm(p, { recursive: true, force: true })));
  }
  return running !== null;
}
