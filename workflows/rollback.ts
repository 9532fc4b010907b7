// The saga's undo stack. After (or just before) each mutating step the workflow
// pushes the step that undoes it; rollback runs them in reverse. Undos pushed
// under the same group (one wave's namespaces) run in parallel, groups in reverse
// order. A failing undo is recorded and the rest still run: a half-done rollback
// that stops at the first error is worse than one that reports what it missed.
import { log } from '@temporalio/workflow';

interface Undo {
  label: string;
  group: string;
  run: () => Promise<void>;
}

export class RollbackStack {
  private readonly undos: Undo[] = [];

  push(group: string, label: string, run: () => Promise<void>): void {
    this.undos.push({ group, label, run });
  }

  get size(): number {
    return this.undos.length;
  }

  /** Runs every undo, newest group first; returns the errors, one line each. */
  async unwind(onStep: (label: string) => void): Promise<string[]> {
    const errors: string[] = [];
    while (this.undos.length) {
      const group = this.undos.at(-1)!.group;
      const batch: Undo[] = [];
      while (this.undos.length && this.undos.at(-1)!.group === group) batch.push(this.undos.pop()!);
      const results = await Promise.allSettled(
        batch.map(async (undo) => {
          onStep(undo.label);
          await undo.run();
        }),
      );
      results.forEach((result, i) => {
        if (result.status === 'rejected') {
          const message = `${batch[i]!.label}: ${errorMessage(result.reason)}`;
          log.error('rollback step failed', { step: batch[i]!.label, error: message });
          errors.push(message);
        }
      });
    }
    return errors;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
