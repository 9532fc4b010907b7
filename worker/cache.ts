// How many workflows the worker keeps in memory between their tasks.
//
//   ISTIO_CANARY_MAX_CACHED_WORKFLOWS   workflows kept cached (default 250; 0 disables the cache)
//
// The SDK's default derives from V8's heap limit (about 2,400 with the 4 GB
// limit Node picks on a large machine), not from the work this worker runs, so
// it grows without a bound anyone chose. A cached workflow costs roughly 0.13 MB
// (one measurement, bench/worker-memory.ts: 400 workflows held, cache 1000 vs 50:
// 306 vs 260 MB).
// 250 holds a 200-namespace upgrade (one child workflow per namespace, plus the
// upgrade itself) with no evictions. A workflow that falls out of the cache is
// not lost: its next task replays its history from the server, which costs CPU
// (a child's ~35 events are cheap; the upgrade's own history is hundreds).

export const MAX_CACHED_WORKFLOWS_ENV = 'ISTIO_CANARY_MAX_CACHED_WORKFLOWS';
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

export class WorkerConfigError extends Error {
  override name = 'WorkerConfigError';
}

/** A whole number ≥ 0; the SDK silently turns 1 into 2, so 1 is refused here instead. */
export function maxCachedWorkflows(env: NodeJS.ProcessEnv): number {
  const raw = env[MAX_CACHED_WORKFLOWS_ENV]?.trim();
  if (!raw) return DEFAULT_MAX_CACHED_WORKFLOWS;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value === 1) {
    throw new WorkerConfigError(`${MAX_CACHED_WORKFLOWS_ENV} must be 0 (no cache) or a whole number of at least 2, got ${JSON.stringify(raw)}`);
  }
  return value;
}
