// Options and help text shared by several commands, so they read the same everywhere.
import { Option, type Command } from 'commander';
import { userInfo } from 'node:os';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';

export interface OutputOptions {
  output: OutputFormat;
}

/** Which upgrade a command acts on: a cluster name, or an explicit workflow id. */
export interface TargetOptions {
  id?: string;
}

export interface ActorOptions {
  by?: string;
  reason?: string;
}

export function addOutputOption(command: Command): Command {
  return command.addOption(
    new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('human'),
  );
}

/** `[cluster]` plus `--id`: with neither, the only running upgrade is used. */
export function addTargetArguments(command: Command): Command {
  return command
    .argument('[cluster]', 'cluster whose upgrade to act on (default: the only running upgrade)')
    .option('--id <workflowId>', 'workflow id of the upgrade, instead of a cluster name');
}

export function addActorOptions(command: Command): Command {
  return command
    .option('--by <name>', 'who is deciding, for the audit trail (default: $USER)')
    .option('--reason <text>', 'why, for the audit trail');
}

export function addExamples(command: Command, examples: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((example) => `  $ ${example}`).join('\n')}\n`);
}

/** The operator's name for the audit trail: --by, else $USER, else the OS account. */
export function actorName(by: string | undefined, env: NodeJS.ProcessEnv): string {
  if (by?.trim()) return by.trim();
  if (env.USER?.trim()) return env.USER.trim();
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
