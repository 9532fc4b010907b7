// `npm run demo [-- --faulty] [--auto-approve] [--soak 20s]`: one command from a
// fresh clone to a whole Istio canary upgrade of the local mesh lab, driven
// through the `istio-canary` CLI exactly as an operator would drive it.
//
//   1. tools: builds or installs what is missing (cached: seconds after the first run);
//   2. the lab: Kubernetes (KWOK), Istio 1.29.4, the demo fleet, traffic, Prometheus,
//      Temporal with its UI; a lab whose mesh an earlier run changed is reset;
//   3. a worker, detached (pid and log in the lab), so the upgrade outlives this script;
//   4. the plan (.lab/demo-plan.yaml), started with `istio-canary start -f`;
//   5. `istio-canary watch` live, stopping at the approval gate with the commands
//      that answer it (or approving by itself with --auto-approve);
//   6. a summary from `istio-canary status -o json`, checked against the cluster.
//
// --faulty marks the target version faulty in the traffic simulator first: the
// canary gate fails on real Prometheus data and the upgrade rolls back on its own.
// Exit 0 when the scenario ended as it should (good: completed, faulty: rolled back).
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { podProxyRevision, versionFromImage } from '../activities/kubernetes-revision.js';
import { createPrometheusActivities } from '../activities/prometheus.js';
import { evaluateSample } from '../gates/verdict.js';
import { parsePlan } from '../plan/validate.js';
import { renderTable } from '../cli/format/table.js';
import { formatNumber } from '../cli/format/values.js';
import { kubectl, clusterRunning } from '../lab/cluster.js';
import { demoPlan } from '../lab/demo-plan.js';
import { demoFleet, fleetManifest } from '../lab/fleet.js';
import { clearFault, setFault } from '../lab/knobs.js';
import { FAULTY_PROFILE } from '../lab/traffic/profiles.js';
import { LAB_TAG, labDown, labEnv, labInfo, labUp, type LabInfo } from '../lab/lab.js';
import { labPaths, REPO_ROOT } from '../lab/paths.js';
import { startLabWorker } from '../lab/worker.js';
import { formatDuration, parseDuration } from '../plan/duration.js';
import type { GateCheck, UpgradeStatus } from '../workflows/messages.js';

const USAGE = `usage: npm run demo [-- [--faulty] [--auto-approve] [--soak 20s]]

  --faulty        mark the target Istio version faulty in the traffic simulator first:
                  the canary gate fails on Prometheus data and the upgrade rolls back
  --auto-approve  approve the promotion by itself instead of waiting for you
  --soak D        soak of the canary, each wave and the gateways (default 20s)
`;

const CLUSTER = 'lab';
const WORKFLOW_ID = `istio-canary-${CLUSTER}`;
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(REPO_ROOT, 'cli', 'main.ts');
/** How the commands the demo runs are shown: what a person types in the repository. */
const SHOWN_CLI = 'npx tsx cli/main.ts';

const say = (line = '') => process.stdout.write(`${line}\n`);
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const heading = (text: string) => say(`\n${bold(`==> ${text}`)}`);
const shown = (args: string[]) => `${SHOWN_CLI} ${args.map(shellWord).join(' ')}`;

