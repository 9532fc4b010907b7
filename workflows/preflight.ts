// Step 1: check everything the upgrade depends on before anything changes.
// Any failure here ends the run as 'failed' with the cluster untouched: a check
// that cannot run at all (istioctl missing, API server gone) counts as failed
// too, since there is nothing to roll back and no reason to pretend there was.
import { ActivityFailure, isCancellation } from '@temporalio/workflow';
import { batches, resolveWaveNamespaces } from '../plan/waves.js';
import { detectSourceRevision, effectiveRevision } from '../mesh/revisions.js';
import { evaluateSample } from '../gates/verdict.js';
import type { MeshState } from '../activities/contract.js';
import { call, ISTIOCTL_CALL, METRICS_CALL, PREFLIGHT_CALL } from './activities.js';
import { checkNotificationTargets } from './notify.js';
import type { Run } from './run.js';
import { UpgradeStopped } from './run.js';

export interface WavePlan {
  name: string;
  batches: string[][];
  soakMs: number;
  approval: 'required' | 'none';
}

export interface PreflightResult {
  sourceRevision: string;
  meshBefore: MeshState;
  waves: WavePlan[];
}

export async function preflight(run: Pick<Run, 'plan' | 'state'>): Promise<PreflightResult> {
  try {
    return await checkEverything(run);
  } catch (err) {
    if (err instanceof ActivityFailure && !isCancellation(err)) {
      throw new UpgradeStopped('preflight', `${run.state.status.step}: ${innermostMessage(err)}`);
    }
    throw err;
  }
}

function innermostMessage(err: Error): string {
  let message = err.message;
  for (let cause: unknown = err.cause; cause instanceof Error; cause = cause.cause) message = cause.message || message;
  return message;
}

