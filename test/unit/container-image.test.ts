// The worker's container build, checked without a Docker engine: the Dockerfile's
// invariants and the build context its .dockerignore leaves. That the runtime stage's
// install works is shown by test/integration/package.test.ts, which packs from this same
// build context and runs the same `npm install --omit=dev` of the tarball.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dockerBuildContextFiles } from '../support/build-context.js';
import { WORKER_MEMORY_ENV } from '../../worker/memory.js';
import { buildContext, declaredVariables, parseDockerfile, stageLineage, type Instruction, type Stage } from '../support/dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const file = parseDockerfile(readFileSync(`${root}Dockerfile`, 'utf8'));
const finalStage = file.stages.at(-1)!;
const lineage = stageLineage(file, finalStage);
const globalDefaults = new Map(file.globalArgs.flatMap(declaredVariables).map(({ name, value }) => [name, value]));

function expandGlobals(text: string): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => globalDefaults.get(name) ?? whole);
}

/** The instructions the final image gets, base stages first. */
function imageInstructions(): Instruction[] {
  return [...lineage].reverse().flatMap((stage) => stage.instructions);
}

function lastOf(keyword: string): Instruction | undefined {
  return imageInstructions().filter((instruction) => instruction.keyword === keyword).at(-1);
}

function stageNamed(name: string): Stage {
  const stage = file.stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`Dockerfile has no stage ${name}`);
  return stage;
}

const SECRET_NAME = /secret|passw|token|api[-_]?key|credential|private|_key\b|cert|kubeconfig|^TEMPORAL_/i;

describe('Dockerfile', () => {
  it('builds on the current Node LTS, 24, in every Node stage', () => {
    const nodeBases = file.stages.map((stage) => expandGlobals(stage.base)).filter((base) => /(^|\/)node:/.test(base));
    expect(nodeBases.length).toBeGreaterThanOrEqual(2);
    for (const base of nodeBases) expect(base).toMatch(/^(docker\.io\/library\/)?node:24[-.]/);
    expect(lineage.some((stage) => /(^|\/)node:/.test(stage.base))).toBe(true);
  });

  it('compiles with dev dependencies in one stage and installs only the packed tarball in the image', () => {
    const build = stageNamed('build');
    expect(build.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args))).toBe(true);
    expect(build.instructions.some((i) => i.keyword === 'RUN' && /\bnpm pack\b/.test(i.args))).toBe(true);
    expect(lineage).not.toContain(build);
    const installs = imageInstructions().filter((i) => i.keyword === 'RUN' && /\bnpm install\b/.test(i.args));
    expect(installs).toHaveLength(1);
    expect(installs[0]!.args).toMatch(/--mount=type=bind,from=build\b/);
    expect(installs[0]!.args).toMatch(/npm install --global --omit=dev .*\/istio-canary\.tgz/);
    // Nothing else from the checkout or the build stage: no sources, no dev node_modules.
    const copies = imageInstructions().filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    expect(copies.map((i) => i.args)).toEqual([expect.stringMatching(/^--from=istioctl /)]);
  });

  it('runs as a numeric non-root user and group', () => {
    const user = lastOf('USER');
    expect(user?.args).toMatch(/^\d+:\d+$/);
    const [uid, gid] = user!.args.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
  });

  it('bakes in no secret: no ENV or ARG named like one, and no credentials copied', () => {
    const all = [...file.globalArgs, ...file.stages.flatMap((stage) => stage.instructions)];
    const variables = all.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG').flatMap(declaredVariables);
    expect(variables.length).toBeGreaterThan(0);
    expect(variables.filter(({ name }) => SECRET_NAME.test(name))).toEqual([]);
    expect(variables.filter(({ value }) => value !== undefined && /BEGIN [A-Z ]*PRIVATE KEY|:\/\/[^/\s]*:[^/\s]*@/.test(value))).toEqual([]);
    const copied = all.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map((i) => i.args);
    expect(copied.filter((args) => /\.pem|\.key\b|kubeconfig|\.kube\b|\.env\b/i.test(args))).toEqual([]);
  });

  it('takes istioctl from the official image of the ISTIO_VERSION build argument', () => {
    expect(globalDefaults.get('ISTIO_VERSION')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(stageNamed('istioctl').base).toBe('docker.io/istio/istioctl:${ISTIO_VERSION}');
    const copy = finalStage.instructions.find((i) => i.keyword === 'COPY' && i.args.startsWith('--from=istioctl '));
    // Where plans point spec.target.istioctl (examples/plan.yaml uses /opt/istio-1.30.3/bin/istioctl).
    expect(copy?.args).toBe('--from=istioctl /usr/local/bin/istioctl /opt/istio-${ISTIO_VERSION}/bin/istioctl');
    // `--target runtime` is the same image without istioctl, for a mounted one.
    expect(finalStage.base).toBe('runtime');
  });

  it('declares in each stage every build argument the stage uses (global ARGs reach only FROM lines)', () => {
    const undeclared: string[] = [];
    for (const stage of file.stages) {
      const declared = new Set<string>();
      for (const instruction of stage.instructions) {
        if (instruction.keyword === 'ARG') for (const { name } of declaredVariables(instruction)) declared.add(name);
        for (const [, name] of instruction.args.matchAll(/\$\{?(\w+)/g)) {
          if (globalDefaults.has(name!) && !declared.has(name!)) undeclared.push(`line ${instruction.line}: ${name} (stage ${stage.name})`);
        }
      }
    }
    // Undeclared, the variable would expand to an empty string in that stage.
    expect(undeclared).toEqual([]);
  });

  it('runs the worker with the memory settings the benchmark measured (worker/memory.ts)', () => {
    const env = new Map(imageInstructions().filter((i) => i.keyword === 'ENV').flatMap(declaredVariables).map(({ name, value }) => [name, value]));
    for (const [name, value] of Object.entries(WORKER_MEMORY_ENV)) expect([name, env.get(name)]).toEqual([name, value]);
  });

  it('exposes the metrics port and starts the worker in exec form', () => {
    expect(imageInstructions().some((i) => i.keyword === 'EXPOSE' && i.args.split(/\s+/).includes('9464'))).toBe(true);
    expect(JSON.parse(lastOf('ENTRYPOINT')!.args)).toEqual(['istio-canary', 'worker']);
    expect(lastOf('CMD')).toBeUndefined();
  });
});

describe('.dockerignore', () => {
  const ignore = readFileSync(`${root}.dockerignore`, 'utf8');

  it('follows docker: segment wildcards, ** across directories, whole directories, last match wins', () => {
    const paths = ['a.log', 'x/a.log', 'node_modules/p/i.js', 'lab/versions.env', 'x/.env', 'x/y/cluster.kubeconfig', 'cli/main.ts'];
    expect(buildContext(paths, ignore)).toEqual(['x/a.log', 'lab/versions.env', 'cli/main.ts']);
  });

  it('sends what the build stage compiles and no credentials, caches or dependencies', () => {
    const context = dockerBuildContextFiles(root);
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'bin/istio-canary.js', 'README.md', 'cli/main.ts', 'workflows/index.ts', 'lab/lab.ts', 'scripts/bundle-workflows.ts']) {
      expect(context).toContain(needed);
    }
    const forbidden = /^(node_modules|\.git|\.tools|\.lab[^/]*|dist|test)(\/|$)|\.(pem|key|crt)$|kubeconfig|(^|\/)\.env$/;
    expect(context.filter((path) => forbidden.test(path))).toEqual([]);
  });
});
