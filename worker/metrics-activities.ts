// istio_canary_activity_failures_total{activity_type,error_type}: every failed
// activity attempt, counted where it fails (a worker interceptor), so retries
// that end well still show up: an API server that keeps dropping calls is
// visible before an upgrade fails on it.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export const ACTIVITY_FAILURES = 'istio_canary_activity_failures_total';

/** The kind of a failure: the ApplicationFailure's type (e.g. IstioctlFailed), `Cancelled`, or the error's class name. */
export function errorKind(err: unknown): string {
  if (err instanceof CancelledFailure) return 'Cancelled';
  if (err instanceof ApplicationFailure && err.type) return err.type;
  if (err instanceof Error) return err.name || 'Error';
  return typeof err;
}

/** The factory for WorkerOptions.interceptors.activity. The context's meter adds activity_type, namespace and task_queue. */
export const countActivityFailures: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        ctx.metricMeter
          .createCounter(ACTIVITY_FAILURES, undefined, 'Failed activity attempts by activity and error type')
          .add(1, { error_type: errorKind(err) });
        throw err;
      }
    },
  },
});
