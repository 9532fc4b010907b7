// How Istio decides which control plane injects a namespace's pods, as a pure
// function of its labels and the revision tags. Mirrors the webhooks'
// namespace selectors: `istio-injection=enabled` wins and means the `default`
// tag (or the revision named `default` when no tag exists); any other
// `istio-injection` value turns injection off; otherwise `istio.io/rev` names a
// revision or a tag.
import type { InjectionLabels } from '../activities/contract.js';

export function effectiveRevision(labels: InjectionLabels, tags: Record<string, string>): string | null {
  const injection = labels['istio-injection'];
  if (injection === 'enabled') return tags['default'] ?? 'default';
  if (injection !== null) return null;
  const rev = labels['istio.io/rev'];
  return rev ? (tags[rev] ?? rev) : null;
}

/** The labels that move a namespace onto `revision`, as the seed's runbook does. */
export function injectionLabelsFor(revision: string): InjectionLabels {
  return { 'istio.io/rev': revision, 'istio-injection': null };
}

export function sameLabels(a: InjectionLabels, b: InjectionLabels): boolean {
  return a['istio.io/rev'] === b['istio.io/rev'] && a['istio-injection'] === b['istio-injection'];
}

export function describeLabels(labels: InjectionLabels): string {
  const parts: string[] = [];
  if (labels['istio-injection'] !== null) parts.push(`istio-injection=${labels['istio-injection']}`);
  if (labels['istio.io/rev'] !== null) parts.push(`istio.io/rev=${labels['istio.io/rev']}`);
  return parts.length ? parts.join(',') : '(no injection labels)';
}

/**
 * The revision this upgrade migrates away from: the plan's, else the one the
 * `default` tag points at, else the only installed revision.
 */
export function detectSourceRevision(
  planned: string | undefined,
  installed: string[],
  tags: Record<string, string>,
): { revision: string } | { error: string } {
  if (planned) {
    return installed.includes(planned)
      ? { revision: planned }
      : { error: `spec.source.revision: revision ${planned} is not installed (installed: ${installed.join(', ') || 'none'})` };
  }
  if (tags['default']) return { revision: tags['default'] };
  if (installed.length === 1 && installed[0]) return { revision: installed[0] };
  return {
    error: installed.length
      ? `spec.source.revision: several revisions are installed (${installed.join(', ')}) and no default tag; name the one to migrate from`
      : 'no istiod revision is installed in istio-system: there is nothing to upgrade from',
  };
}
