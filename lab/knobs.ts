// Fault knobs for tests, the demo and benchmarks: break the lab on purpose.
//
//   neverReady(paths, ns, deploy)          its new pods run but never become Ready (a stalled rollout)
//   slowStart(paths, ns, deploy, '20s')    its new pods become Ready only that long after they run
//   clearPodKnobs(paths, ns, deploy)       back to normal pods (rolls the Deployment again)
//   setFault(info, version, profile?)      proxies of that Istio version serve errors/latency
//   clearFault(info, version)              that version back on the healthy profile
//
// The pod knobs change the Deployment's pod template, so they take effect
// through a rollout, exactly as a bad release would, using only Kubernetes'
// own semantics: a never-ready workload's new pods ask for a node label no
// node has (they stay Pending, never Ready); a slow one gets minReadySeconds
// (its pods count as available only that long after they are Ready). A label
// on the pod template names the knob for whoever looks. The traffic knobs call
// the traffic simulator's control API (lab/traffic/README.md) on 127.0.0.1.

import { kubectl } from './cluster.js';
import type { LabInfo } from './lab.js';
import type { LabPaths } from './paths.js';
import { FAULTY_PROFILE, type FaultProfile } from './traffic/profiles.js';
import type { FaultsView } from './traffic/simulator.js';

export const NEVER_READY_LABEL = 'lab.istio-canary.io/never-ready';
export const SLOW_START_LABEL = 'lab.istio-canary.io/slow-start';

const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** A Go duration that is also a label value: "20s", "1m30s", "1500ms". */
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

function requireName(kind: 'namespace' | 'Deployment', name: string): string {
  const ok = kind === 'namespace' ? DNS1123_LABEL.test(name) : name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
  if (!ok) throw new Error(`${kind} ${JSON.stringify(name)} is not a valid name`);
  return name;
}

interface PodKnob {
  labels: Record<string, string | null>;
  /** null removes the knob's node selector. */
  nodeSelector: Record<string, string | null>;
  /** null restores the default (0). */
  minReadySeconds: number | null;
}

async function patchDeployments(paths: LabPaths, namespace: string, deployments: string | string[], knob: PodKnob): Promise<void> {
  requireName('namespace', namespace);
  const names = (Array.isArray(deployments) ? deployments : [deployments]).map((name) => requireName('Deployment', name));
  const patch = JSON.stringify({
    spec: { minReadySeconds: knob.minReadySeconds, template: { metadata: { labels: knob.labels }, spec: { nodeSelector: knob.nodeSelector } } },
  });
  for (const name of names) {
    await kubectl(paths, ['patch', 'deployment', name, '-n', namespace, '--type', 'merge', '-p', patch]);
  }
}

/**
 * From now on the Deployment's new pods never become Ready (they wait for a
 * node that never comes): its rollout stalls, old pods keep serving, and the
 * deployment controller eventually reports ProgressDeadlineExceeded.
 */
export async function neverReady(paths: LabPaths, namespace: string, deployments: string | string[]): Promise<void> {
  await patchDeployments(paths, namespace, deployments, {
    labels: { [NEVER_READY_LABEL]: 'true', [SLOW_START_LABEL]: null },
    nodeSelector: { [NEVER_READY_LABEL]: 'true' },
    minReadySeconds: null,
  });
}

/**
 * From now on each new pod of the Deployment counts as available only `delay`
 * (milliseconds, or a Go duration such as "20s") after it is Ready: a slow
 * rollout that still completes. Rolls the Deployment.
 */
export async function slowStart(paths: LabPaths, namespace: string, deployments: string | string[], delay: number | string = '20s'): Promise<void> {
  const value = typeof delay === 'number' ? `${Math.round(delay)}ms` : delay;
  if ((typeof delay === 'number' && !(Number.isFinite(delay) && delay >= 0)) || !GO_DURATION.test(value) || value.length > 63) {
    throw new Error(`slow-start delay ${JSON.stringify(delay)} must be milliseconds or a Go duration such as "20s"`);
  }
  const ms = typeof delay === 'number' ? delay : goDurationMs(value);
  await patchDeployments(paths, namespace, deployments, {
    labels: { [SLOW_START_LABEL]: value, [NEVER_READY_LABEL]: null },
    nodeSelector: { [NEVER_READY_LABEL]: null },
    minReadySeconds: Math.max(1, Math.ceil(ms / 1000)),
  });
}

/** Removes both pod knobs from the Deployment's pod template (a rollout to normal pods). */
export async function clearPodKnobs(paths: LabPaths, namespace: string, deployments: string | string[]): Promise<void> {
  await patchDeployments(paths, namespace, deployments, {
    labels: { [NEVER_READY_LABEL]: null, [SLOW_START_LABEL]: null },
    nodeSelector: { [NEVER_READY_LABEL]: null },
    minReadySeconds: null,
  });
}

function goDurationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return total;
}

// ---- traffic faults per proxy version ----

export type { FaultProfile } from './traffic/profiles.js';
export type { FaultsView } from './traffic/simulator.js';

type TrafficEndpoint = Pick<LabInfo, 'trafficUrl'>;

function faultsUrl(info: TrafficEndpoint, version?: string): string {
  const base = new URL(info.trafficUrl);
  // The lab's rule: loopback only.
  if (base.hostname !== '127.0.0.1' && base.hostname !== 'localhost' && base.hostname !== '[::1]') {
    throw new Error(`the traffic simulator must be on loopback, not ${base.hostname}`);
  }
  return new URL(version === undefined ? '/faults' : `/faults/${encodeURIComponent(version)}`, base).toString();
}

async function call(method: string, url: string, body?: unknown): Promise<Response> {
  const response = await fetch(url, {
    method,
    signal: AbortSignal.timeout(10_000),
    ...(body !== undefined && { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  if (!response.ok) {
    const text = (await response.text()).trim();
    let reason = text;
    try {
      reason = String((JSON.parse(text) as { error?: unknown }).error ?? text);
    } catch {
      // not JSON: keep the text
    }
    throw new Error(`${method} ${url}: HTTP ${response.status}: ${reason}`);
  }
  return response;
}

/**
 * Marks an Istio proxy version (e.g. "1.30.3", as in the proxy image tag) faulty
 * from now on: requests through its proxies fail at `profile.errorRate`, with
 * p99 `profile.latencyMs`, and its istiod reports `xdsRejectsPerMin`. Missing
 * fields take the simulator's default (healthy) profile. Returns the profile in force.
 */
export async function setFault(info: TrafficEndpoint, version: string, profile: Partial<FaultProfile> = FAULTY_PROFILE): Promise<FaultProfile> {
  const response = await call('PUT', faultsUrl(info, version), profile);
  const { version: _version, ...applied } = (await response.json()) as FaultProfile & { version: string };
  return applied;
}

/** Puts the version back on the default profile (a no-op when it was not marked). */
export async function clearFault(info: TrafficEndpoint, version: string): Promise<void> {
  await call('DELETE', faultsUrl(info, version));
}

/** The default profile and every version marked otherwise. */
export async function listFaults(info: TrafficEndpoint): Promise<FaultsView> {
  return (await (await call('GET', faultsUrl(info))).json()) as FaultsView;
}
