// Every failure becomes one line for the operator and an exit code for scripts.
// Stack traces are for developers: ISTIO_CANARY_DEBUG=1 prints them.
import { ServiceError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import { TemporalConfigError, TemporalUnreachableError, type TemporalTarget } from '../worker/connection.js';
import { ExitCode } from './exit-codes.js';

/** An error whose message is already the line to print. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** Input, state or a verdict that refuses the request: retrying the same command will not help. */
export function refused(message: string): CliError {
  return new CliError(message, ExitCode.Refused);
}

export interface ExplainedError {
  line: string;
  exitCode: ExitCode;
}

type TargetRef = Pick<TemporalTarget, 'address' | 'namespace'>;

/** The worker's settings errors (activities/config.ts, worker/metrics.ts, worker/cache.ts): the message is the line. */
const CONFIG_ERRORS = new Set(['ActivitiesConfigError', 'MetricsAddressError', 'WorkerConfigError']);

export function explainError(err: unknown, target?: TargetRef): ExplainedError {
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode };
  if (err instanceof TemporalUnreachableError) return { line: err.message, exitCode: ExitCode.Crashed };
  if (err instanceof TemporalConfigError) return { line: err.message, exitCode: ExitCode.Refused };
  // Matched by name: importing activities/config.ts (or the worker's metrics) would load the Kubernetes client (or the SDK runtime) into every command.
  if (err instanceof Error && CONFIG_ERRORS.has(err.name)) return { line: err.message, exitCode: ExitCode.Refused };
  if (err instanceof NamespaceNotFoundError) {
    const where = target ? ` on Temporal at ${target.address}` : '';
    return { line: `namespace ${err.namespace} not found${where} (set TEMPORAL_NAMESPACE or the profile's namespace)`, exitCode: ExitCode.Refused };
  }
  const missingAttribute = unregisteredSearchAttribute(err);
  if (missingAttribute) {
    return {
      line:
        `search attribute ${missingAttribute} is not registered in namespace ${target?.namespace ?? 'default'}: ` +
        `temporal operator search-attribute create --name ${missingAttribute} --type Keyword`,
      exitCode: ExitCode.Crashed,
    };
  }
  if (err instanceof ServiceError && isUnavailable(err) && target) {
    return { line: new TemporalUnreachableError(target, rootMessage(err)).message, exitCode: ExitCode.Crashed };
  }
  return { line: `error: ${rootMessage(err)}`, exitCode: ExitCode.Crashed };
}

/** The innermost non-empty message, first line only: the SDK wraps the server's reason in generic text. */
export function rootMessage(err: unknown): string {
  let message = '';
  for (let current: unknown = err; current instanceof Error; current = current.cause) {
    if (current.message) message = current.message;
  }
  if (!message) message = err instanceof Error ? err.name : String(err);
  return (message.split('\n')[0] ?? '').trim();
}

function unregisteredSearchAttribute(err: unknown): string | undefined {
  return /no mapping defined for search attribute (\w+)/.exec(rootMessage(err))?.[1];
}

/** gRPC UNAVAILABLE (14): the connection dropped after it was opened. */
function isUnavailable(err: ServiceError): boolean {
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return code === 14;
}