interface Options {
  faulty: boolean;
  autoApprove: boolean;
  soak: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      faulty: { type: 'boolean', default: false },
      'auto-approve': { type: 'boolean', default: false },
      soak: { type: 'string', default: '20s' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  parseDuration(values.soak); // refuses a bad duration here, not in the plan
  return { faulty: values.faulty, autoApprove: values['auto-approve'], soak: values.soak };
}

async function main(): Promise<number> {
  const opts = options();
  const started = Date.now();
  const times: Array<[string, number]> = [];
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      times.push([what, Date.now() - t]);
    }
  };

  say(`istio-canary demo: ${opts.faulty ? 'a faulty Istio version, rolled back on its own' : 'a canary upgrade of the lab mesh, promoted'}`);

  heading('1/6 tools (built or installed on the first run only, then cached)');
  await timed('tools', () =>
    // Temporal and Prometheus (the lab tools come with `lab up` below).
    execa('bash', [join(REPO_ROOT, 'lab', 'ensure-tools.sh'), 'all'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, LAB_TOOLS: '1' } }),
  );
  say('tools ready: etcd, kube-apiserver, kwok, istioctl, temporal, prometheus');

  heading('2/6 the lab: Kubernetes (KWOK), Istio, demo fleet, traffic, Prometheus, Temporal, on 127.0.0.1');
  const info = await timed('lab', () => readyLab());
  const { oldVersion, oldRevision, newVersion, newRevision } = info.versions;
  const env = { ...process.env, ...labEnv(info) };

  heading('3/6 the worker (detached; it outlives this script)');
  const worker = await timed('worker', () => startLabWorker());
  say(`${worker.started ? 'started' : 'kept the running'} worker: pid ${worker.pid}, log ${rel(worker.log)}`);

  heading(`4/6 the plan: Istio ${oldVersion} (revision ${oldRevision}) -> ${newVersion} (revision ${newRevision})`);
  await setFaulty(info, newVersion, opts.faulty);
  const planFile = join(info.root, 'demo-plan.yaml');
  writeFileSync(planFile, demoPlan(info, { overlay: info.targetOverlay, soak: opts.soak }));
  say(`wrote ${rel(planFile)}: canary canary-test, wave low-risk (4 namespaces), wave rest (7, by team selector), then the gateway;`);
  say(`soak ${opts.soak} each, gates every 5s over 20s (error rate <= 1%, p99 <= 500ms), approval before promotion.`);
  say(`see every step it will run: ${shown(['plan', '-f', rel(planFile)])}`);
  await timed('baseline', () => healthyBaseline(info, planFile));

  heading('5/6 the upgrade, through the CLI');
  const upgradeStarted = Date.now();
  const start = await runCli(['start', '-f', rel(planFile)], env);
  if (start !== 0) throw new Error(`istio-canary start exited ${start}`);
  say(`Temporal UI: ${info.temporalUiUrl}/namespaces/default/workflows/${WORKFLOW_ID}`);
  say(`  (or search ${info.temporalUiUrl}/namespaces/default/workflows with IstioCanaryCluster="${CLUSTER}")`);
  const watchExit = await follow(info, env, opts);
  times.push(['upgrade', Date.now() - upgradeStarted]);

  heading('6/6 summary');
  const view = await statusJson(env);
  const expected = opts.faulty ? 'rolled-back' : 'completed';
  printSummary(view.status, info);
  const checks = opts.faulty ? await verifyRolledBack(info, view.status) : await verifyCompleted(info, view.status);
  say('\nChecked in the cluster (Kubernetes API):');
  for (const check of checks) say(`  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.what}`);

  times.push(['total', Date.now() - started]);
  say(`\nWall time: ${times.map(([what, ms]) => `${what} ${formatDuration(Math.round(ms / 1000) * 1000 || ms)}`).join(', ')}`);
  printLabStillRunning(info);

  const asExpected = view.status.phase === expected && checks.every((c) => c.ok);
  say(
    asExpected
      ? `\nThe scenario ended as it should: ${view.status.phase}.`
      : `\nThe scenario did NOT end as it should: expected ${expected}, got ${view.status.phase} (watch exited ${watchExit}).`,
  );
  return asExpected ? 0 : 2;
}

// ---- the lab ----

/** A running lab whose mesh is the baseline one, with no upgrade in flight; reset when it is not. */
async function readyLab(): Promise<LabInfo> {
  const paths = labPaths();
  if (existsSync(paths.kubeconfig) && (await clusterRunning(paths))) {
    const dirty = await meshDeparture(labInfo(paths));
    if (dirty) {
      say(`the lab's mesh is not the baseline any more (${dirty}): resetting the lab (lab down, lab up)`);
      await labDown((line) => say(`[lab] ${line}`));
    } else {
      say('the lab is up and its mesh is the baseline one: reusing it');
    }
  }
  let info = await labUp((line) => say(`[lab] ${line}`));
  const running = await runningUpgrade(info);
  const dirty = running ? `upgrade ${running} is still running` : await meshDeparture(info);
  if (dirty) {
    say(`${dirty}: resetting the lab (lab down, lab up)`);
    await labDown((line) => say(`[lab] ${line}`));
    info = await labUp((line) => say(`[lab] ${line}`));
  }
  say(`lab up: Temporal ${info.temporalAddress} (UI ${info.temporalUiUrl}), Prometheus ${info.prometheusUrl}, kubeconfig ${rel(info.kubeconfig)}`);
  return info;
}

