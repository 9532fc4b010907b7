// `istio-canary lab up|down|status|env`: the local mesh lab, one command to a
// running Kubernetes control plane with Istio, a demo fleet, mesh traffic,
// Prometheus and Temporal, all on 127.0.0.1. Idempotent: `up` on a running lab
// keeps what runs and starts what does not.
import { execa } from 'execa';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { clusterRunning, createCluster, deleteCluster, kubectl, startCluster } from './cluster.js';
import { demoFleet, fleetManifest, nodesManifest } from './fleet.js';
import { gatewayManifest, installRevision, setTag, writeOverlay } from './mesh.js';
import { labPaths, REPO_ROOT, tool, type LabPaths } from './paths.js';
import { isAlive, logFile, pidOf, startDetached, stopProcess, waitFor } from './processes.js';
import { prometheusStatus, startPrometheus, stopPrometheus } from './prometheus.js';
import { meshVersions, type MeshVersions } from './versions.js';
import { applyWorkerIdentity, writeWorkerKubeconfig } from './worker-identity.js';

/**
 * Fixed ports, so the UI and Prometheus are where a person expects them; a
 * second lab (the tests') takes other ports from LAB_*_PORT and its own
 * ISTIO_CANARY_LAB_DIR, and runs beside the first.
 */
export function labPorts(env: NodeJS.ProcessEnv = process.env) {
  return {
    temporal: Number(env.LAB_TEMPORAL_PORT ?? 7233),
    temporalUi: Number(env.LAB_TEMPORAL_UI_PORT ?? 8233),
    prometheus: Number(env.LAB_PROMETHEUS_PORT ?? 9090),
    injector: Number(env.LAB_INJECTOR_PORT ?? 15017),
    traffic: Number(env.LAB_TRAFFIC_PORT ?? 15090),
    workerMetrics: Number(env.LAB_WORKER_METRICS_PORT ?? 9464),
  };
}

/** The Prometheus job that scrapes the lab worker (the dashboard and alerts select it). */
export const WORKER_METRICS_JOB = 'istio-canary-worker';

/** The tag most of the fleet's `istio.io/rev` labels name, besides `default`. */
export const LAB_TAG = 'prod-stable';

export interface LabInfo {
  root: string;
  kubeconfig: string;
  prometheusUrl: string;
  temporalAddress: string;
  temporalUiUrl: string;
  injectorUrl: string;
  trafficUrl: string;
  istioctl: string;
  /** IstioOperator overlay for installing the new version's revision (webhooks pointed at the injector). */
  targetOverlay: string;
  versions: MeshVersions;
  backupDir: string;
}

export function labInfo(paths: LabPaths = labPaths()): LabInfo {
  const ports = labPorts();
  return {
    root: paths.root,
    kubeconfig: paths.kubeconfig,
    prometheusUrl: `http://127.0.0.1:${ports.prometheus}`,
    temporalAddress: `127.0.0.1:${ports.temporal}`,
    temporalUiUrl: `http://127.0.0.1:${ports.temporalUi}`,
    injectorUrl: `https://127.0.0.1:${ports.injector}`,
    trafficUrl: `http://127.0.0.1:${ports.traffic}`,
    istioctl: tool('istioctl'),
    targetOverlay: join(paths.root, `istio-${meshVersions().newRevision}.yaml`),
    versions: meshVersions(),
    backupDir: paths.backups,
  };
}

/** Shell exports that point the CLI, the worker, kubectl and istioctl at the lab. */
export function labEnv(info: LabInfo): Record<string, string> {
  return {
    KUBECONFIG: info.kubeconfig,
    TEMPORAL_ADDRESS: info.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    ISTIO_CANARY_BACKUP_DIR: info.backupDir,
    ISTIO_CANARY_LAB_DIR: info.root,
    PATH: `${join(REPO_ROOT, '.tools', 'bin')}:${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
  };
}

const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const nodeEnv = () => ({ ...process.env, PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` });

