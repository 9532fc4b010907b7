// `tsx bench/worker-memory.ts [--n 200] [--hold 60] [--configs dist,tsx,...]`
//
// The worker's resident memory, without a Kubernetes lab: for each configuration
// it starts the real worker process (`istio-canary worker`, from source through
// tsx as the lab does, or compiled from dist/ as the package and image do),
// measures it idle, then starts N `migrateNamespace` workflows (what an
// upgrade's wave runs, one child per namespace) on its task queue and holds them
// open. The worker's KUBECONFIG points at a closed port on 127.0.0.1, so every
// workflow sits at its first activity, retried, and stays in the worker's
// workflow cache: the state a 200-namespace wave keeps in memory. What it does
// not load: real Kubernetes responses in activities (each attempt is refused at
// once), so a lab benchmark (bench/run.ts) remains the check under real work.
//
// Prints, per configuration: RSS idle (15 s after ready), with the N workflows
// after --hold seconds, the sampled peak, where the pages are (smaps), the
// heaps (a probe loaded with --import) and the worker's CPU seconds under load.
//
// Needs a Temporal server nobody else uses (TEMPORAL_ADDRESS, default
// 127.0.0.1:31733), `npm run build` for the dist configurations and a bundle
// from `tsx scripts/bundle-workflows.ts <file>` in ISTIO_CANARY_WORKFLOW_BUNDLE
// for the prebuilt ones. Never part of `npm test`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { REPO_ROOT } from '../lab/paths.js';
import { WORKER_MEMORY_ENV } from '../worker/memory.js';
import { TASK_QUEUE } from '../workflows/messages.js';
import type { NamespaceMoveInput } from '../workflows/namespace.js';
import { descendants, rssMb } from './measure.js';

/** The worker's own node process: the largest in the tree (tsx runs it as a child). */
function nodePid(root: number): number {
  let best = { pid: root, rss: -1 };
  for (const pid of [root, ...descendants(root)]) {
    const rss = rssMb(pid, 'VmRSS');
    const own = descendants(pid).length === 0 ? rss : -1; // a launcher's rssMb reports its child's
    if (own > best.rss) best = { pid, rss: own };
  }
  return best.pid;
}

/**
 * Where its resident pages are, from /proc/<pid>/smaps: glibc's main heap ([heap]),
 * glibc's thread arenas (64 MB-aligned anonymous mappings), other anonymous
 * memory (V8's heaps, stacks) and file pages (the node binary, the SDK's native bridge).
 */
function memoryMap(root: number): string {
  const sums = { brk: 0, arenas: 0, anon: 0, file: 0 };
  let kind: keyof typeof sums = 'anon';
  try {
    for (const line of readFileSync(`/proc/${nodePid(root)}/smaps`, 'utf8').split('\n')) {
      const mapping = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (mapping) {
        const [, start, name] = mapping;
        kind = name === '[heap]' ? 'brk' : name && !name.startsWith('[') ? 'file' : /^[0-9a-f]{5,}000000$/.test(start!) && start!.length >= 12 ? 'arenas' : 'anon';
      } else if (line.startsWith('Rss:')) sums[kind] += Number(line.split(/\s+/)[1]) / 1024;
    }
  } catch {
    return '?';
  }
  const mb = (v: number) => Math.round(v);
  return `malloc ${mb(sums.brk)}+${mb(sums.arenas)} arenas, other anon ${mb(sums.anon)}, file ${mb(sums.file)}`;
}

/** CPU seconds (user + system) the worker's processes have used so far. */
function cpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of [root, ...descendants(root)]) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:31733';
const bundle = process.env.ISTIO_CANARY_WORKFLOW_BUNDLE;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const n = Number(option('n', '200'));
const holdSeconds = Number(option('hold', '60'));

const bin = (name: string) => join(REPO_ROOT, 'node_modules', '.bin', name);
const fromSource = [bin('tsx'), join(REPO_ROOT, 'cli', 'main.ts'), 'worker'];
const compiled = [bin('node'), join(REPO_ROOT, 'dist', 'cli', 'main.js'), 'worker'];

/** What startLabWorker({ compiledDir }) gives the worker (worker/memory.ts). */
const LEAN: Record<string, string> = { ...WORKER_MEMORY_ENV };
/** Its first two settings alone. */
const SEMI1_ARENA2 = { NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '2' };