/** The phase of a running upgrade of the lab cluster, through `istio-canary list -o json`. */
async function runningUpgrade(info: LabInfo): Promise<string | undefined> {
  const result = await execa(TSX, [CLI, 'list', '--cluster', CLUSTER, '-o', 'json'], { env: { ...process.env, ...labEnv(info) }, reject: false, cwd: REPO_ROOT });
  if (result.exitCode !== 0) return undefined;
  const row = (JSON.parse(String(result.stdout)) as { upgrades?: Array<{ workflowId: string; phase?: string }> }).upgrades?.[0];
  return row ? `${row.workflowId} (phase ${row.phase ?? '?'})` : undefined;
}

async function setFaulty(info: LabInfo, version: string, faulty: boolean): Promise<void> {
  const url = `${info.trafficUrl}/faults/${version}`;
  if (faulty) {
    const fault = await setFault(info, version, FAULTY_PROFILE);
    say(`marked Istio ${version} faulty in the traffic simulator: its proxies answer ${fault.errorRate * 100}% of requests with 503, p99 ${fault.latencyMs}ms`);
    say(`  (curl -X PUT ${url} -d '${JSON.stringify(FAULTY_PROFILE)}'; undo: curl -X DELETE ${url})`);
  } else {
    await clearFault(info, version);
    say(`Istio ${version} is healthy in the traffic simulator (no fault profile); try the faulty one with: npm run demo -- --faulty`);
  }
}

/**
 * Preflight refuses to start unless the canary namespaces pass their gates on
 * the current revision over the gate window. Right after `lab up` Prometheus
 * has little data yet, and right after a faulty run the window still holds the
 * canary's errors; wait for the same measurement preflight makes to pass.
 */
async function healthyBaseline(info: LabInfo, planFile: string): Promise<void> {
  const parsed = parsePlan(readFileSync(planFile, 'utf8'));
  if (!parsed.ok) throw new Error(`the demo plan is invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const { plan } = parsed;
  const metrics = plan.gates.metrics.filter((m) => m.type !== 'xdsRejects');
  const { measureGate } = createPrometheusActivities();
  const deadline = Date.now() + 3 * 60_000;
  let said = false;
  for (;;) {
    const samples = await measureGate({ prometheusUrl: info.prometheusUrl, namespaces: plan.canary.namespaces, revision: info.versions.oldRevision, windowMs: plan.gates.windowMs, metrics });
    const failing = metrics
      .map((m) => evaluateSample(m, samples.find((s) => s.metric === m.name) ?? { metric: m.name, query: '', value: null, requests: null }))
      .filter((m) => m.phase !== 'pass');
    if (!failing.length) {
      if (said) say('the canary namespaces pass their gates on the current revision: starting');
      return;
    }
    if (!said) {
      say(
        `waiting for ${plan.canary.namespaces.join(', ')} to pass its gates on ${info.versions.oldRevision} over the last ${formatDuration(plan.gates.windowMs)} ` +
          `(preflight requires it; now: ${failing.map((m) => `${m.metric} ${m.reason}`).join('; ')})`,
      );
      said = true;
    }
    if (Date.now() > deadline) throw new Error(`the canary namespaces did not pass their gates within 3m: ${failing.map((m) => `${m.metric} ${m.reason}`).join('; ')}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

// ---- the mesh, read from the cluster ----

interface Obj {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string; name: string }> };
  spec?: {
    containers?: Array<{ name: string; image?: string }>;
    initContainers?: Array<{ name: string; image?: string }>;
    template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Array<{ name: string; image?: string }> } };
  };
  status?: { phase?: string };
}

interface Mesh {
  /** istiod revision -> Istio version. */
  istiods: Record<string, string>;
  tags: Record<string, string>;
  namespaces: Record<string, Record<string, string>>;
  /** Live pods with a proxy: namespace, revision that injected it, proxy version. */
  proxies: Array<{ namespace: string; pod: string; revision: string; version: string }>;
  gatewayRevision: string | null;
}