export async function labUp(log: (line: string) => void = (l) => process.stderr.write(`[lab] ${l}\n`)): Promise<LabInfo> {
  const paths = labPaths();
  const info = labInfo(paths);
  const ports = labPorts();
  const started = Date.now();

  log('checking tools (first run builds them from Go modules; cached after)');
  // `all` with LAB_TOOLS=1: the lab tools plus Temporal and Prometheus, which the lab runs too.
  await execa('bash', [join(REPO_ROOT, 'lab', 'ensure-tools.sh'), 'all'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, LAB_TOOLS: '1' } });

  // Ports are fixed: one taken by something else must stop the lab here, before a
  // health check mistakes that process for ours.
  const owned = { injector: 'injector', traffic: 'traffic', temporal: 'temporal', temporalUi: 'temporal', workerMetrics: 'worker' } as const;
  for (const [key, name] of Object.entries(owned) as Array<[keyof typeof owned, string]>) {
    if (!pidOf(paths, name) && !(await portFree(ports[key]))) {
      throw new Error(`port ${ports[key]} (${name}) is in use by another process; stop it or set LAB_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT`);
    }
  }
  if (!(await prometheusStatus({ stateDir: paths.prometheus })).running && !(await portFree(ports.prometheus))) {
    throw new Error(`port ${ports.prometheus} (prometheus) is in use by another process; stop it or set LAB_PROMETHEUS_PORT`);
  }

  // Kubernetes
  if (await clusterRunning(paths)) {
    await startCluster(paths).catch(() => undefined); // restarts components that died
  } else {
    await createCluster(paths, log);
  }
  await kubectl(paths, ['apply', '-f', '-'], nodesManifest());
  await waitFor('3 Ready nodes', async () => {
    const out = await kubectl(paths, ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
    return out.split('\n').filter((s) => s === 'True').length >= 3 ? true : undefined;
  }, 60_000);

  // Sidecar injector (stands in for istiod's webhook; istiod pods cannot run on KWOK nodes)
  startDetached(paths, 'injector', tsx, [join(REPO_ROOT, 'lab/injector/main.ts'), '--port', String(ports.injector), '--state-dir', paths.injector, '--kubeconfig', paths.kubeconfig], nodeEnv());
  await waitFor('the sidecar injector', () => httpsOk(`${info.injectorUrl}/healthz`), 60_000, logFile(paths, 'injector'));
  const injector = { url: info.injectorUrl, caBundle: readFileSync(join(paths.injector, 'ca-bundle.b64'), 'utf8').trim() };

  // Istio: the old version as a revision, the default and a named tag on it, an ingress gateway
  const { oldVersion, oldRevision } = info.versions;
  const installed = await kubectl(paths, ['get', 'deploy', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'name']).catch(() => '');
  if (!installed.trim()) {
    log(`installing Istio ${oldVersion} as revision ${oldRevision} (istioctl install)`);
    await installRevision(paths, oldVersion, oldRevision, injector);
    await setTag(paths, 'default', oldRevision);
    await setTag(paths, LAB_TAG, oldRevision);
    await kubectl(paths, ['apply', '-f', '-'], gatewayManifest(oldRevision));
  }

  // The worker's identity from deploy/ (it runs as that ServiceAccount, held to its RBAC);
  // after Istio, because its Role lives in istio-system.
  await applyWorkerIdentity(paths);
  await writeWorkerKubeconfig(paths);

  // The overlay an upgrade to istioctl's own version installs with (plan target.overlay)
  writeOverlay(paths, info.versions.newVersion, info.versions.newRevision, injector);

  // The demo fleet
  log('applying the demo fleet');
  await kubectl(paths, ['apply', '-f', '-'], fleetManifest(demoFleet(), oldRevision, LAB_TAG));

  // Mesh traffic and Prometheus
  startDetached(paths, 'traffic', tsx, [join(REPO_ROOT, 'lab/traffic/main.ts'), '--port', String(ports.traffic), '--kubeconfig', paths.kubeconfig], nodeEnv());
  await waitFor('the traffic simulator', () => httpOk(`${info.trafficUrl}/state`), 60_000, logFile(paths, 'traffic'));
  await startPrometheus({
    stateDir: paths.prometheus,
    port: ports.prometheus,
    targets: [`127.0.0.1:${ports.traffic}`],
    // The lab worker's /metrics (lab/worker.ts); down until a worker runs.
    extraJobs: [{ jobName: WORKER_METRICS_JOB, targets: [`127.0.0.1:${ports.workerMetrics}`] }],
  });

  // Temporal dev server with the UI and the project's search attributes
  startDetached(paths, 'temporal', tool('temporal'), [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(ports.temporal), '--ui-ip', '127.0.0.1', '--ui-port', String(ports.temporalUi),
    '--db-filename', paths.temporalDb, '--log-level', 'warn',
    '--search-attribute', 'IstioCanaryPhase=Keyword', '--search-attribute', 'IstioCanaryCluster=Keyword',
    '--search-attribute', 'IstioCanarySourceRevision=Keyword', '--search-attribute', 'IstioCanaryTargetRevision=Keyword',
  ]);
  await waitFor('the Temporal dev server', () => httpOk(`${info.temporalUiUrl}/`), 90_000, logFile(paths, 'temporal'));

  writeFileSync(paths.info, `${JSON.stringify(info, null, 2)}\n`);
  log(`lab up in ${Math.round((Date.now() - started) / 1000)}s`);
  return info;
}

