// Detection and rollback of a faulty version: when Prometheus first saw the
// canary go bad, when the gate failed, and when every namespace was back.
import { scrapeIntervalSeconds } from '../lab/prometheus.js';
import type { UpgradeStatus } from '../workflows/messages.js';

export interface FaultTimes {
  firstBadScrapeAt: number;
  gateFailedAt: number;
  restoredAt: number;
  detectionMs: number;
  rollbackMs: number;
}

/**
 * The first scrape at which the canary namespace's 5xx share passes the gate's
 * own 1% threshold: a rate over the smallest window that holds two scrapes
 * (3 s at the lab's 1 s interval), evaluated every second.
 */
async function firstBadScrape(prometheusUrl: string, namespace: string, fromMs: number, toMs: number): Promise<number> {
  const scope = `reporter="destination",destination_workload_namespace="${namespace}"`;
  const window = `${Math.max(3, 2 * scrapeIntervalSeconds())}s`;
  const expr = `(sum(rate(istio_requests_total{${scope},response_code=~"5.."}[${window}])) or vector(0)) / sum(rate(istio_requests_total{${scope}}[${window}])) > 0.01`;
  const url = new URL('/api/v1/query_range', prometheusUrl);
  url.search = new URLSearchParams({ query: expr, start: String(fromMs / 1000), end: String(toMs / 1000), step: '1' }).toString();
  const body = (await (await fetch(url)).json()) as { data?: { result?: Array<{ values: Array<[number, string]> }> } };
  const first = body.data?.result?.[0]?.values?.[0]?.[0];
  if (first === undefined) throw new Error(`Prometheus never saw ${namespace} above 1% errors between the start and the gate failure`);
  return first * 1000;
}

export async function faultTimes(prometheusUrl: string, status: UpgradeStatus, canary: string, startedAt: number): Promise<FaultTimes> {
  const failed = status.decisions.find((d) => d.kind === 'gate' && d.reason.startsWith('failed'));
  if (!failed) throw new Error(`the faulty run has no failed gate (outcome ${status.result?.outcome}: ${status.result?.reason})`);
  const gateFailedAt = Date.parse(failed.at);
  const restored = status.namespaces.filter((n) => n.state === 'restored').map((n) => Date.parse(n.finishedAt!));
  const pending = status.namespaces.filter((n) => n.state !== 'restored' && n.state !== 'pending');
  if (pending.length) throw new Error(`not every namespace came back: ${pending.map((n) => `${n.name} ${n.state}`).join(', ')}`);
  const restoredAt = Math.max(gateFailedAt, ...restored);
  const firstBadScrapeAt = await firstBadScrape(prometheusUrl, canary, startedAt, gateFailedAt);
  return { firstBadScrapeAt, gateFailedAt, restoredAt, detectionMs: gateFailedAt - firstBadScrapeAt, rollbackMs: restoredAt - gateFailedAt };
}

/** Waits until Prometheus has a full gate window of traffic for the namespace (fresh pods take a while to be scraped). */
export async function waitForTraffic(prometheusUrl: string, namespace: string, windowSeconds: number, minRequests: number): Promise<void> {
  const expr = `sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="${namespace}"}[${windowSeconds}s]))`;
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const url = new URL('/api/v1/query', prometheusUrl);
    url.search = new URLSearchParams({ query: expr }).toString();
    const body = (await (await fetch(url)).json()) as { data?: { result?: Array<{ value: [number, string] }> } };
    if (Number(body.data?.result?.[0]?.value?.[1] ?? 0) >= minRequests) return;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  throw new Error(`no traffic from ${namespace} in Prometheus after 5 minutes`);
}
