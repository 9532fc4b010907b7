// The exit code of a finished upgrade: only a completed one is a success.
import type { Phase } from '../workflows/messages.js';
import { ExitCode } from './exit-codes.js';

export function exitCodeForOutcome(phase: Phase): ExitCode {
  return phase === 'completed' ? ExitCode.Done : ExitCode.Refused;
}
