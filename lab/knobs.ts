// Fault knobs for tests, the demo and benchmarks: break the lab on purpose.
//
//   neverReady(paths, ns, deploy)          its new pods run but never become Ready (a stalled rollout)
//   slowStart(paths, ns, deploy, '20s')    its new pods become Ready only that long after they run
//   clearPodKnobs(paths, ns, deploy)       back to normal pods (rolls the Deployment again)
//   setFault(info, version, profile?)      proxies of that Istio version serve errors/latency
//   clearFault(info, version)              that version back on the healthy profile
//
// The pod knobs set a label on the Deployment's pod template, so they take
// effect through a rollout, exactly as a bad release would: the KWOK stages in
// lab/stages.ts decide what happens to pods carrying the label. The traffic
// knobs call the traffic simulator's control API (lab/traffic/README.md) on
// 127.0.0.1.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_NAME, kubectl } from './cluster.js';
import type { LabInfo } from './lab.js';
import type { LabPaths } from './paths.js';
import { NEVER_READY_LABEL, SLOW_START_LABEL } from './stages.js';
import { FAULTY_PROFILE, type FaultProfile } from './traffic/profiles.js';
import type { FaultsView } from './traffic/simulator.js';

export { NEVER_READY_LABEL, SLOW_START_LABEL } from './stages.js';

const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** A Go duration that is also a label value: "20s", "1m30s", "1500ms". */
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

function requireName(kind: 'namespace' | 'Deployment', name: string): string {
  const ok = kind === 'namespace' ? DNS1123_LABEL.test(name) : name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
  if (!ok) throw new Error(`${kind} ${JSON.stringify(name)} is not a valid name`);
  return name;
}

/** The kwok-controller config kwokctl wrote for this lab's cluster. */
function kwokConfigFile(paths: LabPaths): string {
  return join(paths.kwokWorkdir, 'clusters', CLUSTER_NAME, 'kwok.yaml');
}

/**
 * Fails unless the lab's kwok-controller runs with the knob stages: a lab created
 * before they existed would quietly make every pod Ready. Recreate it then.
 */
export function assertKnobStages(paths: LabPaths): void {
  let config: string;
  try {
    config = readFileSync(kwokConfigFile(paths), 'utf8');
  } catch {
    throw new Error(`no kwok config at ${kwokConfigFile(paths)}: is the lab at ${paths.root} up?`);
  }
  for (const stage of ['lab-pod-never-ready', 'lab-pod-slow-start', 'lab-pod-slow-ready']) {
    if (!config.includes(`name: ${stage}`)) {
      throw new Error(`the lab at ${paths.root} was created without the fault-knob stage ${stage}; recreate it (lab down, lab up)`);
    }
  }
}

async function patchTemplateLabels(paths: LabPaths, namespace: string, deployments: string | string[], labels: Record<string, string | null>): Promise<void> {
  requireName('namespace', namespace);
  const names = (Array.isArray(deployments) ? deployments : [deployments]).map((name) => requireName('Deployment', name));
  const patch = JSON.stringify({ spec: { template: { metadata: { labels } } } });
  for (const name of names) {
    await kubectl(paths, ['patch', 'deployment', name, '-n', namespace, '--type', 'merge', '-p', patch]);
  }
}

/**
 * From now on the Deployment's pods start (Running) but never become Ready:
 * its rollout stalls, and the deployment controller eventually reports
 * ProgressDeadlineExceeded. Rolls the Deployment (the pod template changes).
 */
export async function neverReady(paths: LabPaths, namespace: string, deployments: string | string[]): Promise<void> {
  assertKnobStages(paths);
  await patchTemplateLabels(paths, namespace, deployments, { [NEVER_READY_LABEL]: 'true', [SLOW_START_LABEL]: null });
}

/**
 * From now on the Deployment's pods are Running but not Ready for `delay`
 * (milliseconds, or a Go duration such as "20s"), then Ready: a slow rollout
 * that still completes. Rolls the Deployment.
 */
export async function slowStart(paths: LabPaths, namespace: string, deployments: string | string[], delay: number | string = '20s'): Promise<void> {
  const value = typeof delay === 'number' ? `${Math.round(delay)}ms` : delay;
  if ((typeof delay === 'number' && !(Number.isFinite(delay) && delay >= 0)) || !GO_DURATION.test(value) || value.length > 63) {
    throw new Error(`slow-start delay ${JSON.stringify(delay)} must be milliseconds or a Go duration such as "20s"`);
  }
  assertKnobStages(paths);
  await patchTemplateLabels(paths, namespace, deployments, { [SLOW_START_LABEL]: value, [NEVER_READY_LABEL]: null });
}

/** Removes both pod knobs from the Deployment's pod template (a rollout to normal pods). */
export async function clearPodKnobs(paths: LabPaths, namespace: string, deployments: string | string[]): Promise<void> {
  await patchTemplateLabels(paths, namespace, deployments, { [NEVER_READY_LABEL]: null, [SLOW_START_LABEL]: null });
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
