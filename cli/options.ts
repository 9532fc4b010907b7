// Options and help text shared by several commands, so they read the same everywhere.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { userInfo } from 'node:os';
import { DNS1123_LABEL_RULE, isDns1123Label } from '../plan/names.js';
import { actorProblem, reasonProblem } from '../workflows/operator-input.js';
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
    .argument('[cluster]', 'cluster whose upgrade to act on (default: the only running upgrade)', parseCluster)
    .option('--id <workflowId>', 'workflow id of the upgrade, instead of a cluster name', parseWorkflowId);
}

export function addActorOptions(command: Command): Command {
  return command
    .option('--by <name>', 'who is deciding, for the audit trail (default: $USER)', parseActor)
    .option('--reason <text>', 'why, for the audit trail', parseReason);
}

// Argument parsers: a bad value is refused by commander (exit 2, naming the option)
// before any connection is opened.

/** Cluster names become workflow ids and visibility queries: DNS-1123 labels, like spec.cluster. */
export function parseCluster(text: string): string {
  if (!isDns1123Label(text)) throw new InvalidArgumentError(`${DNS1123_LABEL_RULE} (as spec.cluster is)`);
  return text;
}

/** Temporal's default limit on workflow and run ids. */
const MAX_ID_LENGTH = 1000;

export function parseWorkflowId(text: string): string {
  if (text === '') throw new InvalidArgumentError('must not be empty');
  if (text.length > MAX_ID_LENGTH) throw new InvalidArgumentError(`must be at most ${MAX_ID_LENGTH} characters, got ${text.length}`);
  if (/[\s\u0000-\u001f\u007f]/.test(text)) throw new InvalidArgumentError('must not contain spaces or control characters');
  return text;
}

/** Run ids are UUIDs; anything else cannot name a run. */
export function parseRunId(text: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)) {
    throw new InvalidArgumentError('must be a run id (a UUID such as 0196a7b2-5a4e-7c1d-9f00-2b1f6c3d4e5f), as `list --all` shows');
  }
  return text;
}

export function parseActor(text: string): string {
  const problem = actorProblem(text);
  if (problem) throw new InvalidArgumentError(problem);
  return text;
}

export function parseReason(text: string): string {
  const problem = reasonProblem(text);
  if (problem) throw new InvalidArgumentError(problem);
  return text;
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
