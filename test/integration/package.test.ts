// The npm package as a user gets it: `npm pack` (prepack compiles dist/) run on the files the
// container build's context holds (.dockerignore applied; node_modules linked from the checkout,
// which `npm ci` made from the same lock file the image's build stage uses), the tarball
// installed into an empty folder outside the checkout (only the dependencies package.json
// declares, so a missing one fails here), and the installed `istio-canary` run on Node 24:
// help, plan, schema, and the worker polling a real Temporal dev server until SIGTERM.
// The container image's runtime stage performs this same install (see Dockerfile).
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planJsonSchema } from '../../plan/json-schema.js';
import { TASK_QUEUE } from '../../workflows/messages.js';
import { dockerBuildContextFiles } from '../support/build-context.js';
import { startTemporal } from '../support/temporal.js';

jest.setTimeout(120_000);

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const examplePlan = join(repoRoot, 'examples', 'plan.yaml');
const node24 = join(repoRoot, 'node_modules', '.bin', 'node');

let work: string;
let installed: string;
let bin: string;
/** Only Node 24 and the system's own tools: nothing of the checkout is reachable. */
let cleanEnv: Record<string, string>;

/** The environment of a fresh shell: no npm_* or NODE_OPTIONS inherited from the test runner. */
function baseEnv(path: string): Record<string, string> {
  return { PATH: path, HOME: join(work, 'home'), LANG: 'C.UTF-8', TEMPORAL_CONFIG_FILE: join(work, 'no-temporal.toml') };
}

function run(args: string[], extraEnv: Record<string, string> = {}) {
  return execa(bin, args, { env: { ...cleanEnv, ...extraEnv }, extendEnv: false, reject: false, cwd: installed });
}

