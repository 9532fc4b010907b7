// Where the lab keeps its state: everything under .lab/ (git-ignored), so `lab
// down` can remove it whole and nothing leaks into ~/.kube or ~/.kwok.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const TOOLS_BIN = join(REPO_ROOT, '.tools', 'bin');

export function labPaths(root = process.env.ISTIO_CANARY_LAB_DIR || join(REPO_ROOT, '.lab')) {
  return {
    root,
    kubeconfig: join(root, 'kubeconfig'),
    /** The worker's own: deploy/'s ServiceAccount, with a TokenRequest token (lab/worker-identity.ts). */
    workerKubeconfig: join(root, 'worker-kubeconfig'),
    kwokWorkdir: join(root, 'kwok'),
    logs: join(root, 'logs'),
    pids: join(root, 'pids'),
    injector: join(root, 'injector'),
    prometheus: join(root, 'prometheus'),
    temporalDb: join(root, 'temporal.db'),
    backups: join(root, 'backups'),
    /** Ports, URLs and versions of the running lab, written by `lab up`. */
    info: join(root, 'lab.json'),
  };
}

export type LabPaths = ReturnType<typeof labPaths>;

export function tool(name: string): string {
  return join(TOOLS_BIN, name);
}
