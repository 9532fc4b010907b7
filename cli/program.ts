// The `istio-canary` command tree, and the one place that turns a command's
// outcome (result, refusal, crash) into printed lines and an exit code.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAbortCommand } from './commands/abort.js';
import { registerBackupCommand, registerRestoreCommand } from './commands/backup.js';
import { registerApproveCommand } from './commands/approve.js';
import { registerLabCommand } from './commands/lab.js';
import { registerListCommand } from './commands/list.js';
import { registerPauseCommand } from './commands/pause.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerRejectCommand } from './commands/reject.js';
import { registerResumeCommand } from './commands/resume.js';
import { registerSchemaCommand } from './commands/schema.js';
import { registerStartCommand } from './commands/start.js';
import { registerStatusCommand } from './commands/status.js';
import { registerWatchCommand } from './commands/watch.js';
import { registerWorkerCommand } from './commands/worker.js';
import { CliContext, type CliIo } from './context.js';
import { explainError } from './errors.js';
import { ExitCode } from './exit-codes.js';

const ENVIRONMENT_HELP = `
Temporal connection (the same settings the temporal CLI reads):
  TEMPORAL_ADDRESS     server host:port (default 127.0.0.1:7233)
  TEMPORAL_NAMESPACE   namespace (default "default")
  TEMPORAL_API_KEY     API key (turns TLS on)
  TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, ...
  TEMPORAL_PROFILE     profile in TEMPORAL_CONFIG_FILE (default ~/.config/temporalio/temporal.toml)

Exit codes: 0 done, 1 crashed or Temporal unreachable, 2 refused input or a failed upgrade.

Examples:
  $ istio-canary plan -f plan.yaml
  $ istio-canary start -f plan.yaml && istio-canary watch prod-eu
  $ istio-canary approve prod-eu --reason "canary clean"
`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('istio-canary')
    .description('Istio control-plane canary upgrades as durable Temporal workflows')
    .version(packageVersion(), '-V, --version')
    // Settings below are inherited by every subcommand created afterwards.
    .exitOverride()
    .configureOutput({ writeOut: (text) => ctx.io.stdout(text), writeErr: (text) => ctx.io.stderr(text) })
    .showHelpAfterError('(add --help for usage and examples)')
    .addHelpText('after', ENVIRONMENT_HELP);

  for (const register of [
    registerPlanCommand,
    registerSchemaCommand,
    registerStartCommand,
    registerStatusCommand,
    registerWatchCommand,
    registerApproveCommand,
    registerRejectCommand,
    registerAbortCommand,
    registerPauseCommand,
    registerResumeCommand,
    registerListCommand,
    registerBackupCommand,
    registerRestoreCommand,
    registerWorkerCommand,
    registerLabCommand,
  ]) {
    register(program, ctx);
  }
  return program;
}

/** Runs one command line (argv as in process.argv) and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const ctx = new CliContext(io);
  try {
    await buildProgram(ctx).parseAsync([...argv]);
    return ctx.exitCode;
  } catch (err) {
    // Usage errors were already printed by commander; help and --version exit 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Done : ExitCode.Refused;
    const { line, exitCode } = explainError(err, ctx.temporalTarget());
    io.stderr(`${line}\n`);
    if (io.env.ISTIO_CANARY_DEBUG && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
    return exitCode;
  } finally {
    await ctx.close();
  }
}

function packageVersion(): string {
  // package.json sits one level up from cli/ when run from source, two from dist/cli/.
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'istio-canary' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}
