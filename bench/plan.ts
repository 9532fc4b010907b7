// The benchmark's upgrade plan for a fleet of n uniform namespaces (lab/fleet.ts
// scaleFleet): a one-namespace canary, then an "early" wave of a fifth of the
// rest and a "rest" wave, every wave in one batch (maxParallel = its size) so
// each stage's namespaces roll out together. Soaks are short on purpose: the
// shorter the physics, the more any orchestration overhead shows in the ratio.
import type { LabInfo } from '../lab/lab.js';

export interface BenchStages {
  canary: string[];
  early: string[];
  rest: string[];
}

export const SOAK_SECONDS = 20;
export const GATE_INTERVAL_SECONDS = 5;
export const GATE_WINDOW_SECONDS = 15;

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
      maxParallel: ${namespaces.length}
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