async function readMesh(info: LabInfo): Promise<Mesh> {
  const paths = labPaths(info.root);
  const get = async (args: string[]) => (JSON.parse(await kubectl(paths, ['get', ...args, '-o', 'json'])) as { items: Obj[] }).items;
  const [namespaces, deployments, pods, webhooks] = await Promise.all([
    get(['namespaces']),
    get(['deployments', '-n', 'istio-system']),
    get(['pods', '-A']),
    get(['mutatingwebhookconfigurations']),
  ]);
  const istiods: Record<string, string> = {};
  let gatewayRevision: string | null = null;
  for (const d of deployments) {
    const labels = d.metadata?.labels ?? {};
    if (labels['app'] === 'istiod') {
      const image = d.spec?.template?.spec?.containers?.find((c) => c.name === 'discovery')?.image;
      istiods[labels['istio.io/rev'] ?? 'default'] = versionFromImage(image) ?? '?';
    } else if (labels['istio'] === 'ingressgateway') {
      gatewayRevision = d.spec?.template?.metadata?.labels?.['istio.io/rev'] ?? null;
    }
  }
  const tags: Record<string, string> = {};
  for (const w of webhooks) {
    const tag = w.metadata?.labels?.['istio.io/tag'];
    const rev = w.metadata?.labels?.['istio.io/rev'];
    if (tag && rev) tags[tag] = rev;
  }
  const proxies: Mesh['proxies'] = [];
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (pod.metadata?.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') continue;
    const revision = podProxyRevision(pod);
    if (revision === null) continue;
    const image = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === 'istio-proxy')?.image;
    proxies.push({ namespace: pod.metadata!.namespace!, pod: pod.metadata!.name!, revision, version: versionFromImage(image) ?? '?' });
  }
  return {
    istiods,
    tags,
    namespaces: Object.fromEntries(namespaces.map((n) => [n.metadata!.name!, n.metadata?.labels ?? {}])),
    proxies,
    gatewayRevision,
  };
}

/** The labels `lab up` gives each fleet namespace. */
function baselineLabels(oldRevision: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const doc of parseAllDocuments(fleetManifest(demoFleet(), oldRevision, LAB_TAG))) {
    const obj = doc.toJS() as Obj & { kind?: string };
    if (obj.kind === 'Namespace') out[obj.metadata!.name!] = obj.metadata?.labels ?? {};
  }
  return out;
}

const ISTIO_LABELS = ['istio-injection', 'istio.io/rev'] as const;

/** Why the mesh is not the one `lab up` makes (undefined when it is). */
async function meshDeparture(info: LabInfo): Promise<string | undefined> {
  const { oldRevision } = info.versions;
  let mesh: Mesh;
  try {
    mesh = await readMesh(info);
  } catch (err) {
    return `cannot read it: ${(err as Error).message.split('\n')[0]}`;
  }
  const revisions = Object.keys(mesh.istiods).sort();
  if (revisions.join() !== oldRevision) return `istiod revisions: ${revisions.join(', ') || 'none'}`;
  for (const tag of ['default', LAB_TAG]) if (mesh.tags[tag] !== oldRevision) return `tag ${tag} points at ${mesh.tags[tag] ?? 'nothing'}`;
  for (const [ns, labels] of Object.entries(baselineLabels(oldRevision))) {
    const now = mesh.namespaces[ns];
    if (!now) return `namespace ${ns} is missing`;
    for (const key of ISTIO_LABELS) if (now[key] !== labels[key]) return `namespace ${ns} has ${key}=${now[key] ?? '(none)'}`;
  }
  const moved = mesh.proxies.filter((p) => p.revision !== oldRevision);
  if (moved.length) return `${moved.length} pods run a proxy from another revision (${moved[0]!.namespace}/${moved[0]!.pod}: ${moved[0]!.revision})`;
  if (mesh.gatewayRevision !== oldRevision) return `the gateway follows ${mesh.gatewayRevision ?? 'no revision'}`;
  return undefined;
}

interface Check {
  ok: boolean;
  what: string;
}

async function verifyCompleted(info: LabInfo, status: UpgradeStatus): Promise<Check[]> {
  const { oldRevision, newVersion, newRevision } = info.versions;
  const mesh = await settledMesh(info);
  const migrated = status.namespaces.map((n) => n.name);
  const inScope = mesh.proxies.filter((p) => migrated.includes(p.namespace) || p.namespace === 'istio-system');
  const off = inScope.filter((p) => p.revision !== newRevision || p.version !== newVersion);
  return [
    { ok: off.length === 0 && inScope.length > 0, what: `all ${inScope.length} proxies of the ${migrated.length} namespaces and the gateway run ${newVersion} from revision ${newRevision}${off.length ? ` (${off.length} do not, e.g. ${off[0]!.namespace}/${off[0]!.pod})` : ''}` },
    { ok: migrated.every((ns) => mesh.namespaces[ns]?.['istio.io/rev'] === newRevision && mesh.namespaces[ns]?.['istio-injection'] === undefined), what: `every migrated namespace is labelled istio.io/rev=${newRevision}` },
    { ok: mesh.tags['default'] === newRevision && mesh.tags[LAB_TAG] === newRevision, what: `tags: default -> ${mesh.tags['default']}, ${LAB_TAG} -> ${mesh.tags[LAB_TAG]}` },
    { ok: !(oldRevision in mesh.istiods), what: `old revision ${oldRevision} uninstalled (istiod revisions now: ${Object.keys(mesh.istiods).join(', ')})` },
  ];
}

