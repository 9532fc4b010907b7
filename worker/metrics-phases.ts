// istio_canary_upgrades{cluster,phase}: how many upgrades run, by phase, read
// from Temporal visibility (the IstioCanaryPhase search attribute) every
// interval. Unlike a gauge set from workflow code, it is right from the first
// refresh after a worker (re)starts, and every replica reports the same value.
import { Client } from '@temporalio/client';
import type { MetricGauge, MetricMeter } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import { WORKFLOW_TYPE } from '../workflows/messages.js';
import { ClusterAttr, PhaseAttr } from '../workflows/search-attributes.js';

export const UPGRADES_GAUGE = 'istio_canary_upgrades';
export const RUNNING_UPGRADES_QUERY = `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
export const DEFAULT_REFRESH_MS = 15_000;

export interface UpgradeLabels {
  cluster: string;
  phase: string;
}

/** Counts per (cluster, phase); an upgrade without the attributes yet counts as `unknown`. */
export function countByPhase(upgrades: Iterable<Partial<UpgradeLabels>>): Map<string, { labels: UpgradeLabels; count: number }> {
  const counts = new Map<string, { labels: UpgradeLabels; count: number }>();
  for (const u of upgrades) {
    const labels = { cluster: u.cluster || 'unknown', phase: u.phase || 'unknown' };
    const key = `${labels.cluster}\u0000${labels.phase}`;
    const entry = counts.get(key) ?? { labels, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  return counts;
}

/**
 * The values to set this round: every counted series, and 0 for a series
 * reported before that has no upgrade now (a gauge keeps its last value).
 */
export function gaugeUpdates(
  previous: ReadonlyMap<string, UpgradeLabels>,
  counts: ReadonlyMap<string, { labels: UpgradeLabels; count: number }>,
): Array<{ labels: UpgradeLabels; value: number }> {
  const updates = [...counts.values()].map(({ labels, count }) => ({ labels, value: count }));
  for (const [key, labels] of previous) if (!counts.has(key)) updates.push({ labels, value: 0 });
  return updates;
}

export class UpgradePhaseGauge {
  private readonly gauge: MetricGauge;
  private readonly client: Client;
  private readonly reported = new Map<string, UpgradeLabels>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    meter: MetricMeter,
    connection: NativeConnection,
    namespace: string,
    private readonly onError: (message: string) => void,
    private readonly intervalMs = DEFAULT_REFRESH_MS,
  ) {
    this.gauge = meter.createGauge(UPGRADES_GAUGE, 'int', undefined, 'Running istio-canary upgrades by cluster and phase (from Temporal visibility)');
    this.client = new Client({ connection, namespace });
  }

  start(): void {
    const tick = () => {
      this.running = this.refresh().catch((err: unknown) => this.onError(`metrics: cannot count upgrades from Temporal visibility: ${err instanceof Error ? err.message : String(err)}`));
      void this.running.finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async refresh(): Promise<void> {
    const upgrades: Array<Partial<UpgradeLabels>> = [];
    for await (const execution of this.client.workflow.list({ query: RUNNING_UPGRADES_QUERY })) {
      const attrs = execution.typedSearchAttributes;
      upgrades.push({ cluster: attrs.get(ClusterAttr), phase: attrs.get(PhaseAttr) });
    }
    const counts = countByPhase(upgrades);
    for (const { labels, value } of gaugeUpdates(this.reported, counts)) this.gauge.set(value, { ...labels });
    for (const [key, { labels }] of counts) this.reported.set(key, labels);
  }
}
