// Reads and validates a plan file. Used by `plan` and by `start`, which refuses
// to start anything the validator rejects.
import { readFile } from 'node:fs/promises';
import { parsePlan } from '../plan/index.js';
import type { PlanResult } from '../plan/types.js';
import { refused } from './errors.js';

export async function readPlanFile(file: string): Promise<PlanResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw refused(`cannot read plan ${file}: ${reason}`);
  }
  return parsePlan(text);
}