beforeAll(async () => {
  if (!existsSync(node24)) throw new Error(`Node 24 missing at ${node24}: run \`npm ci\` in the checkout (the node devDependency provides it)`);
  work = await mkdtemp(join(tmpdir(), 'istio-canary-package-'));
  installed = join(work, 'install');
  await mkdir(join(work, 'home'), { recursive: true });
  await mkdir(installed);
  const nodeDir = join(work, 'node24');
  await mkdir(nodeDir);
  await symlink(node24, join(nodeDir, 'node'));
  // npm itself keeps running on the system Node; the checkout's node_modules/.bin stays off PATH.
  const systemPath = (process.env.PATH ?? '').split(':').filter((dir) => !dir.startsWith(repoRoot)).join(':');
  // npm keeps the real HOME: its cache and the user's .npmrc (registry, mirror) live there.
  const npmEnv = { ...baseEnv(systemPath), HOME: process.env.HOME ?? homedir() };

  // The image's build stage: the build context, dev dependencies, `npm pack`.
  const context = join(work, 'context');
  for (const path of dockerBuildContextFiles(repoRoot)) await cp(join(repoRoot, path), join(context, path));
  await symlink(join(repoRoot, 'node_modules'), join(context, 'node_modules'));
  const packStarted = Date.now();
  const packed = await execa('npm', ['pack', '--pack-destination', work], { cwd: context, env: npmEnv, extendEnv: false, all: true, reject: false });
  if (packed.exitCode !== 0) throw new Error(`npm pack failed:\n${packed.all}`);
  const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${work}:\n${packed.all}`);

  const installStarted = Date.now();
  await writeFile(join(installed, 'package.json'), JSON.stringify({ name: 'install-check', private: true }));
  // Same install as the image's runtime stage: production dependencies of the tarball only.
  const install = await execa('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball)], {
    cwd: installed,
    env: npmEnv,
    extendEnv: false,
    all: true,
    reject: false,
  });
  if (install.exitCode !== 0) throw new Error(`npm install of ${tarball} failed:\n${install.all}`);
  process.stdout.write(`npm pack ${installStarted - packStarted} ms, npm install ${Date.now() - installStarted} ms\n`);
  bin = join(installed, 'node_modules', '.bin', 'istio-canary');
  cleanEnv = baseEnv(`${nodeDir}:${systemPath}`);
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('ships compiled JavaScript and none of the checkout: no sources, no lab, no tsx', async () => {
    const pkg = join(installed, 'node_modules', 'istio-canary');
    expect(existsSync(join(pkg, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(pkg, 'dist', 'workflows', 'index.js'))).toBe(true);
    // The workflow bundle made at build time: the installed worker loads it instead of running webpack.
    expect(readFileSync(join(pkg, 'dist', 'workflows-bundle.js'), 'utf8')).toContain('istioCanaryUpgrade');
    expect(existsSync(join(pkg, 'cli'))).toBe(false);
    expect(existsSync(join(pkg, 'dist', 'lab'))).toBe(false);
    expect(existsSync(join(installed, 'node_modules', 'tsx'))).toBe(false);
    const { version } = JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')) as { version: string };
    const shown = await run(['--version']);
    expect(shown.stdout.trim()).toBe(version);
  });

  it('runs `istio-canary --help` on Node 24', async () => {
    const help = await run(['--help']);
    expect(help.exitCode).toBe(0);
    for (const command of ['plan [options]', 'schema [options]', 'start [options]', 'approve [options]', 'worker']) {
      expect(help.stdout).toContain(command);
    }
  });

  it('validates a plan and prints its steps', async () => {
    const plan = await run(['plan', '-f', examplePlan]);
    expect(plan.stderr).toBe('');
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain('is valid: Istio 1.30.3 canary upgrade of prod-eu (rev 1-30-3)');
    expect(plan.stdout).toContain('1. Preflight on cluster prod-eu');
  });

  it('prints the same JSON Schema as the sources', async () => {
    const schema = await run(['schema']);
    expect(schema.exitCode).toBe(0);
    expect(JSON.parse(schema.stdout)).toEqual(planJsonSchema());
  });

  it('says the lab is not part of the package', async () => {
    const lab = await run(['lab', 'status']);
    expect(lab.exitCode).toBe(2);
    expect(lab.stderr).toContain('the lab runs from a checkout of istio-canary');
  });

  describe('worker', () => {
    let temporal: TestWorkflowEnvironment | undefined;
    let worker: ResultPromise | undefined;

    beforeAll(async () => {
      temporal = await startTemporal();
    });

    afterAll(async () => {
      worker?.kill('SIGKILL'); // a no-op once it has exited
      await worker?.catch(() => undefined);
      await temporal?.teardown();
    });

    it('loads the packaged workflow bundle, polls the task queue, and stops on SIGTERM with exit 0', async () => {
      const kubeconfig = join(work, 'kubeconfig');
      // The worker reads its kubeconfig at start but calls the API only for an upgrade: a
      // closed loopback port is enough here.
      await writeFile(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]',
          'users: [{name: none, user: {token: unused}}]',
          'contexts: [{name: none, context: {cluster: none, user: none}}]',
          'current-context: none',
          '',
        ].join('\n'),
      );
      const address = temporal!.address;
      const started = Date.now();
      const child = execa(bin, ['worker'], {
        cwd: installed,
        env: { ...cleanEnv, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default', KUBECONFIG: kubeconfig },
        extendEnv: false,
        reject: false,
        all: true,
      });
      worker = child;
      const ready = `worker ready: polling task queue ${TASK_QUEUE} at ${address} (namespace default)`;
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        child.all!.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes(ready)) resolve();
        });
        void child.then((result) => reject(new Error(`worker exited (${result.exitCode}) before polling:\n${seen}`)));
      });
      const readyAfterMs = Date.now() - started;
      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode).toBe(0);
      expect(result.all).toContain('worker stopped');
      process.stdout.write(`installed worker polled after ${readyAfterMs} ms\n`);
    });
  });
});
