// The istio-canary CLI as a child process, with only the environment an
// operator's shell would give it: tests that spawn `cli/main.ts` share this.
import { writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { REPO_ROOT } from '../../lab/paths.js';

export const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

/** Writes `<dir>/kubeconfig` for an API server on loopback that the test never expects to answer. */
export function writeLoopbackKubeconfig(dir: string, server: string): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: lab, cluster: { server: "${server}", insecure-skip-tls-verify: true } }]
users: [{ name: lab, user: { token: test } }]
contexts: [{ name: lab, context: { cluster: lab, user: lab } }]
current-context: lab
`,
  );
  return file;
}

/** The CLI's environment: Temporal at `address` (no profile file), that kubeconfig, state under `workDir`. */
export function cliProcessEnv(workDir: string, address: string, kubeconfig: string): NodeJS.ProcessEnv {
  return {
    // The same Node that runs jest (24), also for tsx's `#!/usr/bin/env node`.
    PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
    HOME: workDir,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_CONFIG_FILE: join(workDir, 'no-such-temporal.toml'),
    KUBECONFIG: kubeconfig,
    ISTIO_CANARY_BACKUP_DIR: join(workDir, 'backups'),
  };
}
