// What every command handler gets: where to write, the environment, and a
// Temporal client opened on first use (so `plan` never needs a server) and
// closed once the command is done.
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { connectTemporal, loadTemporalTarget, type TemporalTarget } from '../worker/connection.js';
import { ExitCode } from './exit-codes.js';
import { renderOutput, type CommandOutput, type OutputFormat } from './output.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export interface TemporalSession {
  target: TemporalTarget;
  connection: NativeConnection;
  client: Client;
}

export class CliContext {
  exitCode: ExitCode = ExitCode.Done;
  private target?: TemporalTarget;
  private session?: Promise<TemporalSession>;

  constructor(readonly io: CliIo) {}

  get env(): NodeJS.ProcessEnv {
    return this.io.env;
  }

  /** Address and namespace from the environment/profile; undefined if it cannot be read. */
  temporalTarget(): TemporalTarget | undefined {
    try {
      this.target ??= loadTemporalTarget(this.io.env);
      return this.target;
    } catch {
      return undefined;
    }
  }

  temporal(): Promise<TemporalSession> {
    this.session ??= (async () => {
      const target = (this.target ??= loadTemporalTarget(this.io.env));
      const connection = await connectTemporal(target);
      return { target, connection, client: new Client({ connection, namespace: target.namespace }) };
    })();
    return this.session;
  }

  /** Prints a command's result and keeps its exit code. */
  emit(output: CommandOutput, format: OutputFormat): void {
    this.io.stdout(renderOutput(output, format));
    if (output.exitCode !== undefined) this.exitCode = output.exitCode;
  }

  async close(): Promise<void> {
    const session = await this.session?.catch(() => undefined);
    await session?.connection.close();
  }
}
