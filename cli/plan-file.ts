// Reads and validates a plan file. Used by `plan` and by `start`, which refuses
// to start anything the validator rejects.
import { readFile, stat } from 'node:fs/promises';
import { parsePlan } from '../plan/index.js';
import type { PlanResult } from '../plan/types.js';
import { CliError, refused } from './errors.js';

/**
 * A real plan is a few kilobytes. The resolved plan travels in the workflow's input,
 * which Temporal caps at 2 MiB per payload, and a file far beyond this is a wrong path
 * (a log, a binary) that would only be slow to parse into a confusing error.
 */
export const MAX_PLAN_BYTES = 1024 * 1024;

export async function readPlanFile(file: string): Promise<PlanResult> {
  let text: string;
  try {
    const { size } = await stat(file);
    if (size > MAX_PLAN_BYTES) throw refused(`cannot read plan ${file}: it is ${size} bytes, more than a plan's 1 MiB`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw refused(`cannot read plan ${file}: ${reason}`);
  }
  return parsePlan(text);
}