interface Config {
  argv: string[];
  env: Record<string, string>;
}
/** What is measured; `prebuilt` loads the bundle from ISTIO_CANARY_WORKFLOW_BUNDLE, the others run webpack at start. */
const CONFIGS: Record<string, Config> = {
  tsx: { argv: fromSource, env: {} },
  'tsx-prebuilt': { argv: fromSource, env: { prebuilt: '1' } },
  dist: { argv: compiled, env: {} },
  'dist-prebuilt': { argv: compiled, env: { prebuilt: '1' } },
  'dist-prebuilt-heap256': { argv: compiled, env: { prebuilt: '1', NODE_OPTIONS: '--max-old-space-size=256' } },
  // V8's young generation: Node 24 lets it grow to tens of MB per isolate (main thread and the workflow thread) and keeps it committed.
  'dist-prebuilt-semi1': { argv: compiled, env: { prebuilt: '1', NODE_OPTIONS: '--max-semi-space-size=1' } },
  'dist-prebuilt-semi2': { argv: compiled, env: { prebuilt: '1', NODE_OPTIONS: '--max-semi-space-size=2' } },
  // glibc gives each thread that allocates (the Rust core's runtime threads, V8's compiler threads, libuv's pool) its own arena.
  'dist-prebuilt-arena2': { argv: compiled, env: { prebuilt: '1', MALLOC_ARENA_MAX: '2' } },
  'dist-prebuilt-semi1-arena2': { argv: compiled, env: { prebuilt: '1', ...SEMI1_ARENA2 } },
  'dist-prebuilt-semi4-arena2': { argv: compiled, env: { prebuilt: '1', NODE_OPTIONS: '--max-semi-space-size=4', MALLOC_ARENA_MAX: '2' } },
  'dist-semi1-arena2': { argv: compiled, env: SEMI1_ARENA2 },
  'tsx-prebuilt-semi1-arena2': { argv: fromSource, env: { prebuilt: '1', ...SEMI1_ARENA2 } },
  // One V8 platform thread instead of four: fewer concurrent compile jobs, fewer arenas.
  'dist-prebuilt-semi1-arena2-pool1': { argv: compiled, env: { prebuilt: '1', ...SEMI1_ARENA2, NODE_OPTIONS: `${SEMI1_ARENA2.NODE_OPTIONS} --v8-pool-size=1` } },
  'dist-prebuilt-semi1-arena2-cache50': { argv: compiled, env: { prebuilt: '1', ...SEMI1_ARENA2, ISTIO_CANARY_MAX_CACHED_WORKFLOWS: '50' } },
  'dist-prebuilt-semi1-arena2-cache1000': { argv: compiled, env: { prebuilt: '1', ...SEMI1_ARENA2, ISTIO_CANARY_MAX_CACHED_WORKFLOWS: '1000' } },
  'dist-prebuilt-cache20': { argv: compiled, env: { prebuilt: '1', ISTIO_CANARY_MAX_CACHED_WORKFLOWS: '20' } },
  // All of worker/memory.ts: semi1, arena2 and a fixed 1 MB malloc trim threshold.
  'dist-prebuilt-lean': { argv: compiled, env: { prebuilt: '1', ...LEAN } },
  'dist-lean': { argv: compiled, env: LEAN },
  'tsx-prebuilt-lean': { argv: fromSource, env: { prebuilt: '1', ...LEAN } },
};
const names = option('configs', 'tsx,dist-prebuilt,dist-prebuilt-lean').split(',');
for (const name of names) if (!CONFIGS[name]) throw new Error(`unknown configuration ${name}; known: ${Object.keys(CONFIGS).join(', ')}`);
if (!Number.isInteger(n) || n < 1 || !(holdSeconds > 0)) throw new Error('--n takes a count >= 1, --hold seconds > 0');

/**
 * Loaded into the worker with --import: every 5 s one line with the main
 * thread's heap and the heap of each worker thread (the SDK runs workflows in
 * one), so RSS can be split into JS heaps and the rest (Rust core, code, malloc).
 */
const PROBE = `
const threads = process.getBuiltinModule('node:worker_threads');
if (threads.isMainThread) {
  const seen = [];
  const Original = threads.Worker;
  threads.Worker = class extends Original { constructor(...a) { super(...a); seen.push(this); this.once('exit', () => seen.splice(seen.indexOf(this), 1)); } };
  const mb = (b) => Math.round(b / 1048576);
  setInterval(async () => {
    const m = process.memoryUsage();
    const t = await Promise.all(seen.map((w) => w.getHeapStatistics().then((h) => mb(h.used_heap_size) + '/' + mb(h.total_heap_size)).catch(() => '?')));
    process.stderr.write('[probe] ' + JSON.stringify({ rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), threadHeaps: t }) + '\\n');
  }, 5000).unref();
}`;
const probeImport = `--import=data:text/javascript;base64,${Buffer.from(PROBE).toString('base64')}`;

