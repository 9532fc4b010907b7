// Helpers for tests that call the real activities directly: a real activity
// context to run them in, the failure they threw, and polling for the cluster
// to reach a state.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';

/** Runs an activity function in a real activity context; collects its heartbeats. */
export async function runActivity<I, R>(fn: (input: I) => Promise<R>, input: I, heartbeats: unknown[] = []): Promise<R> {
  // Failures are what several tests expect: keep the SDK's "Activity failed" warnings out of the output.
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return env.run(fn, input);
}

/** The failure an activity threw, for assertions on its type and retryability. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(error)}`);
  return error;
}

/** Polls `probe` until it returns a value; fails naming what never happened and the last error. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
