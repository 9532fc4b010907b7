// The worker's memory settings: the workflow cache bound (worker/cache.ts) and
// the process settings a starter passes in (worker/memory.ts).
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_MAX_CACHED_WORKFLOWS, MAX_CACHED_WORKFLOWS_ENV, maxCachedWorkflows } from '../../worker/cache.js';
import { WORKER_MEMORY_ENV, withWorkerMemoryEnv } from '../../worker/memory.js';

describe(MAX_CACHED_WORKFLOWS_ENV, () => {
  it('defaults to a bound that holds a 200-namespace wave and its parent', () => {
    expect(maxCachedWorkflows({})).toBe(DEFAULT_MAX_CACHED_WORKFLOWS);
    expect(DEFAULT_MAX_CACHED_WORKFLOWS).toBeGreaterThan(201);
    expect(maxCachedWorkflows({ [MAX_CACHED_WORKFLOWS_ENV]: '  ' })).toBe(DEFAULT_MAX_CACHED_WORKFLOWS);
  });

  it('takes 0 (no cache) or a whole number of at least 2', () => {
    expect(maxCachedWorkflows({ [MAX_CACHED_WORKFLOWS_ENV]: '0' })).toBe(0);
    expect(maxCachedWorkflows({ [MAX_CACHED_WORKFLOWS_ENV]: '2' })).toBe(2);
    expect(maxCachedWorkflows({ [MAX_CACHED_WORKFLOWS_ENV]: '1000' })).toBe(1000);
  });

  it.each(['1', '-3', '2.5', 'abc', '1e3', '0x10'])('refuses %p with a line naming the variable', (raw) => {
    expect(() => maxCachedWorkflows({ [MAX_CACHED_WORKFLOWS_ENV]: raw })).toThrow(
      expect.objectContaining({ name: 'WorkerConfigError', message: expect.stringContaining(MAX_CACHED_WORKFLOWS_ENV) }),
    );
  });
});

describe('withWorkerMemoryEnv', () => {
  it('adds every setting to an environment that has none', () => {
    expect(withWorkerMemoryEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', ...WORKER_MEMORY_ENV });
  });

  it("keeps the caller's settings: its NODE_OPTIONS come last (and win), its malloc tunables stay", () => {
    const env = withWorkerMemoryEnv({ NODE_OPTIONS: '--max-semi-space-size=4 --enable-source-maps', MALLOC_ARENA_MAX: '4' });
    expect(env.NODE_OPTIONS).toBe(`${WORKER_MEMORY_ENV.NODE_OPTIONS} --max-semi-space-size=4 --enable-source-maps`);
    expect(env.MALLOC_ARENA_MAX).toBe('4');
    expect(env.MALLOC_TRIM_THRESHOLD_).toBe(WORKER_MEMORY_ENV.MALLOC_TRIM_THRESHOLD_);
  });
});