const log = (line: string) => process.stderr.write(`[mem ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startWorker(config: Config, kubeconfig: string): { child: ChildProcess; ready: Promise<void>; lastProbe: () => string } {
  const { prebuilt, NODE_OPTIONS, ...env } = config.env;
  if (prebuilt && !bundle) throw new Error('set ISTIO_CANARY_WORKFLOW_BUNDLE (tsx scripts/bundle-workflows.ts <file>) for the prebuilt configurations');
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    KUBECONFIG: kubeconfig,
    ISTIO_CANARY_BACKUP_DIR: join(tmpdir(), 'worker-memory-backups'),
    NODE_OPTIONS: [NODE_OPTIONS, probeImport].filter(Boolean).join(' '),
    ...env,
  };
  if (prebuilt) childEnv.ISTIO_CANARY_WORKFLOW_BUNDLE = bundle;
  else delete childEnv.ISTIO_CANARY_WORKFLOW_BUNDLE;
  const child = spawn(config.argv[0]!, config.argv.slice(1), { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let probe = '';
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      for (const line of text.split('\n')) if (line.startsWith('[probe] ')) probe = line.slice(8);
      output = (output + text).slice(-4000);
      if (output.includes('worker ready: polling task queue')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${output}`)));
  });
  return { child, ready, lastProbe: () => probe };
}

function moveInput(i: number): NamespaceMoveInput {
  return {
    namespace: `bench-ns-${String(i).padStart(3, '0')}`,
    labels: { 'istio-injection': null, 'istio.io/rev': '1-24-0' },
    labelsBefore: { 'istio-injection': 'enabled', 'istio.io/rev': null },
    revision: '1-24-0',
    kinds: ['Deployment', 'StatefulSet', 'DaemonSet'],
    progressDeadlineMs: 600_000,
  };
}

async function measure(name: string, client: Client, kubeconfig: string): Promise<Record<string, string | number>> {
  const worker = startWorker(CONFIGS[name]!, kubeconfig);
  const pid = worker.child.pid!;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid, 'VmRSS'))), 1_000);
  const started = Date.now();
  try {
    await worker.ready;
    const readyS = (Date.now() - started) / 1000;
    await sleep(15_000);
    const idle = rssMb(pid, 'VmRSS');
    const idleProbe = worker.lastProbe();
    const idleMap = memoryMap(pid);
    const cpuIdle = cpuSeconds(pid);
    const run = `${name}-${Date.now()}`;
    const handles = await Promise.all(
      Array.from({ length: n }, (_, i) => client.workflow.start('migrateNamespace', { taskQueue: TASK_QUEUE, workflowId: `${run}-${i}`, args: [moveInput(i)] })),
    );
    // Each has run its first workflow task once its first activity is pending.
    let running = 0;
    for (const deadline = Date.now() + 300_000; running < n && Date.now() < deadline; await sleep(2_000)) {
      const described = await Promise.all(handles.map((h) => h.describe()));
      running = described.filter((d) => (d.raw.pendingActivities?.length ?? 0) > 0).length;
    }
    const loadedS = (Date.now() - started) / 1000 - readyS - 15;
    await sleep(holdSeconds * 1000);
    const loaded = rssMb(pid, 'VmRSS');
    const cpu = Math.round((cpuSeconds(pid) - cpuIdle) * 10) / 10;
    const loadedMap = memoryMap(pid);
    const loadedProbe = worker.lastProbe();
    await Promise.all(handles.map((h) => h.terminate('worker-memory benchmark done').catch(() => undefined)));
    return { name, readyS, idle, loaded, peak: Math.max(peak, loaded), hwm: rssMb(pid, 'VmHWM'), running, loadedS: Math.round(loadedS), cpu, idleMap, loadedMap, idleProbe, loadedProbe };
  } finally {
    clearInterval(sampler);
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // gone
    }
    await new Promise((r) => (worker.child.exitCode === null ? worker.child.once('exit', r) : r(null)));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'worker-memory-'));
  // A cluster on a closed local port: every Kubernetes call is refused at once and nothing leaves the machine.
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: none, cluster: {server: 'https://127.0.0.1:31739', insecure-skip-tls-verify: true}}]\nusers: [{name: none, user: {token: none}}]\ncontexts: [{name: none, context: {cluster: none, user: none}}]\ncurrent-context: none\n`,
  );
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const rows = [];
  try {
    for (const name of names) {
      log(`${name}: starting the worker`);
      const row = await measure(name, client, kubeconfig);
      log(JSON.stringify(row));
      rows.push(row);
    }
  } finally {
    await connection.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n| configuration | ready | idle RSS | RSS with ${n} workflows cached (after ${holdSeconds} s) | where (loaded) | peak RSS (sampled / VmHWM) | workflows at an activity (s to get there) | worker CPU s under load |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.readyS} s | ${r.idle} MB | ${r.loaded} MB | ${r.loadedMap} | ${r.peak} / ${r.hwm} MB | ${r.running}/${n} (${r.loadedS} s) | ${r.cpu} |`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
