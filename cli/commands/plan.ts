// `istio-canary plan -f plan.yaml`: validate a plan and print its steps, with no server.
import type { Command } from 'commander';
import { describePlan } from '../../plan/index.js';
import type { ResolvedPlan } from '../../plan/types.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { renderPlanErrors, renderValidPlan } from '../format/plan.js';
import { addExamples, addOutputOption, type OutputOptions } from '../options.js';
import type { CommandOutput } from '../output.js';
import { readPlanFile } from '../plan-file.js';

interface PlanOptions extends OutputOptions {
  file: string;
}

export function registerPlanCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('plan')
    .description('validate a plan file and print the steps the upgrade will run (needs no server)')
    .requiredOption('-f, --file <path>', 'plan file (YAML)');
  addOutputOption(command);
  addExamples(command, [
    'istio-canary plan -f plan.yaml',
    'istio-canary plan -f plan.yaml -o json | jq .plan.target',
  ]);
  command.action(async (options: PlanOptions) => ctx.emit((await checkPlanFile(options.file)).output, options.output));
}

export interface PlanCheck {
  /** What `plan` prints; `start` prints it too when it refuses the plan. */
  output: CommandOutput;
  /** Present only when the plan is valid. */
  plan?: ResolvedPlan;
}

export async function checkPlanFile(file: string): Promise<PlanCheck> {
  const result = await readPlanFile(file);
  if (!result.ok) {
    const output = { data: { file, valid: false, errors: result.errors }, human: renderPlanErrors(file, result.errors), exitCode: ExitCode.Refused };
    return { output };
  }
  const { plan } = result;
  return { plan, output: { data: { file, valid: true, plan, steps: describePlan(plan) }, human: renderValidPlan(file, plan) } };
}
