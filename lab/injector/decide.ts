// Which control plane injects a pod, decided the way an Istio cluster does it.
//
// In a real cluster the decision is split in two:
//  1. the API server picks which webhook to call from the namespace and object
//     selectors of the revision and tag MutatingWebhookConfigurations
//     (manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml
//     and revision-tags-mwc.yaml; see lab/injector/README.md), and that webhook
//     points at one revision's istiod;
//  2. that istiod applies its own policy (pkg/kube/inject/inject.go
//     injectRequired): host-network pods and system namespaces are skipped, and
//     `sidecar.istio.io/inject` (label, else annotation) "false" opts out.
//
// `decideInjection` is both steps as one pure function. The lab's per-revision
// webhook URL (`/inject/rev/<rev>`) already carries the result of step 1, so
// there it is only a cross-check; the bare `/inject` path relies on it.

export type Labels = Readonly<Record<string, string>>;

export const REV_LABEL = 'istio.io/rev';
export const TAG_LABEL = 'istio.io/tag';
export const INJECTION_LABEL = 'istio-injection';
export const SIDECAR_INJECT = 'sidecar.istio.io/inject';
export const SIDECAR_STATUS = 'sidecar.istio.io/status';
export const DEFAULT_REVISION = 'default';

/** pkg/kube/inject/initializer.go IgnoredNamespaces: istiod never injects pods here. */
export const IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'];

export interface InjectionInput {
  namespaceLabels: Labels;
  podLabels: Labels;
  podAnnotations: Labels;
  /** Tag -> revision, from MutatingWebhookConfigurations labelled istio.io/tag (value = tag, istio.io/rev = revision). */
  tags: Labels;
  /** Installed revisions (revision webhooks / istiod Deployments); the non-revisioned install is `default`. */
  revisions: readonly string[];
  namespace?: string;
  hostNetwork?: boolean;
}

export type InjectionDecision =
  | {
      inject: true;
      revision: string;
      /** The webhook (by Istio's name prefix) the API server would call, e.g. `rev.namespace.sidecar-injector.istio.io`. */
      webhook: string;
      /** Why, in words: which label selected which revision (through which tag). */
      reason: string;
    }
  | { inject: false; reason: string };

type Selection = { target: string; webhook: string; why: string } | { skip: string };

/**
 * Step 1: which webhook's selectors match, and the revision-or-tag name it was
 * generated for. Mirrors the selector blocks of mutatingwebhook.yaml /
 * revision-tags-mwc.yaml with `enableNamespacesByDefault: false` (the default):
 *
 * - `rev.namespace.`: namespace istio.io/rev In [T], istio-injection DoesNotExist; pod inject label NotIn [false]
 * - `rev.object.`: namespace has neither label; pod istio.io/rev In [T], inject label NotIn [false]
 * - `namespace.` (default only): namespace istio-injection In [enabled]; pod inject label NotIn [false]
 * - `object.` (default only): namespace has neither label; pod inject label In [true], no pod istio.io/rev
 *
 * So istio-injection on the namespace wins over istio.io/rev (on the namespace
 * or the pod), and the namespace's istio.io/rev wins over the pod's.
 */
function selectWebhook(ns: Labels, pod: Labels): Selection {
  const podInject = pod[SIDECAR_INJECT];
  if (podInject === 'false') return { skip: `pod label ${SIDECAR_INJECT}=false` };
  const nsInjection = ns[INJECTION_LABEL];
  if (nsInjection !== undefined) {
    if (nsInjection === 'enabled') {
      return { target: DEFAULT_REVISION, webhook: 'namespace.sidecar-injector.istio.io', why: `namespace ${INJECTION_LABEL}=enabled` };
    }
    return { skip: `namespace ${INJECTION_LABEL}=${nsInjection}` };
  }
  const nsRev = ns[REV_LABEL];
  if (nsRev !== undefined) {
    return { target: nsRev, webhook: 'rev.namespace.sidecar-injector.istio.io', why: `namespace ${REV_LABEL}=${nsRev}` };
  }
  const podRev = pod[REV_LABEL];
  if (podRev !== undefined) {
    return { target: podRev, webhook: 'rev.object.sidecar-injector.istio.io', why: `pod ${REV_LABEL}=${podRev}` };
  }
  if (podInject === 'true') {
    return { target: DEFAULT_REVISION, webhook: 'object.sidecar-injector.istio.io', why: `pod label ${SIDECAR_INJECT}=true` };
  }
  return { skip: 'no injection label on the namespace or the pod' };
}

