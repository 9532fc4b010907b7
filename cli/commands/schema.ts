// `istio-canary schema`: the plan's JSON Schema, for editors that complete and check plan files.
// It comes from the same zod definition the validator uses (plan/json-schema.ts), so the two
// cannot drift; cross-field rules (unique namespaces, window >= interval, ...) still need `plan`.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { planJsonSchema } from '../../plan/json-schema.js';
import type { CliContext } from '../context.js';
import { refused } from '../errors.js';
import { addExamples } from '../options.js';

interface SchemaOptions {
  outFile?: string;
}

export function registerSchemaCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('schema')
    .description("print the plan's JSON Schema (draft 2020-12) for editor completion and checks (needs no server)")
    // Not `-o, --output`: every other command uses that for the output format.
    .option('--out-file <path>', 'write the schema to this file instead of stdout');
  addExamples(command, [
    'istio-canary schema > upgrade-plan.schema.json',
    'istio-canary schema --out-file .vscode/upgrade-plan.schema.json',
    '# then, first line of a plan file (yaml-language-server):',
    '#   # yaml-language-server: $schema=./upgrade-plan.schema.json',
  ]);
  command.action(async (options: SchemaOptions) => {
    const text = `${JSON.stringify(planJsonSchema(), null, 2)}\n`;
    if (options.outFile === undefined) {
      ctx.io.stdout(text);
      return;
    }
    const path = resolve(options.outFile);
    try {
      await writeFile(path, text);
    } catch (err) {
      throw refused(`cannot write the schema to ${path}: ${(err as Error).message}`);
    }
    ctx.io.stdout(`wrote the plan's JSON Schema to ${path}\n`);
  });
}
