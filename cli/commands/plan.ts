// `istio-canary plan -f plan.yaml`: validate a plan and print its steps, with no server.
import type { Command } from 'commander';
import { describePlan } from '../../plan/index.js';
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
  command.action(async (options: PlanOptions) => ctx.emit(await validatePlanFile(options.file), options.output));
}

export async function validatePlanFile(file: string): Promise<CommandOutput> {
  const result = await readPlanFile(file);
  if (!result.ok) {
    return { data: { file, valid: false, errors: result.errors }, human: renderPlanErrors(file, result.errors), exitCode: ExitCode.Refused };
  }
  return { data: { file, valid: true, plan: result.plan, steps: describePlan(result.plan) }, human: renderValidPlan(file, result.plan) };
}
