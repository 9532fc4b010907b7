// The activities' settings, read from the environment once when the worker
// starts. A bad value stops the worker at once with a message naming the
// variable, rather than failing the first upgrade that needs it.
//
//   KUBECONFIG                          the cluster (default ~/.kube/config, then in-cluster:
//                                       the pod's ServiceAccount, as in deploy/)
//   ISTIO_CANARY_BACKUP_DIR             where backups go (default ~/.istio-canary/backups)
//   ISTIO_CANARY_ISTIOCTL_EXTRA_ARGS    JSON array of strings appended to `istioctl install`
//   ISTIO_CANARY_KUBE_QPS               Kubernetes API requests per second, client-side (default 50)
//   ISTIO_CANARY_KUBE_BURST             requests allowed at once above that rate (default 100)

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { isIPv6 } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { LimitedKubeConfig, WORKER_USER_AGENT } from './kube-client.js';

export interface ActivitiesOptions {
  kubeConfig: KubeConfig;
  /** Passed to istioctl as --kubeconfig when set. */
  kubeconfigPath?: string;
  /** Root of the backup store: <backupDir>/<cluster>/<upgradeId>/. */
  backupDir: string;
  /** Appended to every `istioctl install`. */
  extraInstallArgs?: string[];
}

export const DEFAULT_BACKUP_DIR = '~/.istio-canary/backups';

/**
 * Above client-go's 5/10 (made for controllers that watch), below what one
 * apiserver serves comfortably: a 200-namespace wave polling its rollouts stays
 * well inside the apiserver's default 400 in-flight reads.
 */
export const DEFAULT_KUBE_QPS = 50;
export const DEFAULT_KUBE_BURST = 100;

export class ActivitiesConfigError extends Error {
  override name = 'ActivitiesConfigError';
}

/** `~` and `~/...` mean the home directory; relative paths are made absolute. */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return resolve(path);
}

export function parseExtraInstallArgs(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new ActivitiesConfigError(`ISTIO_CANARY_ISTIOCTL_EXTRA_ARGS is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((arg) => typeof arg === 'string')) {
    throw new ActivitiesConfigError('ISTIO_CANARY_ISTIOCTL_EXTRA_ARGS must be a JSON array of strings, e.g. ["--readiness-timeout", "10m"]');
  }
  const bad = parsed.find((arg: string) => arg === '' || arg.includes('\0'));
  if (bad !== undefined) throw new ActivitiesConfigError('ISTIO_CANARY_ISTIOCTL_EXTRA_ARGS must not contain empty strings or NUL characters');
  return parsed as string[];
}

export function parseKubeRateLimit(env: NodeJS.ProcessEnv): { ratePerSecond: number; burst: number } {
  const read = (name: string, fallback: number, whole: boolean): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (whole && !Number.isInteger(value))) {
      throw new ActivitiesConfigError(`${name} must be a ${whole ? 'whole number' : 'number'} above 0, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
  const ratePerSecond = read('ISTIO_CANARY_KUBE_QPS', DEFAULT_KUBE_QPS, false);
  const burst = read('ISTIO_CANARY_KUBE_BURST', Math.max(DEFAULT_KUBE_BURST, Math.ceil(ratePerSecond)), true);
  return { ratePerSecond, burst };
}

/** The kubeconfig files named by KUBECONFIG (a path list, like kubectl's). */
export function kubeconfigFiles(raw: string | undefined): string[] {
  return (raw ?? '').split(delimiter).filter((file) => file !== '');
}

/** Where Kubernetes mounts a pod's ServiceAccount token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Inside a pod: the API server from KUBERNETES_SERVICE_HOST/PORT, the mounted
 * CA, and the ServiceAccount token read from its file (client-node re-reads it
 * every minute, so the kubelet's rotation of the projected token is picked up).
 * Undefined when not in a pod. istioctl finds the same by itself (client-go's
 * in-cluster config) when given no kubeconfig.
 */
export function inClusterKubeConfig(env: NodeJS.ProcessEnv, serviceAccountDir = SERVICE_ACCOUNT_DIR, into: KubeConfig = new KubeConfig()): KubeConfig | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  const tokenFile = join(serviceAccountDir, 'token');
  if (!host || !port || !existsSync(tokenFile)) return undefined;
  const namespaceFile = join(serviceAccountDir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  into.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile: join(serviceAccountDir, 'ca.crt'), skipTLSVerify: false }],
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account', ...(namespace && { namespace }) }],
    currentContext: 'in-cluster',
  });
  return into;
}

export interface KubeConfigLocations {
  home?: string;
  serviceAccountDir?: string;
}

/** KUBECONFIG's files, else ~/.kube/config, else the pod's ServiceAccount: kubectl's order. */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env, where: KubeConfigLocations = {}): { kubeConfig: KubeConfig; kubeconfigPath?: string } {
  const kubeConfig = new LimitedKubeConfig({ ...parseKubeRateLimit(env), userAgent: WORKER_USER_AGENT });
  const files = kubeconfigFiles(env['KUBECONFIG']);
  const homeConfig = join(where.home ?? homedir(), '.kube', 'config');
  try {
    if (files.length === 0) {
      if (existsSync(homeConfig)) kubeConfig.loadFromFile(homeConfig);
      else inClusterKubeConfig(env, where.serviceAccountDir, kubeConfig);
    } else {
      // The same merge kubectl and client-node do: the first file's context wins.
      kubeConfig.loadFromFile(files[0]!);
      for (const file of files.slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(file);
        kubeConfig.mergeConfig(more);
      }
    }
  } catch (error) {
    throw new ActivitiesConfigError(`cannot load the kubeconfig (${files.join(delimiter) || 'default locations'}): ${(error as Error).message}`);
  }
  // Found nothing: say so at start-up instead of failing every activity.
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster?.server) {
    throw new ActivitiesConfigError('no Kubernetes cluster configured: set KUBECONFIG, create ~/.kube/config, or run inside a cluster with a ServiceAccount');
  }
  // istioctl takes one --kubeconfig; with a list it reads KUBECONFIG itself, as kubectl does.
  return { kubeConfig, ...(files.length === 1 && { kubeconfigPath: resolve(files[0]!) }) };
}

export function loadActivitiesConfig(env: NodeJS.ProcessEnv = process.env): ActivitiesOptions {
  const backupDir = expandHome(env['ISTIO_CANARY_BACKUP_DIR'] || DEFAULT_BACKUP_DIR);
  const extraInstallArgs = parseExtraInstallArgs(env['ISTIO_CANARY_ISTIOCTL_EXTRA_ARGS']);
  return { ...loadKubeConfig(env), backupDir, extraInstallArgs };
}
