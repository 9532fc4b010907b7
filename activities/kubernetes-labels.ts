// The patches our Kubernetes activities send, built as pure functions of the
// current and target state. Each returns null when the object already is in the
// target state, which is what makes a retried call a no-op. Patches are JSON
// merge patches (RFC 7386): a null value deletes the key.

import type { InjectionLabels } from './contract.js';
import { REVISION_KEY } from './kubernetes-revision.js';

export const INJECTION_LABEL_KEYS = ['istio-injection', 'istio.io/rev'] as const satisfies ReadonlyArray<keyof InjectionLabels>;

/** The annotation `kubectl rollout restart` sets; changing it rolls the pods. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

export type MergePatch = { [key: string]: string | null | MergePatch };

export function injectionLabelsOf(labels: Record<string, string> | undefined): InjectionLabels {
  return {
    'istio-injection': labels?.['istio-injection'] ?? null,
    'istio.io/rev': labels?.['istio.io/rev'] ?? null,
  };
}

/** Sets the non-null target labels and deletes the null ones, touching only those that differ. */
export function injectionLabelsPatch(current: Record<string, string> | undefined, target: InjectionLabels): MergePatch | null {
  const now = injectionLabelsOf(current);
  const labels: MergePatch = {};
  for (const key of INJECTION_LABEL_KEYS) {
    if (now[key] !== target[key]) labels[key] = target[key];
  }
  return Object.keys(labels).length ? { metadata: { labels } } : null;
}

interface TemplateHolder {
  spec?: { template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } } };
}

export function restartTokenOf(workload: TemplateHolder): string | undefined {
  return workload.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
}

/** Stamps the restart token on the pod template, unless it already carries it. */
export function restartPatch(workload: TemplateHolder, token: string): MergePatch | null {
  if (restartTokenOf(workload) === token) return null;
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: token } } } } };
}

export function templateRevisionOf(workload: TemplateHolder): string | null {
  return workload.spec?.template?.metadata?.labels?.[REVISION_KEY] ?? null;
}

/** Converges a gateway's pod-template istio.io/rev label (null deletes it) and restart token. */
export function gatewayRevisionPatch(workload: TemplateHolder, revision: string | null, token: string): MergePatch | null {
  const metadata: MergePatch = {};
  if (templateRevisionOf(workload) !== revision) metadata['labels'] = { [REVISION_KEY]: revision };
  if (restartTokenOf(workload) !== token) metadata['annotations'] = { [RESTARTED_AT]: token };
  return Object.keys(metadata).length ? { spec: { template: { metadata } } } : null;
}
