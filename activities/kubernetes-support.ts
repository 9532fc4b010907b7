// What every Kubernetes adapter shares: turning API errors into failures that
// say what was being done (and whether retrying can help), the merge-patch
// request option, and heartbeats/sleeps that also work outside an activity
// (the `istio-canary backup`/`restore` commands call the same functions).

import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { PermanentErrors } from './contract.js';

/** Type of the retryable failure thrown for API errors that may pass (5xx, 429, refused connections). */
export const KUBERNETES_API_ERROR = 'KubernetesApiError';

/** Request options that send the body as a JSON merge patch (null deletes a key). */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Request options for server-side apply; the JSON body is valid YAML. */
export const SERVER_SIDE_APPLY = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export function httpStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export function isNotFound(error: unknown): boolean {
  return httpStatus(error) === 404;
}

/** The API server's own one-line explanation from a Status body, when there is one. */
function statusMessage(error: ApiException<unknown>): string {
  const body = error.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      return body.slice(0, 300);
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return `HTTP ${error.code}`;
}

/**
 * Runs one API call; on failure throws an ApplicationFailure naming `what`.
 * 400/422 (the server refuses the request itself) cannot pass by retrying;
 * everything else (5xx, 429, 409, 403, refused connections) is left to
 * Temporal's retry policy. Callers that expect a 404 catch it before this.
 */
export async function api<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw apiFailure(what, error);
  }
}

export function apiFailure(what: string, error: unknown): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof ApiException) {
    const message = `${what}: HTTP ${error.code}: ${statusMessage(error)}`;
    if (error.code === 400 || error.code === 422) {
      return ApplicationFailure.create({ message, type: PermanentErrors.InvalidInput, nonRetryable: true });
    }
    return ApplicationFailure.create({ message, type: KUBERNETES_API_ERROR, nonRetryable: false });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return ApplicationFailure.create({
    message: `${what}: ${reason}`,
    type: KUBERNETES_API_ERROR,
    nonRetryable: false,
    cause: error instanceof Error ? error : undefined,
  });
}

export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, PermanentErrors.InvalidInput);
}

export function namespaceNotFound(namespaces: string[]): ApplicationFailure {
  const list = namespaces.join(', ');
  return ApplicationFailure.nonRetryable(
    `namespace${namespaces.length === 1 ? '' : 's'} ${list} not found`,
    PermanentErrors.NamespaceNotFound,
    { namespaces },
  );
}

/** The running activity's context, or undefined when called outside a worker (CLI, scripts). */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function beat(details: unknown): void {
  activityContext()?.heartbeat(details);
}

/** Sleeps, throwing CancelledFailure as soon as the activity is cancelled. */
export async function pause(ms: number): Promise<void> {
  const context = activityContext();
  if (context) return context.sleep(ms);
  await new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** Details of the last heartbeat of a previous attempt of this activity, if any. */
export function previousHeartbeat(): unknown {
  return activityContext()?.info.heartbeatDetails;
}

/** The activity's cancellation signal (aborted on cancel or worker shutdown), when in an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}
