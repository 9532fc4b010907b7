// What an upgrade will do, in DESIGN.md's step order, for `istio-canary plan` and the workflow's
// static summary. Pure: no Node built-ins, no zod.

import { formatDuration } from './duration.js';
import { NOTIFICATION_EVENTS, type GateSpec, type MetricSpec, type NotificationTarget, type ResolvedPlan, type WaveSpec } from './types.js';

export interface PlanStep {
  /** Stable id: preflight, backup, install, canary, approval, wave:<name>, gateways, finalize, rollback, notifications. */
  step: string;
  title: string;
  details: string[];
}

export function describePlan(plan: ResolvedPlan): PlanStep[] {
  const target = plan.target.revision;
  const source = plan.source.revision ?? 'the current revision';
  return [
    preflightStep(plan),
    {
      step: 'backup',
      title: 'Back up Istio configuration',
      details: [
        'export every Istio custom resource, server-managed metadata stripped',
        'istio-canary restore applies the backup',
      ],
    },
    installStep(plan),
    {
      step: 'canary',
      title: `Canary: ${plan.canary.namespaces.join(', ')}`,
      details: [...migrationDetails(plan), ...gateDetails(plan.gates, plan.canary.soakMs)],
    },
    ...approvalSteps(plan),
    ...plan.waves.map((wave) => waveStep(plan, wave)),
    ...gatewaySteps(plan),
    finalizeStep(plan, source),
    rollbackStep(plan, target, source),
    ...notificationSteps(plan.notifications ?? []),
  ];
}

/** Numbered steps with indented details, for terminals. */
export function formatPlanSteps(steps: readonly PlanStep[]): string {
  return steps
    .map((step, i) => [`${i + 1}. ${step.title}`, ...step.details.map((detail) => `   - ${detail}`)].join('\n'))
    .join('\n');
}

function preflightStep(plan: ResolvedPlan): PlanStep {
  const explicit = [...plan.canary.namespaces, ...plan.waves.flatMap((wave) => wave.namespaces ?? [])];
  return {
    step: 'preflight',
    title: `Preflight on cluster ${plan.cluster}`,
    details: [
      `no other upgrade running on ${plan.cluster}`,
      `${plan.target.istioctl} reports version ${plan.target.version}; istioctl x precheck passes`,
      plan.source.revision === undefined
        ? 'source revision: detected from the running control plane'
        : `source revision ${plan.source.revision} is installed`,
      `namespaces exist: ${explicit.join(', ')}`,
      `Prometheus answers at ${plan.prometheus.url} and the canary namespaces have traffic to judge`,
      ...(plan.notifications?.length
        ? [`the webhook URL of every notification target resolves on the worker (nothing is sent): ${plan.notifications.map((t) => t.name).join(', ')}`]
        : []),
    ],
  };
}

function installStep(plan: ResolvedPlan): PlanStep {
  const { revision, profile, overlay } = plan.target;
  const command = `istioctl install --set revision=${revision} --set profile=${profile}${overlay === undefined ? '' : ` -f ${overlay}`}`;
  return {
    step: 'install',
    title: `Install revision ${revision} (Istio ${plan.target.version})`,
    details: [command, 'gateways are not touched', `wait until istiod-${revision} is Ready`],
  };
}

function migrationDetails(plan: ResolvedPlan): string[] {
  const revision = plan.target.revision;
  return [
    `label each namespace istio.io/rev=${revision} (removing istio-injection), remembering its labels`,
    `restart its ${plan.rollout.kinds.join(', ')} workloads; each rollout must finish within ${formatDuration(plan.rollout.progressDeadlineMs)}`,
    `verify every pod's proxy comes from ${revision}`,
  ];
}

function gateDetails(gates: GateSpec, soakMs: number): string[] {
  return [
    `soak ${formatDuration(soakMs)}: every ${formatDuration(gates.intervalMs)}, check each metric over the last ${formatDuration(gates.windowMs)}`,
    ...gates.metrics.map(describeMetric),
    `${gates.failureLimit} consecutive failed check(s) of a metric fail the gate and roll back`,
    `more than ${gates.inconclusiveLimit} inconclusive check(s) (no data, too few requests) ${gates.onInconclusive === 'pause' ? 'pause for a human' : 'roll back'}`,
  ];
}

