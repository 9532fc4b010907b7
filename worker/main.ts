// The worker: runs the upgrade workflow and its activities on TASK_QUEUE.
// Stops gracefully on SIGINT/SIGTERM: the SDK Runtime's default shutdownSignals
// make worker.run() stop polling, let in-flight activities finish (or time out)
// and return, and an upgrade in progress simply continues on the next worker.
import { DefaultLogger, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { loadActivitiesConfig } from '../activities/config.js';
import { TASK_QUEUE } from '../workflows/messages.js';
import { bundleUpgradeWorkflows } from './bundle.js';
import { maxCachedWorkflows } from './cache.js';
import { connectTemporal, loadTemporalTarget } from './connection.js';
import { enableWorkerMetrics, metricsAddress } from './metrics.js';

export interface RunWorkerOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the readiness line goes. */
  log?: (line: string) => void;
  /** `ip:port` for /metrics; default ISTIO_CANARY_METRICS_ADDRESS; neither: no endpoint. */
  metricsAddress?: string;
}

export async function runWorker(options: RunWorkerOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const target = loadTemporalTarget(env);
  // Check the configuration and connect before bundling, so a bad setting or an
  // unreachable server is reported at once.
  const metricsAt = metricsAddress(options.metricsAddress, env);
  const cachedWorkflows = maxCachedWorkflows(env);
  const activities = createActivities(loadActivitiesConfig(env));
  // The SDK runtime (which serves /metrics) must exist before the first connection.
  const metrics = metricsAt ? enableWorkerMetrics(metricsAt) : undefined;
  const connection = await connectTemporal(target);
  try {
    const worker = await Worker.create({
      connection,
      namespace: target.namespace,
      taskQueue: TASK_QUEUE,
      // Webpack's module listing is noise for an operator; warnings and errors still show.
      workflowBundle: await bundleUpgradeWorkflows({ logger: new DefaultLogger('WARN') }),
      activities,
      // Bounded: the SDK's default follows the heap limit (thousands), not the work this worker runs.
      maxCachedWorkflows: cachedWorkflows,
      ...(metrics ? { interceptors: metrics.interceptors } : {}),
    });
    metrics?.watchUpgrades(connection, target.namespace, log);
    // run() registers its shutdown callback before its first await: a SIGTERM
    // right after the ready line then stops the worker instead of being lost.
    const running = worker.run();
    log(`worker ready: polling task queue ${TASK_QUEUE} at ${target.address} (namespace ${target.namespace})${metrics ? `; metrics on http://${metrics.address}/metrics` : ''}`);
    await running;
    log('worker stopped');
  } finally {
    await metrics?.stop();
    await connection.close();
  }
}