async function verifyRolledBack(info: LabInfo, status: UpgradeStatus): Promise<Check[]> {
  const { oldVersion, oldRevision, newRevision } = info.versions;
  const mesh = await settledMesh(info);
  const baseline = baselineLabels(oldRevision);
  const changed = Object.entries(baseline).filter(([ns, labels]) => ISTIO_LABELS.some((key) => mesh.namespaces[ns]?.[key] !== labels[key]));
  const off = mesh.proxies.filter((p) => p.revision !== oldRevision || p.version !== oldVersion);
  return [
    { ok: changed.length === 0, what: `every namespace has its original labels${changed.length ? ` (not: ${changed.map(([ns]) => ns).join(', ')})` : ''}` },
    { ok: off.length === 0, what: `all ${mesh.proxies.length} proxies run ${oldVersion} from revision ${oldRevision}${off.length ? ` (${off.length} do not)` : ''}` },
    { ok: !(newRevision in mesh.istiods), what: `canary revision ${newRevision} is gone (istiod revisions: ${Object.keys(mesh.istiods).join(', ')})` },
    { ok: mesh.tags['default'] === oldRevision && mesh.tags[LAB_TAG] === oldRevision && mesh.gatewayRevision === oldRevision, what: `tags and gateway still on ${oldRevision}` },
    { ok: status.namespaces.every((n) => n.state === 'restored' || n.state === 'pending'), what: `the status agrees: ${status.namespaces.filter((n) => n.state === 'restored').map((n) => n.name).join(', ') || 'nothing'} restored, the rest never touched` },
  ];
}

/** The mesh once the last rollout's old pods are gone (they terminate a moment after the rollout). */
async function settledMesh(info: LabInfo): Promise<Mesh> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const mesh = await readMesh(info);
    const paths = labPaths(info.root);
    const terminating = (JSON.parse(await kubectl(paths, ['get', 'pods', '-A', '-o', 'json'])) as { items: Obj[] }).items.some((p) => p.metadata?.deletionTimestamp);
    if (!terminating || Date.now() > deadline) return mesh;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

