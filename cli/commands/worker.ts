// `istio-canary worker`: run the Temporal worker that executes upgrades.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addExamples } from '../options.js';

export function registerWorkerCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('worker')
    .description('run the worker that executes upgrades (stops gracefully on SIGINT/SIGTERM)')
    .option('--metrics-address <ip:port>', 'serve Prometheus metrics on http://<ip:port>/metrics (default: $ISTIO_CANARY_METRICS_ADDRESS; neither: no endpoint)');
  addExamples(command, [
    'istio-canary worker',
    'TEMPORAL_ADDRESS=temporal.internal:7233 TEMPORAL_NAMESPACE=platform istio-canary worker',
    'TEMPORAL_PROFILE=prod istio-canary worker     # profile from ~/.config/temporalio/temporal.toml',
    'istio-canary worker --metrics-address 0.0.0.0:9464',
  ]);
  command.action(async (options: { metricsAddress?: string }) => {
    // Loaded on demand: the worker pulls in the activities (Kubernetes client,
    // execa, Prometheus) and the bundler, which no other command needs.
    const { runWorker } = await import('../../worker/main.js');
    await runWorker({ env: ctx.env, log: (line) => ctx.io.stdout(`${line}\n`), metricsAddress: options.metricsAddress });
  });
}
