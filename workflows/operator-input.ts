// What an operator's update (approve, reject, abort, pause, resume) may carry. The workflow's
// validators check it, and the CLI checks the same rules before it sends anything. Who and why
// stay in the audit trail for good and are shown in one-line tables, so both are bounded, single
// line, and a name is exactly what an approver allow-list compares. Pure: the sandbox imports it.

export const MAX_ACTOR_LENGTH = 128;
export const MAX_REASON_LENGTH = 1000;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why `by` cannot name who is acting, or undefined when it can. */
export function actorProblem(by: unknown): string | undefined {
  if (by === undefined || by === null || by === '') return 'must be given: who is acting, for the audit trail';
  if (typeof by !== 'string') return `must be a string, got ${describe(by)}`;
  if (!by.trim()) return 'must not be blank: who is acting, for the audit trail';
  if (by !== by.trim()) return 'must not start or end with spaces (approvers are compared exactly)';
  return textProblem(by, MAX_ACTOR_LENGTH);
}

/** Why `reason` cannot be recorded, or undefined when it can (leaving it out is fine). */
export function reasonProblem(reason: unknown): string | undefined {
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string') return `must be a string, got ${describe(reason)}`;
  if (!reason.trim()) return 'must not be blank; give a reason or leave it out';
  return textProblem(reason, MAX_REASON_LENGTH);
}

/**
 * Every problem with an update's argument, each as `field: reason`. Fields beyond the
 * update's own are refused: a misspelt `rolback` must not silently mean the default.
 */
export function updateInputProblems(input: unknown, extra: { rollback?: boolean } = {}): string[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return [`the update takes one object {by, reason${extra.rollback ? ', rollback' : ''}}, got ${describe(input)}`];
  }
  const record = input as Record<string, unknown>;
  const allowed = ['by', 'reason', ...(extra.rollback ? ['rollback'] : [])];
  const problems: string[] = [];
  const by = actorProblem(record.by);
  if (by) problems.push(`by: ${by}`);
  const reason = reasonProblem(record.reason);
  if (reason) problems.push(`reason: ${reason}`);
  if (extra.rollback && typeof record.rollback !== 'boolean') {
    problems.push(`rollback: must be true or false, got ${describe(record.rollback)}`);
  }
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) problems.push(`${key}: unknown field (allowed: ${allowed.join(', ')})`);
  }
  return problems;
}

function textProblem(text: string, max: number): string | undefined {
  if (text.length > max) return `must be at most ${max} characters, got ${text.length}`;
  if (CONTROL_CHARACTERS.test(text)) return 'must be one line without control characters (newlines, tabs, escapes)';
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `a string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