function describeMetric(metric: MetricSpec): string {
  switch (metric.type) {
    case 'errorRate':
      return `${metric.name}: 5xx share of requests at most ${+(metric.max * 100).toPrecision(6)}% (inconclusive below ${metric.minRequests} requests)`;
    case 'latencyP99':
      return `${metric.name}: p99 latency at most ${metric.maxMs}ms (inconclusive below ${metric.minRequests} requests)`;
    case 'requestVolume':
      return `${metric.name}: at least ${metric.minRps} requests/s`;
    case 'xdsRejects':
      return `${metric.name}: at most ${metric.max} xDS configuration rejections by the new proxies`;
  }
}

function approvalSteps(plan: ResolvedPlan): PlanStep[] {
  if (plan.approval.beforePromotion === 'none') return [];
  return [{ step: 'approval', title: 'Approval before promotion', details: approvalDetails(plan) }];
}

function approvalDetails(plan: ResolvedPlan): string[] {
  const { approvers, onTimeout, timeoutMs } = plan.approval;
  return [
    `wait up to ${formatDuration(timeoutMs)} for approve, reject or abort`,
    approvers.length === 0 ? 'anyone may approve' : `approvers: ${approvers.join(', ')}`,
    onTimeout === 'rollback' ? 'on timeout: roll back' : 'on timeout: hold until someone decides',
  ];
}

function waveStep(plan: ResolvedPlan, wave: WaveSpec): PlanStep {
  const scope = wave.namespaces?.join(', ') ?? `namespaces matching ${wave.selector ?? ''}`;
  return {
    step: `wave:${wave.name}`,
    title: `Wave ${wave.name}: ${scope}`,
    details: [
      ...(wave.approval === 'required' ? ['approval required before the wave starts', ...approvalDetails(plan).slice(1)] : []),
      ...(wave.selector === undefined
        ? []
        : ['selector resolved when the wave starts; namespaces already migrated are skipped']),
      `${wave.maxParallel} namespace(s) at a time`,
      ...migrationDetails(plan),
      ...gateDetails(plan.gates, wave.soakMs),
    ],
  };
}

function gatewaySteps(plan: ResolvedPlan): PlanStep[] {
  const { enabled, namespace, selector, soakMs } = plan.gateways;
  if (!enabled) return [];
  return [
    {
      step: 'gateways',
      title: `Gateways in ${namespace}`,
      details: [
        `move gateway workloads matching ${selector} to ${plan.target.revision} and restart them`,
        ...gateDetails(plan.gates, soakMs),
      ],
    },
  ];
}

function finalizeStep(plan: ResolvedPlan, source: string): PlanStep {
  const { moveTags, uninstallOld, uninstallOldAfterMs } = plan.finalize;
  return {
    step: 'finalize',
    title: 'Finalize',
    details: [
      moveTags.length === 0
        ? 'no revision tags moved'
        : `move revision tag(s) ${moveTags.join(', ')} to ${plan.target.revision}`,
      uninstallOld
        ? `after ${formatDuration(uninstallOldAfterMs)}, once no pod runs a proxy from ${source}, uninstall ${source}`
        : `keep ${source} installed`,
    ],
  };
}

function rollbackStep(plan: ResolvedPlan, target: string, source: string): PlanStep {
  const triggers = [
    'a failed gate',
    'a failed rollout',
    'reject',
    'abort',
    ...(plan.approval.onTimeout === 'rollback' ? ['an approval timeout'] : []),
    ...(plan.gates.onInconclusive === 'rollback' ? ['too many inconclusive checks'] : []),
  ];
  return {
    step: 'rollback',
    title: `Rollback (only on ${triggers.join(', ')})`,
    details: [
      ...(plan.gateways.enabled ? [`move the gateways in ${plan.gateways.namespace} back to ${source} and restart them`] : []),
      'in reverse order, restore each migrated namespace\'s original labels and restart its workloads',
      `wait for the rollouts and verify every proxy is back on ${source}`,
      plan.rollback.uninstallCanary ? `uninstall the canary revision ${target}` : `keep the canary revision ${target} installed`,
    ],
  };
}

/** Not a step of the runbook but beside all of them: who hears about what. */
function notificationSteps(targets: NotificationTarget[]): PlanStep[] {
  if (targets.length === 0) return [];
  return [
    {
      step: 'notifications',
      title: 'Notifications (sent beside the upgrade, never holding it)',
      details: targets.map((target) => {
        const events = target.events.length === NOTIFICATION_EVENTS.length ? 'every event' : target.events.join(', ');
        const from = 'env' in target.webhook.urlFrom ? `environment variable ${target.webhook.urlFrom.env}` : `file ${target.webhook.urlFrom.file}`;
        return `${target.name}: ${events}; webhook URL from ${from} on the worker`;
      }),
    },
  ];
}
