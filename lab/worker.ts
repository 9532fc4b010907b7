// The lab's worker: `istio-canary worker` as a detached lab process named
// 'worker' (pid file .lab/pids/worker.pid, log .lab/logs/worker.log), with the
// lab's environment (TEMPORAL_ADDRESS, backup dir, tools on PATH) and as
// deploy/'s ServiceAccount (KUBECONFIG: the lab's worker kubeconfig),
// so it outlives the demo that starts it and `lab down` stops it with the rest.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { labEnv, labInfo, labPorts } from './lab.js';
import { labPaths, REPO_ROOT, type LabPaths } from './paths.js';
import { isAlive, logFile, pidOf, startDetached, stopProcess, waitFor } from './processes.js';
import { refreshWorkerKubeconfig } from './worker-identity.js';
import { withWorkerMemoryEnv } from '../worker/memory.js';

export const WORKER_PROCESS = 'worker';
/** The line `istio-canary worker` prints once it polls the task queue. */
const READY_LINE = 'worker ready: polling task queue';

export interface LabWorker {
  pid: number;
  log: string;
  /** false when a running worker was found and kept. */
  started: boolean;
}

/**
 * The environment the lab's worker runs with: this process's, pointed at the
 * lab, its Kubernetes calls and istioctl's made as the worker's ServiceAccount.
 */
export function labWorkerEnv(paths: LabPaths = labPaths()): NodeJS.ProcessEnv {
  // Its /metrics, where the lab's Prometheus scrapes it.
  const metrics = `127.0.0.1:${labPorts().workerMetrics}`;
  return { ...process.env, ...labEnv(labInfo(paths)), KUBECONFIG: paths.workerKubeconfig, ISTIO_CANARY_METRICS_ADDRESS: metrics };
}

export interface StartLabWorkerOptions {
  timeoutMs?: number;
  paths?: LabPaths;
  /**
   * Run the compiled worker in this directory (`tsc -p tsconfig.build.json
   * --outDir <dir>`) on plain node with WORKER_MEMORY_ENV, as a deployed worker
   * runs, instead of the sources through tsx. A directory of the caller's own,
   * not dist/: a concurrent `npm run build` empties dist/.
   */
  compiledDir?: string;
}

/**
 * Starts the worker unless one runs (then keeps it), and waits until it polls
 * Temporal: bundling the workflow code takes some seconds on a small machine.
 */
export async function startLabWorker(options: StartLabWorkerOptions = {}): Promise<LabWorker> {
  const paths = options.paths ?? labPaths();
  const log = logFile(paths, WORKER_PROCESS);
  const running = pidOf(paths, WORKER_PROCESS);
  if (running) return { pid: running, log, started: false };

  // Only what this start writes counts: the log is appended to across restarts.
  const offset = existsSync(log) ? statSync(log).size : 0;
  await refreshWorkerKubeconfig(paths); // a fresh token for the whole life of this worker
  const command = workerCommand(options.compiledDir);
  const env = options.compiledDir ? withWorkerMemoryEnv(labWorkerEnv(paths)) : labWorkerEnv(paths);
  // Under a small bash that notes how the worker ended: a crash (a signal, a
  // native fault) otherwise leaves nothing in the log. A stop by `lab down`
  // signals the whole group, and the worker logs its own graceful stop.
  const script = '"$0" "$@"; code=$?; echo "[lab] the worker exited with status $code at $(date -u +%Y-%m-%dT%H:%M:%SZ)"; exit $code';
  const pid = startDetached(paths, WORKER_PROCESS, 'bash', ['-c', script, ...command], env);
  await waitFor(
    'the lab worker',
    async () => {
      if (!isAlive(pid)) throw new Error(`the worker exited: ${tail(log, offset)}`);
      return readFrom(log, offset).includes(READY_LINE) ? true : undefined;
    },
    options.timeoutMs ?? 180_000,
    log,
  );
  return { pid, log, started: true };
}

/** `istio-canary worker`: from source through tsx, or compiled on the repository's Node 24. */
function workerCommand(compiledDir: string | undefined): string[] {
  const bin = (name: string) => join(REPO_ROOT, 'node_modules', '.bin', name);
  if (!compiledDir) return [bin('tsx'), join(REPO_ROOT, 'cli', 'main.ts'), 'worker'];
  const main = join(compiledDir, 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`no compiled worker at ${main} (build it with: tsc -p tsconfig.build.json --outDir ${compiledDir})`);
  return [bin('node'), main, 'worker'];
}

/** Stops it gracefully (SIGTERM to its process group: in-flight activities finish). */
export async function stopLabWorker(paths: LabPaths = labPaths()): Promise<boolean> {
  return stopProcess(paths, WORKER_PROCESS, 30_000);
}

/**
 * Kills it at once (SIGKILL to its whole process group: the bash wrapper, the
 * tsx launcher and the node process that runs the worker), the way a crashed
 * machine would; removes the pid file. Returns the pid it killed.
 */
export async function killLabWorker(paths: LabPaths = labPaths()): Promise<number | undefined> {
  const pid = pidOf(paths, WORKER_PROCESS);
  if (!pid) return undefined;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await stopProcess(paths, WORKER_PROCESS); // removes the pid file; nothing is left to signal
  return pid;
}

export function labWorkerPid(paths: LabPaths = labPaths()): number | undefined {
  return pidOf(paths, WORKER_PROCESS);
}

function readFrom(file: string, offset: number): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  if (size <= offset) return '';
  const buffer = Buffer.alloc(size - offset);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, offset);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8');
}

function tail(file: string, offset: number): string {
  const text = readFrom(file, offset).trim();
  return text ? text.split('\n').slice(-10).join('\n') : '(nothing in its log)';
}