/**
 * A revision-or-tag name to the revision whose webhook answers for it: a tag
 * first (a tag named like a revision is refused by `istioctl tag set`, except
 * `default`, whose tag deactivates the non-revisioned webhook), else a revision.
 */
export function resolveRevision(name: string, tags: Labels, revisions: readonly string[]): { revision: string; via?: string } | undefined {
  const tagged = tags[name];
  if (tagged !== undefined) return { revision: tagged, via: name };
  if (revisions.includes(name)) return { revision: name };
  return undefined;
}

/**
 * Step 2, istiod's own policy once its webhook is called
 * (pkg/kube/inject/inject.go injectRequired, with the default
 * `global.proxy.autoInject: enabled` and no never/always selectors).
 * Returns the reason to skip, or undefined to inject.
 */
export function istiodPolicySkip(input: {
  podLabels: Labels;
  podAnnotations: Labels;
  namespace?: string;
  hostNetwork?: boolean;
}): string | undefined {
  if (input.podAnnotations[SIDECAR_STATUS] !== undefined) return `already injected (${SIDECAR_STATUS} is set)`;
  if (input.hostNetwork) return 'host network pod';
  if (input.namespace !== undefined && IGNORED_NAMESPACES.includes(input.namespace)) return `system namespace ${input.namespace}`;
  // The label is the newer API; when both are present the label wins.
  const value = input.podLabels[SIDECAR_INJECT] ?? input.podAnnotations[SIDECAR_INJECT];
  if (value === 'false') return `${SIDECAR_INJECT}=false`;
  return undefined;
}

export function decideInjection(input: InjectionInput): InjectionDecision {
  const skip = istiodPolicySkip(input);
  if (skip) return { inject: false, reason: skip };
  const selection = selectWebhook(input.namespaceLabels, input.podLabels);
  if ('skip' in selection) return { inject: false, reason: selection.skip };
  const resolved = resolveRevision(selection.target, input.tags, input.revisions);
  if (!resolved) {
    return { inject: false, reason: `${selection.why}, but no revision or tag named ${selection.target} is installed` };
  }
  const through = resolved.via ? ` (tag ${resolved.via} -> revision ${resolved.revision})` : '';
  return { inject: true, revision: resolved.revision, webhook: selection.webhook, reason: `${selection.why}${through}` };
}

/** Tag -> revision from MutatingWebhookConfiguration labels, as istioctl reads them (istioctl/pkg/tag/util.go). */
export function tagsFromWebhookLabels(webhooks: ReadonlyArray<{ name: string; labels: Labels }>): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const webhook of [...webhooks].sort((a, b) => a.name.localeCompare(b.name))) {
    const tag = webhook.labels[TAG_LABEL];
    const revision = webhook.labels[REV_LABEL];
    if (tag && revision) tags[tag] = revision;
  }
  return tags;
}

/**
 * Revisions that have their own injection webhook: labelled istio.io/rev and
 * not istio.io/tag (istioctl/pkg/tag/util.go GetWebhooksWithRevision), from
 * the sidecar injector (label app=sidecar-injector).
 */
export function revisionsFromWebhookLabels(webhooks: ReadonlyArray<{ labels: Labels }>): string[] {
  const revisions = new Set<string>();
  for (const { labels } of webhooks) {
    const revision = labels[REV_LABEL];
    if (revision && labels[TAG_LABEL] === undefined && labels['app'] === 'sidecar-injector') revisions.add(revision);
  }
  return [...revisions].sort();
}
