// The lab's Kubernetes control plane: real etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with KWOK faking the nodes and
// the pods' lifecycle, all started by `kwokctl --runtime binary` from the
// binaries built into .tools/bin. Nothing is downloaded: every binary path is
// set, and kwokctl would otherwise fetch the missing ones.
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabPaths } from './paths.js';
import { tool } from './paths.js';

export const CLUSTER_NAME = 'istio-canary-lab';

/**
 * Pod IPs come from a loopback range and nodes report 127.0.0.1: KWOK's
 * defaults (10.0.0.0/24, 192.0.2.x) would name addresses off this machine, and
 * 192.0.2.0/24 is this machine's own network here.
 */
export const POD_CIDR = '127.1.0.0/16';
export const NODE_IP = '127.0.0.1';

/**
 * With LAB_KUBE_AUDIT=1 the API server logs every request (who, user agent,
 * verb, resource) here: how deploy/'s RBAC rules were derived from what the
 * worker and istioctl really call (docs/deploy.md), and how the benchmarks
 * count requests per client (docs/benchmarks.md).
 */
export function auditLogPath(paths: LabPaths): string {
  return join(paths.kwokWorkdir, 'clusters', CLUSTER_NAME, 'logs', 'audit.log');
}

/**
 * The audit log and the files it was rotated into, oldest first: the API server
 * renames audit.log to audit-<time>.log at 100 MB (its default size limit, which
 * a 200-namespace benchmark passes within a run).
 */
export function auditLogFiles(paths: LabPaths): string[] {
  const current = auditLogPath(paths);
  const dir = dirname(current);
  if (!existsSync(dir)) return [];
  const rotated = readdirSync(dir)
    .filter((name) => /^audit-.+\.log$/.test(name))
    .sort()
    .map((name) => join(dir, name));
  return existsSync(current) ? [...rotated, current] : rotated;
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`;

/**
 * LAB_KUBE_APISERVER_PORT pins the control plane's ports (the API server's, then
 * etcd, etcd peer, controller-manager, scheduler and kwok-controller on the next
 * five). Unset, kwokctl picks free ports itself by scanning down from the same
 * number on every run, so labs created at the same moment (the test tier's
 * parallel labs) took the same ports; and a port freed by an API server a fault
 * test stopped could be taken by another lab before it came back.
 */
export function controlPlanePorts(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.LAB_KUBE_APISERVER_PORT;
  if (!raw) return '';
  const base = Number(raw);
  // Below Linux's ephemeral range (32768 and up): a pinned port there can already be
  // the source port of any outgoing connection, and the component fails to bind.
  if (!Number.isInteger(base) || base < 1024 || base > 32762) throw new Error(`LAB_KUBE_APISERVER_PORT must be a port number from 1024 to 32762, not ${JSON.stringify(raw)}`);
  const names = ['kubeApiserverPort', 'etcdPort', 'etcdPeerPort', 'kubeControllerManagerPort', 'kubeSchedulerPort', 'kwokControllerPort'];
  return names.map((name, i) => `  ${name}: ${base + i}\n`).join('');
}

function kwokctlConfig(auditPolicy?: string): string {
  return `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  # RBAC enforced (kwokctl's default with a secure port, stated so it stays so):
  # the lab's worker runs as deploy/'s ServiceAccount and must be held to its rules.
  kubeAuthorization: true
${auditPolicy ? `  kubeAuditPolicy: ${auditPolicy}\n` : ''}${controlPlanePorts()}  kubeApiserverBinary: ${tool('kube-apiserver')}
  kubeControllerManagerBinary: ${tool('kube-controller-manager')}
  kubeSchedulerBinary: ${tool('kube-scheduler')}
  kubectlBinary: ${tool('kubectl')}
  kwokControllerBinary: ${tool('kwok')}
  etcdBinary: ${tool('etcd')}
  # Short, local heartbeats: the lab is small and everything is on one machine.
  heartbeatFactor: 1
componentsPatches:
  # kwokctl's binary runtime passes an empty --node-ip; nodes must report 127.0.0.1.
  - name: kwok-controller
    extraArgs:
      - { key: node-ip, value: ${NODE_IP}, override: true }
---
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: ${POD_CIDR}
  nodeIP: ${NODE_IP}
  # A KwokConfiguration document replaces the defaults, so they are restated.
  podPlayStageParallelism: 8
  nodePlayStageParallelism: 4
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 2
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: false
`;
}

function kwokEnv(paths: LabPaths): NodeJS.ProcessEnv {
  // KWOK_WORKDIR keeps kwokctl's state (pki, logs, pids) under .lab; kubectl from
  // the lab build is first on PATH for anything kwokctl runs itself.
  return { ...process.env, KWOK_WORKDIR: paths.kwokWorkdir, KWOK_KUBECTL_BINARY: tool('kubectl'), PATH: `${join(tool('kubectl'), '..')}:${process.env.PATH ?? ''}` };
}

export async function createCluster(paths: LabPaths, log: (line: string) => void): Promise<void> {
  mkdirSync(paths.root, { recursive: true });
  const config = join(paths.root, 'kwokctl.yaml');
  let auditPolicy: string | undefined;
  if (process.env.LAB_KUBE_AUDIT === '1') {
    auditPolicy = join(paths.root, 'audit-policy.yaml');
    writeFileSync(auditPolicy, AUDIT_POLICY);
  }
  writeFileSync(config, kwokctlConfig(auditPolicy));
  log(`starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (kwokctl ${CLUSTER_NAME})`);
  await execa(tool('kwokctl'), ['create', 'cluster', '--name', CLUSTER_NAME, '--config', config, '--kubeconfig', paths.kubeconfig, '--wait', '2m'], {
    env: kwokEnv(paths),
    all: true,
  }).catch((err: { all?: string; message: string }) => {
    throw new Error(`kwokctl create cluster failed: ${(err.all ?? err.message).split('\n').slice(-15).join('\n')}`);
  });
}

export async function clusterRunning(paths: LabPaths): Promise<boolean> {
  const result = await execa(tool('kwokctl'), ['get', 'clusters'], { env: kwokEnv(paths), reject: false });
  return result.exitCode === 0 && result.stdout.split('\n').includes(CLUSTER_NAME);
}

export async function startCluster(paths: LabPaths): Promise<void> {
  await execa(tool('kwokctl'), ['start', 'cluster', '--name', CLUSTER_NAME], { env: kwokEnv(paths) });
}

export async function stopCluster(paths: LabPaths): Promise<void> {
  await execa(tool('kwokctl'), ['stop', 'cluster', '--name', CLUSTER_NAME], { env: kwokEnv(paths), reject: false });
}

export async function deleteCluster(paths: LabPaths): Promise<void> {
  await execa(tool('kwokctl'), ['delete', 'cluster', '--name', CLUSTER_NAME, '--kubeconfig', paths.kubeconfig], { env: kwokEnv(paths), reject: false });
}

/** kubectl of the lab build against the lab cluster. */
export async function kubectl(paths: LabPaths, args: string[], input?: string): Promise<string> {
  const result = await execa(tool('kubectl'), ['--kubeconfig', paths.kubeconfig, ...args], { input, all: true, reject: false });
  if (result.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.all}`);
  return result.stdout;
}
