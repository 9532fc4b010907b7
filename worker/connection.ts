// Where the Temporal server is and how to reach it. Settings come from the
// standard Temporal environment/profile configuration (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_TLS*, TEMPORAL_API_KEY, TEMPORAL_PROFILE and the
// TOML profile file the `temporal` CLI also reads), so the CLI and the worker
// always point at the same server.
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';

/** The dev server's address: what a laptop runs when nothing is configured. */
export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
}

/** Raised when the configuration itself cannot be read (bad profile file, unknown profile). */
export class TemporalConfigError extends Error {
  override name = 'TemporalConfigError';
}

/** Raised when the server cannot be reached; the message is one line meant for an operator. */
export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
  constructor(
    readonly target: Pick<TemporalTarget, 'address' | 'namespace'>,
    readonly reason: string,
  ) {
    super(`cannot reach Temporal at ${target.address} (namespace ${target.namespace}): ${reason}`);
  }
}

export function loadTemporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  let config;
  try {
    config = loadClientConnectConfig({ overrideEnvVars: definedOnly(env) });
  } catch (err) {
    throw new TemporalConfigError(`invalid Temporal client configuration: ${firstLine(err)}`);
  }
  const address = config.connectionOptions.address ?? DEFAULT_ADDRESS;
  return {
    address,
    namespace: config.namespace ?? DEFAULT_NAMESPACE,
    connectionOptions: { ...config.connectionOptions, address },
  };
}

/**
 * Opens a connection through the SDK's native (Rust) client. Unlike the pure-JS
 * gRPC client, which reports a refused port only as a generic deadline after
 * 10 s, it fails at once and says why.
 */
export async function connectTemporal(target: TemporalTarget): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(target.connectionOptions);
  } catch (err) {
    throw new TemporalUnreachableError(target, summarizeConnectError(err));
  }
}

/**
 * Turns a transport error into a short reason. The native client's messages are
 * Rust debug dumps such as
 * `tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))`;
 * the OS message inside is what an operator needs.
 */
export function summarizeConnectError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const osMessage = /message: \\?"([^"\\]+)\\?"/.exec(text)?.[1];
  if (osMessage) return lowerFirst(osMessage);
  if (/dns error|failed to lookup address/i.test(text)) return 'unknown host';
  if (/deadline|timed? ?out/i.test(text)) return 'timed out';
  if (/certificate|tls|handshake/i.test(text)) return `TLS failure (${firstLine(text)})`;
  return firstLine(text);
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]?.trim() ?? '';
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