// ---- following the upgrade through the CLI ----

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  say(`$ ${shown(args)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [CLI, ...args], { env, cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function statusJson(env: NodeJS.ProcessEnv): Promise<{ status: UpgradeStatus }> {
  say(`$ ${shown(['status', CLUSTER, '-o', 'json'])}   (the summary below is built from it)`);
  const result = await execa(TSX, [CLI, 'status', CLUSTER, '-o', 'json'], { env, cwd: REPO_ROOT, reject: false });
  if (result.exitCode !== 0) throw new Error(`istio-canary status exited ${result.exitCode}: ${String(result.stderr)}`);
  return JSON.parse(String(result.stdout)) as { status: UpgradeStatus };
}

/**
 * `istio-canary watch` on this terminal until the upgrade ends; next to it a
 * silent `watch -o json` tells the demo when the run waits for approval.
 */
async function follow(info: LabInfo, env: NodeJS.ProcessEnv, opts: Options): Promise<number> {
  const children: ChildProcess[] = [];
  const onSignal = (signal: NodeJS.Signals) => {
    for (const child of children) child.kill('SIGTERM');
    say(`\n${signal}: the demo stops here, the upgrade does not (it is durable, its worker keeps running).`);
    say(`follow it: ${anotherTerminal()}${SHOWN_CLI} watch ${CLUSTER}`);
    say(`stop it:   ${SHOWN_CLI} abort ${CLUSTER}    stop the lab: ${SHOWN_CLI} lab down`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  say(`$ ${shown(['watch', CLUSTER])}`);
  const watch = spawn(TSX, [CLI, 'watch', CLUSTER], { env, cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const probe = spawn(TSX, [CLI, 'watch', CLUSTER, '-o', 'json'], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(watch, probe);

  const answered = new Set<string>();
  let buffer = '';
  probe.stdout!.setEncoding('utf8');
  probe.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let status: UpgradeStatus;
      try {
        status = (JSON.parse(line) as { status: UpgradeStatus }).status;
      } catch {
        continue;
      }
      const waiting = status.waitingFor;
      if (waiting?.kind === 'approval' && !answered.has(waiting.subject)) {
        answered.add(waiting.subject);
        // Let the watch print the gate's last lines first.
        setTimeout(() => void atApprovalGate(info, env, opts, waiting.subject, waiting.deadline), 2_500);
      }
    }
  });

  const code = await new Promise<number>((resolve) => watch.on('exit', (c) => resolve(c ?? 1)));
  probe.kill('SIGTERM');
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}

async function atApprovalGate(info: LabInfo, env: NodeJS.ProcessEnv, opts: Options, subject: string, deadline?: string): Promise<void> {
  const rule = '-'.repeat(78);
  say(`\n${rule}`);
  say(`The upgrade waits for approval of ${subject}: the canary passed its gate.`);
  say(`In the Temporal UI (${info.temporalUiUrl}) the workflow's current details show the same.`);
  if (opts.autoApprove) {
    say(`--auto-approve: approving it now.`);
    say(rule);
    const code = await runCli(['approve', CLUSTER, '--reason', 'auto-approved by the demo (--auto-approve)'], env);
    if (code !== 0) say(`approve exited ${code}`);
    return;
  }
  say('Approve it from another terminal, in this repository:');
  say('');
  const prefix = anotherTerminalExports();
  if (prefix) say(`    ${prefix}`);
  say(`    eval "$(${SHOWN_CLI} lab env)"`);
  say(`    ${SHOWN_CLI} approve ${CLUSTER} --reason "canary looks good"`);
  say('');
  if (!prefix) say(`  or: npm run istio-canary -- approve ${CLUSTER} --reason "canary looks good"`);
  say(`  to roll back instead: ${SHOWN_CLI} reject ${CLUSTER} --reason "..."`);
  say(`  (next time, approve by itself: npm run demo -- --auto-approve)`);
  if (deadline) say(`Unanswered, the plan rolls back on its own at ${deadline.replace(/\.\d+Z$/, 'Z')}.`);
  say('Waiting here; the watch goes on once it is approved.');
  say(rule);
}

/** Settings another terminal needs when this lab is not the default one. */
function anotherTerminalExports(): string {
  const keys = ['ISTIO_CANARY_LAB_DIR', 'LAB_TEMPORAL_PORT', 'LAB_TEMPORAL_UI_PORT', 'LAB_PROMETHEUS_PORT', 'LAB_INJECTOR_PORT', 'LAB_TRAFFIC_PORT'];
  const set = keys.filter((k) => process.env[k]);
  return set.length ? `export ${set.map((k) => `${k}=${shellWord(process.env[k]!)}`).join(' ')}` : '';
}

function anotherTerminal(): string {
  const prefix = anotherTerminalExports();
  return `${prefix ? `${prefix}; ` : ''}eval "$(${SHOWN_CLI} lab env)"; `;
}

// ---- the summary ----

