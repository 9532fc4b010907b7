// The benchmark's upgrade plan for a fleet of n uniform namespaces (lab/fleet.ts
// scaleFleet): a one-namespace canary, then an "early" wave of a fifth of the
// rest and a "rest" wave, each in batches of at most BATCH_NAMESPACES that roll
// out together. Soaks are short on purpose: the shorter the physics, the more
// any orchestration overhead shows in the ratio.
import type { LabInfo } from '../lab/lab.js';
import { batches } from '../plan/waves.js';

export interface BenchStages {
  canary: string[];
  early: string[];
  rest: string[];
}

export const SOAK_SECONDS = 20;
export const GATE_INTERVAL_SECONDS = 5;
export const GATE_WINDOW_SECONDS = 15;
/**
 * Namespaces restarted at once (a wave's maxParallel). The lab's
 * controller-manager (client QPS 20) rolled out 39 namespaces (312 pods) in
 * about 115 s; 159 at once left Deployments past their 120 s progress deadline,
 * and the run rightly rolled back. A platform team batches the same way.
 */
export const BATCH_NAMESPACES = 40;

/** The batches of each sequential stage, in order: what rolls out together. */
export function stageBatches(stages: BenchStages): string[][][] {
  return [stages.canary, stages.early, stages.rest].filter((s) => s.length).map((s) => batches(s, BATCH_NAMESPACES));
}

export function benchStages(names: string[]): BenchStages {
  const [canary, ...others] = names;
  if (!canary) throw new Error('a benchmark needs at least one namespace');
  const early = others.slice(0, Math.ceil(others.length / 5));
  return { canary: [canary], early, rest: others.slice(early.length) };
}

export function benchPlan(info: LabInfo, stages: BenchStages, cluster: string): string {
  const wave = (name: string, namespaces: string[]) =>
    namespaces.length
      ? `    - name: ${name}
      namespaces: [${namespaces.join(', ')}]
      maxParallel: ${Math.min(namespaces.length, BATCH_NAMESPACES)}
      soak: ${SOAK_SECONDS}s
`
      : '';
  return `apiVersion: istio-canary/v1
kind: UpgradePlan
metadata:
  name: bench-${stages.canary.length + stages.early.length + stages.rest.length}
spec:
  cluster: ${cluster}
  target: { version: "${info.versions.newVersion}", istioctl: "${info.istioctl}", overlay: "${info.targetOverlay}" }
  source: { revision: ${info.versions.oldRevision} }
  canary:
    namespaces: [${stages.canary.join(', ')}]
    soak: ${SOAK_SECONDS}s
  waves:
${wave('early', stages.early)}${wave('rest', stages.rest)}  gateways:
    enabled: false
  gates:
    interval: ${GATE_INTERVAL_SECONDS}s
    window: ${GATE_WINDOW_SECONDS}s
    failureLimit: 2
    inconclusiveLimit: 3
    onInconclusive: rollback
    metrics:
      - name: error-rate
        type: errorRate
        max: 0.01
        minRequests: 20
  approval:
    beforePromotion: none
  rollout:
    kinds: [Deployment]
    progressDeadline: 5m
  finalize:
    moveTags: []
    uninstallOld: false
  rollback:
    uninstallCanary: true
  prometheus:
    url: ${info.prometheusUrl}
`;
}