async function checkEverything(run: Pick<Run, 'plan' | 'state'>): Promise<PreflightResult> {
  const { plan, state } = run;
  const fail = (message: string): never => {
    throw new UpgradeStopped('preflight', message);
  };

  await checkNotificationTargets(run);

  // The independent reads run together; their verdicts are then taken in the
  // runbook's order, so the first problem reported is the one it would meet first.
  state.setStep('checking the cluster, istioctl, the plan namespaces and Prometheus');
  const explicit = [...plan.canary.namespaces, ...plan.waves.flatMap((w) => w.namespaces ?? [])];
  const [cluster, istioctl, missingNamespaces, selected, prometheus, precheck] = await Promise.allSettled([
    call('checkCluster', PREFLIGHT_CALL, 'Check the Kubernetes API server is reachable'),
    call('istioctlVersion', ISTIOCTL_CALL, `Check istioctl ${plan.target.istioctl} is ${plan.target.version}`, { istioctl: plan.target.istioctl }),
    call('findMissingNamespaces', PREFLIGHT_CALL, `Check ${explicit.length} plan namespaces exist`, { namespaces: explicit }),
    // Selectors are resolved once, now, so the whole run is known (and shown) from the start.
    Promise.all(
      plan.waves.map((wave) =>
        wave.selector
          ? call('listNamespaces', PREFLIGHT_CALL, `Resolve wave ${wave.name}: namespaces matching ${wave.selector}`, { selector: wave.selector })
          : Promise.resolve(undefined),
      ),
    ),
    call('checkPrometheus', METRICS_CALL, `Check Prometheus at ${plan.prometheus.url} answers`, { url: plan.prometheus.url }),
    call('istioctlPrecheck', ISTIOCTL_CALL, `istioctl x precheck for revision ${plan.target.revision}`, {
      istioctl: plan.target.istioctl,
      revision: plan.target.revision,
    }),
  ]);
  /** A check that could not run: the step it names is what the preflight failure reports. */
  const settled = <T>(result: PromiseSettledResult<T>, step: string): T => {
    if (result.status === 'fulfilled') return result.value;
    state.setStep(step);
    throw result.reason;
  };

  settled(cluster, 'checking the cluster');
  const { clientVersion } = settled(istioctl, `spec.target.istioctl: checking ${plan.target.istioctl}`);
  if (clientVersion !== plan.target.version) {
    fail(`spec.target.istioctl: ${plan.target.istioctl} is istioctl ${clientVersion}, the plan targets ${plan.target.version}`);
  }
  const missing = settled(missingNamespaces, 'checking the plan namespaces exist');
  if (missing.length) {
    fail(`namespaces in the plan do not exist: ${missing.map((ns) => `${ns} (${namespaceField(plan, ns)})`).join(', ')}`);
  }

  const assigned = [...plan.canary.namespaces];
  const waves: WavePlan[] = [];
  const matchesPerWave = settled(selected, 'resolving the waves\' namespace selectors');
  plan.waves.forEach((wave, i) => {
    const { namespaces } = resolveWaveNamespaces(wave, matchesPerWave[i], assigned);
    assigned.push(...namespaces);
    waves.push({ name: wave.name, batches: batches(namespaces, wave.maxParallel), soakMs: wave.soakMs, approval: wave.approval });
  });

  state.setStep('detecting installed revisions and namespace labels');
  const mesh = await call('detectMeshState', PREFLIGHT_CALL, `Detect istiod revisions, tags and labels of ${assigned.length} namespaces`, {
    namespaces: assigned,
  });
  const installed = mesh.revisions.map((r) => r.revision);
  const source = detectSourceRevision(plan.source.revision, installed, mesh.tags);
  if ('error' in source) return fail(source.error);
  if (source.revision === plan.target.revision) {
    fail(`spec.target.revision: ${plan.target.revision} is the revision the mesh already runs`);
  }
  const sourceRev = mesh.revisions.find((r) => r.revision === source.revision);
  if (sourceRev && !sourceRev.ready) fail(`istiod of the source revision ${source.revision} is not Ready; fix the mesh before upgrading it`);

  const notInjected: string[] = [];
  for (const ns of mesh.namespaces) {
    const revision = effectiveRevision(ns.labels, mesh.tags);
    if (!revision) notInjected.push(ns.name);
  }
  if (notInjected.length) {
    fail(`namespaces without sidecar injection cannot be migrated (no istio-injection or istio.io/rev label): ${notInjected.join(', ')}`);
  }

  settled(prometheus, `checking Prometheus at ${plan.prometheus.url}`);

  // The gates can only protect the canary if its namespaces carry traffic now.
  const baseline = await call('measureGate', METRICS_CALL, `Baseline traffic in ${plan.canary.namespaces.join(', ')}`, {
    prometheusUrl: plan.prometheus.url,
    namespaces: plan.canary.namespaces,
    revision: source.revision,
    windowMs: plan.gates.windowMs,
    metrics: plan.gates.metrics.filter((m) => m.type !== 'xdsRejects'),
  });
  const unjudgeable = plan.gates.metrics
    .filter((m) => m.type !== 'xdsRejects')
    .map((m) => evaluateSample(m, baseline.find((s) => s.metric === m.name) ?? { metric: m.name, query: '', value: null, requests: null }))
    .filter((m) => m.phase !== 'pass');
  if (unjudgeable.length) {
    const why = unjudgeable.map((m) => `${m.metric} ${m.phase}: ${m.reason}`).join('; ');
    fail(`the canary namespaces must pass their gates on ${source.revision} before the upgrade starts: ${why}`);
  }

  settled(precheck, 'istioctl x precheck');

  return { sourceRevision: source.revision, meshBefore: mesh, waves };
}

/** Where the plan names `namespace`, as a field path: `spec.waves[1].namespaces[0]`. */
function namespaceField(plan: Run['plan'], namespace: string): string {
  const inCanary = plan.canary.namespaces.indexOf(namespace);
  if (inCanary >= 0) return `spec.canary.namespaces[${inCanary}]`;
  for (const [i, wave] of plan.waves.entries()) {
    const at = wave.namespaces?.indexOf(namespace) ?? -1;
    if (at >= 0) return `spec.waves[${i}].namespaces[${at}]`;
  }
  return 'spec';
}