function printSummary(status: UpgradeStatus, info: LabInfo): void {
  const result = status.result;
  const total = status.timings.reduce((sum, t) => sum + (t.durationMs ?? 0), 0);
  say(`\nUpgrade ${WORKFLOW_ID}: ${status.phase.toUpperCase()} in ${formatDuration(roundSeconds(total))}, Istio ${info.versions.oldVersion} -> ${info.versions.newVersion}, revision ${status.sourceRevision ?? '?'} -> ${status.targetRevision}`);
  if (result) say(`Result: ${result.reason}`);

  // Per stage: checks run, how they went, and the gate's decision.
  const gateOf = (stage: string): string => {
    const checks = status.gateChecks.filter((c) => c.stage === stage);
    const decision = status.decisions.filter((d) => d.kind === 'gate' && d.subject === `${stage} gate`).at(-1);
    if (!checks.length) return decision ? decision.reason.split(':')[0]! : '-';
    const passed = checks.filter((c) => c.measurements.every((m) => m.phase === 'pass')).length;
    return `${decision ? decision.reason.split(':')[0] : 'running'} (${passed}/${checks.length} checks pass)`;
  };
  const rows = status.namespaces.map((ns) => [
    ns.name,
    ns.wave,
    ns.revisionBefore ?? '-',
    ns.revisionAfter ?? (ns.state === 'pending' ? `${ns.revisionBefore ?? '-'} (untouched)` : '-'),
    ns.state,
    ns.startedAt && ns.finishedAt ? formatDuration(roundSeconds(Date.parse(ns.finishedAt) - Date.parse(ns.startedAt))) : '-',
    gateOf(ns.wave),
  ]);
  const gatewayTiming = status.timings.find((t) => t.step === 'gateways');
  if (gatewayTiming) {
    rows.push(['istio-system (ingress gateway)', 'gateways', status.sourceRevision ?? '-', status.phase === 'completed' ? status.targetRevision : '-', status.phase === 'completed' ? 'migrated' : '-', gatewayTiming.durationMs ? formatDuration(roundSeconds(gatewayTiming.durationMs)) : '-', gateOf('gateways')]);
  }
  say('\nNamespaces');
  say(renderTable(['namespace', 'wave', 'revision before', 'revision after', 'state', 'duration', 'gate'], rows));

  say('\nSteps');
  say(renderTable(['step', 'duration'], status.timings.map((t) => [t.step, t.durationMs !== undefined ? formatDuration(roundSeconds(t.durationMs)) : 'running'])));

  const failedChecks = (result?.evidence ?? []).filter((c) => c.measurements.some((m) => m.phase !== 'pass'));
  if (result && result.outcome !== 'completed' && result.evidence.length) {
    say(`\nEvidence (${describeWindow(result.evidence)}; every check of the failing stage, from Prometheus)`);
    say(evidenceTable(result.evidence));
  } else if (failedChecks.length) {
    say(`\nChecks that did not pass`);
    say(evidenceTable(failedChecks));
  }

  const decisions = status.decisions.filter((d) => d.kind !== 'start');
  if (decisions.length) {
    say('\nDecisions');
    say(renderTable(['at', 'kind', 'by', 'subject', 'reason'], decisions.map((d) => [d.at.replace(/\.\d+Z$/, 'Z'), d.kind, d.by, d.subject ?? '-', d.reason])));
  }
}

function describeWindow(checks: GateCheck[]): string {
  const windows = [...new Set(checks.map((c) => formatDuration(c.windowMs)))];
  return `window ${windows.join(', ')}`;
}

function evidenceTable(checks: GateCheck[]): string {
  const rows = checks.flatMap((c) =>
    c.measurements.map((m) => [
      `${c.stage} #${c.index}`,
      c.at.replace(/\.\d+Z$/, 'Z'),
      m.metric,
      m.error ? 'error' : formatNumber(m.value),
      m.threshold,
      formatDuration(c.windowMs),
      m.requests === null ? '-' : String(Math.round(m.requests)),
      m.phase,
    ]),
  );
  return renderTable(['check', 'at', 'metric', 'value', 'threshold', 'window', 'requests', 'verdict'], rows);
}

function printLabStillRunning(info: LabInfo): void {
  const prefix = anotherTerminalExports();
  say(`\nThe lab is still running, for you to explore:`);
  say(`  Temporal UI   ${info.temporalUiUrl}  (search: IstioCanaryCluster="${CLUSTER}")`);
  say(`  Prometheus    ${info.prometheusUrl}  (e.g. sum by (destination_workload_namespace) (rate(istio_requests_total{response_code=~"5.."}[1m])))`);
  say(`  your shell    ${prefix ? `${prefix}; ` : ''}eval "$(${SHOWN_CLI} lab env)"; kubectl get ns -L istio-injection,istio.io/rev; ${SHOWN_CLI} status ${CLUSTER}`);
  say(`  run it again  npm run demo [-- --faulty]   (resets the lab when an earlier run changed its mesh)`);
  say(`Stop the lab:   ${prefix ? `${prefix}; ${SHOWN_CLI} lab down` : `${SHOWN_CLI} lab down   (or: npm run istio-canary -- lab down)`}`);
}

// ---- small things ----

function rel(path: string): string {
  const r = relative(process.cwd(), path);
  return r.startsWith('..') ? path : r;
}

function roundSeconds(ms: number): number {
  return Math.max(1000, Math.round(ms / 1000) * 1000);
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
