// Entry point of the `istio-canary` command (bin/istio-canary.js loads it).
import { runCli } from './program.js';

// `istio-canary status | head` closes the pipe early; that is the reader's choice, not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  });
}

main().catch((err: unknown) => {
  // runCli turns every expected failure into a line; reaching here is a bug.
  process.stderr.write(`istio-canary crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
