// `npm run bench -- --namespaces 10,50,200 --runs 3 [--baseline 10,50] [--qps 50 --burst 100] [--worker compiled|source] [--keep-lab]`
//
// For each fleet size, on the benchmark's own lab (.lab-bench, the engineer ports 36233, 36234, 36090, 36017, 36091 unless LAB_*_PORT say otherwise):
// a completed upgrade (wall time, lower bound, overhead ratio, history events,
// Kubernetes API requests, worker RSS), then the same upgrade to a version the
// traffic simulator marks faulty (detection latency, rollback time), `runs`
// times; for the sizes given to --baseline, the seed's manual procedure once (bench/baseline.sh).
// Prints a table and writes bench/results/<date>.json. Never part of `npm test`.
import { execa } from 'execa';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyFleet, benchFleet, resetFleet, useBenchLab, waitRolledOut } from './lab.js';

useBenchLab();
const { labUp, labDown, labEnv } = await import('../lab/lab.js');
const { labPaths, REPO_ROOT, tool } = await import('../lab/paths.js');
const { startLabWorker, stopLabWorker } = await import('../lab/worker.js');
const { setFault, clearFault } = await import('../lab/knobs.js');
const { runUpgrade, lowerBoundMs } = await import('./upgrade.js');
const { faultTimes } = await import('./fault.js');
const { median, rssMb } = await import('./measure.js');
const { benchStages, GATE_WINDOW_SECONDS } = await import('./plan.js');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const sizes = option('namespaces', '10,50').split(',').map(Number);
const runs = Number(option('runs', '3'));
const baselineSizes = option('baseline', '').split(',').filter(Boolean).map(Number);
process.env.ISTIO_CANARY_KUBE_QPS = option('qps', process.env.ISTIO_CANARY_KUBE_QPS ?? '50');
process.env.ISTIO_CANARY_KUBE_BURST = option('burst', process.env.ISTIO_CANARY_KUBE_BURST ?? '100');
// compiled: as deployed (tsc output on plain node, worker/memory.ts settings); source: the lab's own tsx worker.
const workerMode = option('worker', 'compiled');
if (sizes.some((n) => !Number.isInteger(n) || n < 2) || !(runs >= 1)) throw new Error('--namespaces takes sizes >= 2 (e.g. 10,50,200), --runs a count >= 1');
if (workerMode !== 'compiled' && workerMode !== 'source') throw new Error('--worker takes compiled or source');
// Above 50 namespaces the traffic simulator's exposition (~350 lines per
// namespace) is too large to scrape every second on 2 cores (lab/prometheus.ts).
process.env.LAB_PROMETHEUS_SCRAPE_INTERVAL ??= Math.max(...sizes) > 50 ? '5' : '1';

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const results: unknown[] = [];
const resultsDir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);

function writeResults(rows: unknown[]): void {
  writeFileSync(file, `${JSON.stringify({ qps: process.env.ISTIO_CANARY_KUBE_QPS, burst: process.env.ISTIO_CANARY_KUBE_BURST, worker: workerMode, scrapeIntervalSeconds: process.env.LAB_PROMETHEUS_SCRAPE_INTERVAL, results: rows }, null, 2)}\n`);
}

