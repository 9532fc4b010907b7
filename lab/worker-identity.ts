// The lab's worker runs as the identity deploy/ ships: the namespace, the
// ServiceAccount and its RBAC are applied from deploy/ itself (the Deployment is
// not: the worker runs as a local process), and a kubeconfig for that
// ServiceAccount is written next to the admin one. The lab's API server enforces
// RBAC, so an upgrade that passes in the lab passes with exactly these rules.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { kubectl } from './cluster.js';
import { REPO_ROOT, type LabPaths } from './paths.js';

export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');
export const WORKER_NAMESPACE = 'istio-canary';
export const WORKER_SERVICE_ACCOUNT = 'istio-canary-worker';
/** How the API server names the worker in authorization decisions and audit logs. */
export const WORKER_USER = `system:serviceaccount:${WORKER_NAMESPACE}:${WORKER_SERVICE_ACCOUNT}`;

/** deploy/'s manifests that make up the worker's identity, in the order they must exist. */
export const WORKER_IDENTITY_MANIFESTS = ['namespace.yaml', 'serviceaccount.yaml', 'rbac-cluster.yaml', 'rbac-istio-system.yaml'];

/**
 * client-node reads a kubeconfig's token once, when the worker starts, so the
 * token must outlive the longest-running lab worker: a week. `lab up` and every
 * lab worker start request a fresh one.
 */
export const WORKER_TOKEN_LIFETIME = '168h';

export async function applyWorkerIdentity(paths: LabPaths): Promise<void> {
  const files = WORKER_IDENTITY_MANIFESTS.flatMap((file) => ['-f', join(DEPLOY_DIR, file)]);
  await kubectl(paths, ['apply', ...files]);
}

/** Writes paths.workerKubeconfig: the admin kubeconfig's cluster, a fresh ServiceAccount token as the user. */
export async function writeWorkerKubeconfig(paths: LabPaths): Promise<string> {
  const token = (
    await kubectl(paths, ['create', 'token', WORKER_SERVICE_ACCOUNT, '--namespace', WORKER_NAMESPACE, '--duration', WORKER_TOKEN_LIFETIME])
  ).trim();
  if (!token) throw new Error(`the API server returned no token for ${WORKER_USER}`);
  writeFileSync(paths.workerKubeconfig, workerKubeconfig(paths.kubeconfig, token), { mode: 0o600 });
  chmodSync(paths.workerKubeconfig, 0o600);
  return paths.workerKubeconfig;
}

/**
 * A fresh token when the API server answers; otherwise (a test that stopped it
 * on purpose) the kubeconfig `lab up` wrote is kept: its token is valid for days.
 */
export async function refreshWorkerKubeconfig(paths: LabPaths): Promise<string> {
  try {
    return await writeWorkerKubeconfig(paths);
  } catch (error) {
    if (existsSync(paths.workerKubeconfig)) return paths.workerKubeconfig;
    throw error;
  }
}

/** A kubeconfig with the admin one's cluster (server and CA) and the ServiceAccount's bearer token. */
export function workerKubeconfig(adminKubeconfig: string, token: string): string {
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfig);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error(`${adminKubeconfig}: no current cluster`);
  const worker = new KubeConfig();
  worker.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.server, caFile: cluster.caFile, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: WORKER_SERVICE_ACCOUNT, token }],
    contexts: [{ name: WORKER_SERVICE_ACCOUNT, cluster: cluster.name, user: WORKER_SERVICE_ACCOUNT, namespace: WORKER_NAMESPACE }],
    currentContext: WORKER_SERVICE_ACCOUNT,
  });
  return worker.exportConfig();
}
