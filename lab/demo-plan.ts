// The plan the demo (and the end-to-end tests) run in the lab: every namespace
// of the demo fleet, in a canary and two waves, with short soaks so a whole
// upgrade takes minutes. Pure text; the caller writes it.
import type { LabInfo } from './lab.js';

export interface DemoPlanOptions {
  cluster?: string;
  soak?: string;
  interval?: string;
  window?: string;
  approval?: 'required' | 'none';
  uninstallOldAfter?: string;
  overlay: string;
}

export function demoPlan(info: LabInfo, options: DemoPlanOptions): string {
  const soak = options.soak ?? '30s';
  return `apiVersion: istio-canary/v1
kind: UpgradePlan
metadata:
  name: lab-${info.versions.newRevision}
spec:
  cluster: ${options.cluster ?? 'lab'}
  target:
    version: ${info.versions.newVersion}
    istioctl: ${info.istioctl}
    overlay: ${options.overlay}
  source:
    revision: ${info.versions.oldRevision}
  canary:
    namespaces: [canary-test]
    soak: ${soak}
  waves:
    - name: low-risk
      namespaces: [catalog, search, cart, reviews]
      maxParallel: 4
      soak: ${soak}
    - name: rest
      selector: "team in (payments, checkout, logistics, identity, platform)"
      maxParallel: 4
      soak: ${soak}
  gateways:
    soak: ${soak}
  gates:
    interval: ${options.interval ?? '5s'}
    window: ${options.window ?? '20s'}
    failureLimit: 2
    inconclusiveLimit: 3
    onInconclusive: pause
    metrics:
      - name: error-rate
        type: errorRate
        max: 0.01
        minRequests: 50
      - name: p99-latency
        type: latencyP99
        maxMs: 500
        minRequests: 50
  approval:
    beforePromotion: ${options.approval ?? 'required'}
    timeout: 30m
    onTimeout: rollback
  rollout:
    kinds: [Deployment]
    progressDeadline: 2m
  finalize:
    moveTags: [default, prod-stable]
    uninstallOldAfter: ${options.uninstallOldAfter ?? '10s'}
  prometheus:
    url: ${info.prometheusUrl}
`;
}
