// Runs the `istio-canary` command in this process with its output captured.
import { runCli } from '../../cli/program.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * By default Temporal is a closed loopback port and no profile file exists, so a
 * command that should need no server fails fast and locally if it tries one.
 */
export async function runCliCaptured(args: readonly string[], env: NodeJS.ProcessEnv = offlineEnv()): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['node', 'istio-canary', ...args], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env,
  });
  return { code, stdout, stderr };
}

export function offlineEnv(): NodeJS.ProcessEnv {
  return { TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml', USER: 'tester' };
}
