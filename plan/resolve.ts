// Turns a fully validated document into the ResolvedPlan the workflow receives: durations in
// milliseconds, the derived revision and the defaults that depend on other fields.

import { parseDuration } from './duration.js';
import { deriveRevision } from './names.js';
import type { PlanDocument } from './schema.js';
import type { MetricSpec, NotificationTarget, ResolvedPlan, WaveSpec } from './types.js';

export function resolvePlan(document: PlanDocument): ResolvedPlan {
  const { spec } = document;
  const canarySoakMs = parseDuration(spec.canary.soak);
  return {
    name: document.metadata.name,
    cluster: spec.cluster,
    target: {
      version: spec.target.version,
      revision: spec.target.revision ?? deriveRevision(spec.target.version),
      istioctl: spec.target.istioctl,
      ...(spec.target.overlay === undefined ? {} : { overlay: spec.target.overlay }),
      profile: spec.target.profile,
    },
    source: spec.source.revision === undefined ? {} : { revision: spec.source.revision },
    canary: { namespaces: spec.canary.namespaces, soakMs: canarySoakMs },
    waves: spec.waves.map((wave): WaveSpec => ({
      name: wave.name,
      ...(wave.namespaces === undefined ? {} : { namespaces: wave.namespaces }),
      ...(wave.selector === undefined ? {} : { selector: wave.selector }),
      maxParallel: wave.maxParallel,
      soakMs: wave.soak === undefined ? canarySoakMs : parseDuration(wave.soak),
      approval: wave.approval,
    })),
    gateways: {
      enabled: spec.gateways.enabled,
      namespace: spec.gateways.namespace,
      selector: spec.gateways.selector,
      soakMs: spec.gateways.soak === undefined ? canarySoakMs : parseDuration(spec.gateways.soak),
    },
    gates: {
      intervalMs: parseDuration(spec.gates.interval),
      windowMs: parseDuration(spec.gates.window),
      failureLimit: spec.gates.failureLimit,
      inconclusiveLimit: spec.gates.inconclusiveLimit,
      onInconclusive: spec.gates.onInconclusive,
      metrics: spec.gates.metrics.map((metric): MetricSpec => ({ ...metric })),
    },
    approval: {
      beforePromotion: spec.approval.beforePromotion,
      timeoutMs: parseDuration(spec.approval.timeout),
      onTimeout: spec.approval.onTimeout,
      approvers: spec.approval.approvers,
    },
    rollout: { kinds: spec.rollout.kinds, progressDeadlineMs: parseDuration(spec.rollout.progressDeadline) },
    finalize: {
      moveTags: spec.finalize.moveTags,
      uninstallOldAfterMs: parseDuration(spec.finalize.uninstallOldAfter, { allowZero: true }),
      uninstallOld: spec.finalize.uninstallOld,
    },
    rollback: { uninstallCanary: spec.rollback.uninstallCanary },
    prometheus: { url: spec.prometheus.url },
    ...(spec.notifications.length === 0 ? {} : { notifications: spec.notifications.map(resolveNotification) }),
  };
}

function resolveNotification(target: PlanDocument['spec']['notifications'][number]): NotificationTarget {
  const { env, file } = target.webhook.urlFrom;
  return {
    name: target.name,
    events: [...new Set(target.events)],
    webhook: { urlFrom: env === undefined ? { file: file ?? '' } : { env } },
  };
}
