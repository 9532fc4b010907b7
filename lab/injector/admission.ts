// AdmissionReview in, AdmissionReview out: the injection and validation
// handlers, free of HTTP so they can be tested directly. They read only the
// in-memory cluster view, so an answer takes microseconds.

import type { ClusterView } from './cluster-view.js';
import { decideInjection, istiodPolicySkip, type Labels } from './decide.js';
import type { InjectorMetrics } from './metrics.js';
import { buildInjection, ISTIO_NAMESPACE, istiodName, proxyImageFor, type Pod } from './patch.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  namespace?: string;
  name?: string;
  operation?: string;
  object?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON array of operations. */
  patch?: string;
  status?: { code?: number; reason?: string; message: string };
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

export class BadRequest extends Error {}

/** Checks the shape of an incoming AdmissionReview (v1 only, as the webhooks declare). */
export function parseReview(body: unknown): AdmissionRequest {
  if (!body || typeof body !== 'object') throw new BadRequest('body is not a JSON object');
  const review = body as Partial<AdmissionReview>;
  if (review.kind !== 'AdmissionReview') throw new BadRequest(`kind is ${String(review.kind)}, want AdmissionReview`);
  if (review.apiVersion !== ADMISSION_API_VERSION) {
    throw new BadRequest(`apiVersion is ${String(review.apiVersion)}, want ${ADMISSION_API_VERSION}`);
  }
  const request = review.request;
  if (!request || typeof request !== 'object' || typeof request.uid !== 'string' || !request.uid) {
    throw new BadRequest('request.uid is missing');
  }
  return request;
}

export function reviewResponse(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The webhook path, read the way istiod reads its own (`/inject/k1/v1/k2/v2`,
 * pkg/kube/inject/webhook.go parseInjectEnvs): the lab's key `rev` names the
 * revision the webhook configuration belongs to. `/inject` alone has none.
 */
export function parseInjectPath(path: string): { revision?: string; params: Record<string, string> } {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed !== '/inject' && !trimmed.startsWith('/inject/')) throw new BadRequest(`unknown path ${path}`);
  const parts = trimmed.split('/').slice(2).map((p) => decodeURIComponent(p));
  const params: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) params[parts[i] as string] = (parts[i + 1] as string).replace(/--slash--/g, '/');
  const revision = params['rev'];
  if (revision !== undefined && !DNS1123_LABEL.test(revision)) throw new BadRequest(`revision ${JSON.stringify(revision)} in ${path} is not a DNS-1123 label`);
  return revision === undefined ? { params } : { revision, params };
}

export interface InjectContext {
  view: ClusterView;
  metrics: InjectorMetrics;
  /** Overrides the proxy image hub (default: the hub of the revision's istiod image). */
  hub?: string;
  nativeSidecars?: boolean;
  log?: (line: string) => void;
}

function refuse(uid: string, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code: 503, reason: 'ServiceUnavailable', message } };
}

/** Handles one injection request; `path` is the URL path the API server called. */
export function handleInject(request: AdmissionRequest, path: string, ctx: InjectContext): AdmissionResponse {
  const { uid } = request;
  const log = ctx.log ?? (() => {});
  ctx.metrics.requests.inc();
  const { revision: pathRevision } = parseInjectPath(path);

  const isPod = (request.kind?.kind ?? 'Pod') === 'Pod' && (request.resource?.resource ?? 'pods') === 'pods';
  if (!isPod || (request.operation !== undefined && request.operation !== 'CREATE')) {
    ctx.metrics.skips.inc({ reason: 'not a pod creation' });
    return { uid, allowed: true };
  }
  const pod = (request.object ?? {}) as Pod;
  const namespace = request.namespace || pod.metadata?.namespace || '';
  const podName = pod.metadata?.name || `${pod.metadata?.generateName ?? ''}*`;
  const podLabels: Labels = pod.metadata?.labels ?? {};
  const podAnnotations: Labels = pod.metadata?.annotations ?? {};

  const skip = istiodPolicySkip({ podLabels, podAnnotations, namespace, hostNetwork: pod.spec?.hostNetwork === true });
  if (skip) {
    ctx.metrics.skips.inc({ reason: skip.split(' (')[0] ?? skip });
    return { uid, allowed: true };
  }

  const decision = decideInjection({
    namespaceLabels: ctx.view.namespaceLabels(namespace) ?? {},
    podLabels,
    podAnnotations,
    tags: ctx.view.tags(),
    revisions: ctx.view.revisions(),
    namespace,
    hostNetwork: pod.spec?.hostNetwork === true,
  });

  let revision: string;
  if (pathRevision !== undefined) {
    // The API server already chose this revision's webhook; the rules are a cross-check.
    revision = pathRevision;
    if (!decision.inject || decision.revision !== revision) {
      ctx.metrics.mismatches.inc({ revision });
      const ours = decision.inject ? `revision ${decision.revision} (${decision.reason})` : `no injection (${decision.reason})`;
      log(`cross-check: ${namespace}/${podName} came to revision ${revision}'s webhook, the lab rules say ${ours}`);
    }
  } else {
    if (!decision.inject) {
      ctx.metrics.skips.inc({ reason: 'no webhook selects the pod' });
      return { uid, allowed: true };
    }
    revision = decision.revision;
  }

  const istiod = ctx.view.istiod(revision);
  const deployment = `${ISTIO_NAMESPACE}/${istiodName(revision)}`;
  if (!istiod) {
    ctx.metrics.refusals.inc({ revision, reason: 'istiod missing' });
    return refuse(uid, `Istio revision ${revision}: no istiod Deployment (${deployment}) to inject ${namespace}/${podName}`);
  }
  if (istiod.readyReplicas < 1) {
    ctx.metrics.refusals.inc({ revision, reason: 'istiod not ready' });
    return refuse(
      uid,
      `Istio revision ${revision}: istiod ${ISTIO_NAMESPACE}/${istiod.name} is not ready (0 ready replicas), ` +
        `so the sidecar injector cannot admit ${namespace}/${podName}`,
    );
  }
  if (!istiod.image) {
    ctx.metrics.refusals.inc({ revision, reason: 'istiod image unknown' });
    return refuse(uid, `Istio revision ${revision}: istiod ${ISTIO_NAMESPACE}/${istiod.name} has no image`);
  }

  const injection = buildInjection(pod, {
    revision,
    proxyImage: proxyImageFor(istiod.image, ctx.hub),
    ...(ctx.nativeSidecars !== undefined && { nativeSidecars: ctx.nativeSidecars }),
  });
  ctx.metrics.injections.inc({ revision, template: injection.template });
  return {
    uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(injection.patch)).toString('base64'),
  };
}

/** The validation webhook: admits every Istio config object, and counts it. */
export function handleValidate(request: AdmissionRequest, metrics: InjectorMetrics): AdmissionResponse {
  metrics.validations.inc({
    group: request.resource?.group ?? '',
    version: request.resource?.version ?? '',
    resource: request.resource?.resource ?? '',
  });
  return { uid: request.uid, allowed: true };
}
