// Long-lived lab processes: started detached (they outlive `lab up`), with a
// pid file and a log file each, and stopped by pid (`lab down`).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPaths } from './paths.js';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function pidOf(paths: LabPaths, name: string): number | undefined {
  const file = join(paths.pids, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

export function logFile(paths: LabPaths, name: string): string {
  return join(paths.logs, `${name}.log`);
}

/** Starts `command` in its own process group; a running one with the same name is kept. */
export function startDetached(
  paths: LabPaths,
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): number {
  const running = pidOf(paths, name);
  if (running) return running;
  mkdirSync(paths.pids, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  const out = openSync(logFile(paths, name), 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], env });
  closeSync(out);
  if (!child.pid) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  writeFileSync(join(paths.pids, `${name}.pid`), `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; removes the pid file. */
export async function stopProcess(paths: LabPaths, name: string, graceMs = 10_000): Promise<boolean> {
  const pid = pidOf(paths, name);
  rmSync(join(paths.pids, `${name}.pid`), { force: true });
  if (!pid) return false;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) signal(pid, 'SIGKILL');
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Polls `check` until it returns a value, or fails naming what never became ready and where its log is. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, log?: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`${what} was not ready after ${Math.round(timeoutMs / 1000)}s${cause}${log ? ` (log: ${log})` : ''}`);
}