export async function labDown(log: (line: string) => void = (l) => process.stderr.write(`[lab] ${l}\n`)): Promise<void> {
  const paths = labPaths();
  for (const name of ['worker', 'temporal', 'traffic', 'injector']) {
    if (await stopProcess(paths, name)) log(`stopped ${name}`);
  }
  if (await stopPrometheus({ stateDir: paths.prometheus })) log('stopped prometheus');
  if (existsSync(paths.kwokWorkdir)) {
    await deleteCluster(paths);
    log('deleted the Kubernetes cluster');
  }
  rmSync(paths.root, { recursive: true, force: true });
  log(`removed ${paths.root}`);
}

export interface LabStatus {
  component: string;
  running: boolean;
  detail: string;
}

export async function labStatus(): Promise<LabStatus[]> {
  const paths = labPaths();
  const info = labInfo(paths);
  const rows: LabStatus[] = [];
  const cluster = existsSync(paths.kubeconfig) && (await clusterRunning(paths));
  let nodes = '';
  if (cluster) nodes = await kubectl(paths, ['get', 'nodes', '--no-headers']).catch(() => '');
  rows.push({ component: 'kubernetes', running: !!nodes, detail: nodes ? `${nodes.trim().split('\n').length} nodes; KUBECONFIG=${paths.kubeconfig}` : 'not running' });
  if (nodes) {
    const istiod = await kubectl(paths, ['get', 'deploy', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas}/{.spec.replicas} {end}']).catch(() => '');
    rows.push({ component: 'istio', running: !!istiod.trim(), detail: istiod.trim() || 'no istiod' });
  }
  for (const [name, url] of [['injector', `${info.injectorUrl}/healthz`], ['traffic', `${info.trafficUrl}/state`], ['temporal', info.temporalUiUrl]] as const) {
    const pid = pidOf(paths, name);
    const ok = pid !== undefined && isAlive(pid) && (await (name === 'injector' ? httpsOk(url) : httpOk(url)));
    rows.push({ component: name, running: !!ok, detail: ok ? `${name === 'temporal' ? `${info.temporalAddress}, UI ${info.temporalUiUrl}` : url} (pid ${pid})` : 'not running' });
  }
  const prom = await prometheusStatus({ stateDir: paths.prometheus });
  rows.push({ component: 'prometheus', running: prom.running, detail: prom.running ? `${info.prometheusUrl} (pid ${prom.pid})` : 'not running' });
  const worker = pidOf(paths, 'worker');
  rows.push({ component: 'worker', running: !!worker, detail: worker ? `pid ${worker}, log ${logFile(paths, 'worker')}, metrics http://127.0.0.1:${labPorts().workerMetrics}/metrics` : 'not running (the demo starts one; or `npm run worker` with `lab env`)' });
  return rows;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function httpOk(url: string): Promise<true | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? true : undefined;
  } catch {
    return undefined;
  }
}

/** The injector's certificate is the lab's own CA; this check only asks whether it answers. */
async function httpsOk(url: string): Promise<true | undefined> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? true : undefined);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
