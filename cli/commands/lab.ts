// `istio-canary lab up|down|status|env`: the local mesh lab the tests and the
// demo run on (see lab/README in docs/lab.md).
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { refused } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { addExamples, addOutputOption, type OutputOptions } from '../options.js';

export function registerLabCommand(program: Command, ctx: CliContext): void {
  const lab = program.command('lab').description('run the local mesh lab: Kubernetes (KWOK), Istio, traffic, Prometheus, Temporal on 127.0.0.1');
  addExamples(lab, ['istio-canary lab up', 'eval "$(istio-canary lab env)"', 'istio-canary lab status', 'istio-canary lab down']);

  const up = lab.command('up').description('build what is missing (cached), start everything, install the baseline mesh and the demo fleet');
  addOutputOption(up);
  up.action(async (options: OutputOptions) => {
    const { labUp } = await loadLab();
    const info = await labUp();
    const human = [
      'the lab is up:',
      `  kubeconfig       ${info.kubeconfig}`,
      `  Prometheus       ${info.prometheusUrl}`,
      `  Temporal         ${info.temporalAddress}   UI ${info.temporalUiUrl}`,
      `  Istio            ${info.versions.oldVersion} (revision ${info.versions.oldRevision}); istioctl ${info.istioctl} is ${info.versions.newVersion}`,
      'point your shell at it:  eval "$(istio-canary lab env)"',
      'stop it:                 istio-canary lab down',
    ].join('\n');
    ctx.emit({ data: info, human }, options.output);
  });

  const down = lab.command('down').description('stop every lab process (by pid) and remove the lab state');
  down.action(async () => {
    const { labDown } = await loadLab();
    await labDown();
  });

  const status = lab.command('status').description('what runs, where');
  addOutputOption(status);
  status.action(async (options: OutputOptions) => {
    const { labStatus } = await loadLab();
    const rows = await labStatus();
    const human = rows.map((r) => `${r.running ? 'up  ' : 'down'}  ${r.component.padEnd(11)} ${r.detail}`).join('\n');
    const core = rows.filter((r) => r.component !== 'worker');
    ctx.emit({ data: rows, human, ...(core.every((r) => r.running) ? {} : { exitCode: ExitCode.Refused }) }, options.output);
  });

  const env = lab.command('env').description('print shell exports for the lab (KUBECONFIG, TEMPORAL_ADDRESS, PATH, ...)');
  env.action(async () => {
    const { labEnv, labInfo } = await loadLab();
    const lines = Object.entries(labEnv(labInfo())).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
    ctx.io.stdout(`${lines.join('\n')}\n`);
  });
}

/** The lab is development tooling: the npm package leaves it out (package.json "files"). */
async function loadLab(): Promise<typeof import('../../lab/lab.js')> {
  try {
    return await import('../../lab/lab.js');
  } catch (err) {
    if (/Cannot find module '[^']*\/lab\/lab\.js'/.test((err as Error).message)) {
      throw refused('the lab runs from a checkout of istio-canary (npm run demo), not from the installed package');
    }
    throw err;
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
