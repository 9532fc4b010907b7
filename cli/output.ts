// A command's result: the data (printed as JSON for scripts) and the same thing
// rendered for people, built whole and printed once.
import type { ExitCode } from './exit-codes.js';

export type OutputFormat = 'human' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['human', 'json'];

export interface CommandOutput {
  data: unknown;
  human: string;
  /** Done (0) unless the command reports a refusal or a failed verdict. */
  exitCode?: ExitCode;
}

export function renderOutput(output: Pick<CommandOutput, 'data' | 'human'>, format: OutputFormat): string {
  const text = format === 'json' ? JSON.stringify(output.data, null, 2) : output.human;
  return text.endsWith('\n') ? text : `${text}\n`;
}