/** The worker compiled into the lab's own directory (not dist/, which a concurrent `npm run build` empties). */
async function compileWorker(labRoot: string): Promise<string> {
  const dir = join(labRoot, 'dist');
  rmSync(dir, { recursive: true, force: true });
  await execa(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', dir]);
  return dir;
}

async function main(): Promise<void> {
  const paths = labPaths();
  const info = await labUp(log);
  // As a deployed worker should: the workflow bundle made beforehand, no webpack in the worker.
  // Made (and the worker compiled) once; each size starts a fresh worker from them.
  const bundle = join(info.root, 'workflows-bundle.js');
  await execa(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [join(REPO_ROOT, 'scripts', 'bundle-workflows.ts'), bundle]);
  process.env.ISTIO_CANARY_WORKFLOW_BUNDLE = bundle;
  const compiledDir = workerMode === 'compiled' ? await compileWorker(info.root) : undefined;
  for (const n of sizes) {
    const fleet = benchFleet(n);
    const stages = benchStages(fleet.map((ns) => ns.name));
    log(`fleet of ${n} namespaces (${n * 4} Deployments, ${n * 8} pods)`);
    await applyFleet(paths, info, fleet);
    await stopLabWorker(paths);
    const worker = await startLabWorker({ paths, ...(compiledDir && { compiledDir }) });
    // Sampled while upgrades run: the lifetime peak (VmHWM) also holds the start-up bundling.
    let upgradeRssMb = 0;
    let runRssMb = 0;
    const sampler = setInterval(() => {
      runRssMb = Math.max(runRssMb, rssMb(worker.pid, 'VmRSS'));
      upgradeRssMb = Math.max(upgradeRssMb, runRssMb);
    }, 1_000);
    const good: Array<Record<string, number>> = [];
    const bad: Array<Record<string, number>> = [];
    for (let r = 1; r <= runs; r++) {
      log(`n=${n} run ${r}/${runs}: upgrade`);
      runRssMb = 0;
      const run = await runUpgrade(info, paths, stages);
      if (run.outcome !== 'completed') throw new Error(`the upgrade did not complete: ${run.status.result?.reason}`);
      const bound = await lowerBoundMs(paths, run, stages);
      const row = {
        wallMs: run.wallMs,
        lowerBoundMs: bound.lowerBoundMs,
        overhead: run.wallMs / bound.lowerBoundMs,
        installMs: bound.installMs,
        parentEvents: run.events.parent,
        maxChildEvents: run.events.maxChild,
        kubeRequests: run.kube.requests,
        kubePeakPerSecond: run.kube.peakPerSecond,
        kubeBurstAtRate: Math.round(run.kube.burstAtRate * 10) / 10,
        workerRssMb: runRssMb,
      };
      log(`  ${JSON.stringify(row)} rollouts ${JSON.stringify(bound.rolloutsMs)} timings ${JSON.stringify(run.status.timings.map((t) => [t.step, t.durationMs]))}`);
      good.push(row);
      await resetFleet(paths, info, fleet);

      log(`n=${n} run ${r}/${runs}: upgrade to a faulty version`);
      await setFault(info, info.versions.newVersion);
      try {
        const faulty = await runUpgrade(info, paths, stages);
        const times = await faultTimes(info.prometheusUrl, faulty.status, stages.canary[0]!, faulty.startedAt);
        const badRow = { detectionMs: times.detectionMs, rollbackMs: times.rollbackMs, parentEvents: faulty.events.parent, maxChildEvents: faulty.events.maxChild };
        log(`  ${faulty.outcome}: ${JSON.stringify(badRow)}`);
        bad.push(badRow);
      } finally {
        await clearFault(info, info.versions.newVersion);
      }
      await waitRolledOut(paths, fleet.map((ns) => ns.name));
      // The faulty version's errors must leave the gate window before the next
      // run's preflight measures the canary's baseline.
      await new Promise((r) => setTimeout(r, GATE_WINDOW_SECONDS * 1000 + 5_000));
      // A 200-namespace round runs for an hour: what it measured so far survives a stop.
      writeResults([...results, { namespaces: n, runs: r, partial: true, good, bad }]);
    }
    clearInterval(sampler);
    const lifetimeRssMb = rssMb(worker.pid);
    let baselineMs: number | undefined;
    if (baselineSizes.includes(n)) {
      log(`n=${n}: the seed's manual procedure (bench/baseline.sh)`);
      const started = Date.now();
      await execa('bash', [join(REPO_ROOT, 'bench', 'baseline.sh'), ...fleet.map((ns) => ns.name)], {
        env: { ...process.env, ...labEnv(info), KUBECTL: tool('kubectl'), PROMETHEUS_URL: info.prometheusUrl, NEW_REVISION: info.versions.newRevision, ISTIOCTL: tool('istioctl'), OVERLAY: info.targetOverlay },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      baselineMs = Date.now() - started;
      await resetFleet(paths, info, fleet);
    }
    const med = (rows: Array<Record<string, number>>, key: string) => median(rows.map((row) => row[key]!));
    const summary = {
      namespaces: n,
      runs,
      wallMs: med(good, 'wallMs'),
      lowerBoundMs: med(good, 'lowerBoundMs'),
      overhead: med(good, 'overhead'),
      detectionMs: med(bad, 'detectionMs'),
      rollbackMs: med(bad, 'rollbackMs'),
      maxEvents: Math.max(...good.map((g) => Math.max(g.parentEvents!, g.maxChildEvents!)), ...bad.map((b) => Math.max(b.parentEvents!, b.maxChildEvents!))),
      kubeRequests: med(good, 'kubeRequests'),
      kubePeakPerSecond: Math.max(...good.map((g) => g.kubePeakPerSecond!)),
      kubeBurstAtRate: Math.max(...good.map((g) => g.kubeBurstAtRate!)),
      workerRssMbDuringUpgrades: upgradeRssMb,
      workerRssMbLifetimePeak: lifetimeRssMb,
      ...(baselineMs !== undefined && { baselineMs, baselineRatio: baselineMs / med(good, 'wallMs') }),
      good,
      bad,
    };
    results.push(summary);
    log(`n=${n}: ${JSON.stringify({ ...summary, good: undefined, bad: undefined })}`);
    writeResults(results);
    log(`results in ${file}`);
  }
  if (!process.argv.includes('--keep-lab')) await labDown(log);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
