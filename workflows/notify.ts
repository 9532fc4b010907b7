// Telling people what the upgrade does, beside it and never in its way. `notify` returns at once:
// each plan target gets its messages in order, one at a time, through a retried activity, while the
// runbook goes on. Before the workflow returns it gives the messages still queued a bounded time.
// A message that cannot be delivered is logged and dropped; it never fails or holds the upgrade.
// The plan names only where the worker finds each webhook URL, so no URL ever enters the history.
import { CancellationScope, condition, log, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { NotificationNotice } from '../activities/contract.js';
import type { NotificationEvent, NotificationTarget } from '../plan/types.js';
import { call, PREFLIGHT_CALL } from './activities.js';
import type { GateCheck, UpgradeResult } from './messages.js';
import { errorMessage } from './rollback.js';
import type { Run } from './run.js';
import { UpgradeStopped } from './run.js';

/**
 * A few attempts with backoff; the activity marks refusals (4xx but 408/429, unresolvable URL) as
 * non-retryable itself. scheduleToClose bounds one message, retries included.
 */
export const NOTIFY_CALL: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 4 },
};

/** How long a finished upgrade waits for messages still queued before it returns anyway. */
export const SETTLE_TIMEOUT = '1 minute';

type Notifying = Pick<Run, 'plan' | 'state' | 'sourceRevision'>;
type Fact = NotificationNotice['facts'][number];

interface Outbox {
  /** Per target: the last queued message, so the next one goes after it. */
  tails: Map<string, Promise<void>>;
  queued: number;
}

// Keyed by the run's state object: one outbox per workflow execution.
const outboxes = new WeakMap<object, Outbox>();

function outboxOf(run: Notifying): Outbox {
  let outbox = outboxes.get(run.state);
  if (!outbox) {
    outbox = { tails: new Map(), queued: 0 };
    outboxes.set(run.state, outbox);
  }
  return outbox;
}

/** Queues `event` for every target that subscribed to it; does not wait for delivery. */
export function notify(run: Notifying, event: NotificationEvent, summary: string, facts: Fact[] = []): void {
  const targets = (run.plan.notifications ?? []).filter((target) => target.events.includes(event));
  if (targets.length === 0) return;
  const { plan } = run;
  const notice: NotificationNotice = {
    event,
    cluster: plan.cluster,
    plan: plan.name,
    workflowId: workflowInfo().workflowId,
    version: plan.target.version,
    targetRevision: plan.target.revision,
    ...(run.sourceRevision ? { sourceRevision: run.sourceRevision } : {}),
    summary,
    facts,
  };
  const outbox = outboxOf(run);
  for (const target of targets) {
    outbox.queued++;
    const previous = outbox.tails.get(target.name) ?? Promise.resolve();
    const next = previous.then(() => deliver(target, notice)).finally(() => outbox.queued--);
    outbox.tails.set(target.name, next);
  }
}

/** Never rejects: an undelivered message is logged (the activity already redacted its error). */
async function deliver(target: NotificationTarget, notice: NotificationNotice): Promise<void> {
  try {
    // Not cancellable: an abort cancels the runbook, not the news about it.
    await CancellationScope.nonCancellable(() =>
      call('sendNotification', NOTIFY_CALL, `Notify ${target.name}: ${notice.event}`, { target, notice }),
    );
  } catch (err) {
    log.warn('notification not delivered', { target: target.name, event: notice.event, error: errorMessage(err) });
  }
}

const OUTCOME_EVENTS: Record<UpgradeResult['outcome'], NotificationEvent> = {
  completed: 'finished',
  'rolled-back': 'rolled-back',
  aborted: 'aborted',
  failed: 'failed',
};

/** Announces the outcome, then waits (bounded) for every queued message before the run returns. */
export async function settleNotifications(run: Notifying, result: UpgradeResult): Promise<UpgradeResult> {
  const facts: Fact[] = result.rollbackErrors.length ? [{ label: 'Rollback errors', value: result.rollbackErrors.join('; ') }] : [];
  notify(run, OUTCOME_EVENTS[result.outcome], result.reason, facts);
  const outbox = outboxes.get(run.state);
  if (outbox && outbox.queued > 0) {
    const settled = await CancellationScope.nonCancellable(() => condition(() => outbox.queued === 0, SETTLE_TIMEOUT));
    if (!settled) log.warn('notifications still queued when the upgrade ended; they are dropped', { queued: outbox.queued });
  }
  return result;
}

/** Preflight: every target's URL must resolve on the worker (nothing is sent, no URL comes back). */
export async function checkNotificationTargets(run: Pick<Run, 'plan' | 'state'>): Promise<void> {
  const targets = run.plan.notifications ?? [];
  if (targets.length === 0) return;
  run.state.setStep(`checking notification targets ${targets.map((t) => t.name).join(', ')}`);
  const problems = await call('checkNotificationTargets', PREFLIGHT_CALL, `Check notification targets ${targets.map((t) => t.name).join(', ')} resolve`, {
    targets,
  });
  if (problems.length) {
    throw new UpgradeStopped('preflight', `notification targets cannot be used: ${problems.map((p) => `${p.target}: ${p.problem}`).join('; ')}`);
  }
}

/** The commands that answer what the upgrade waits for, to copy from the message. */
export function answers(cluster: string, ...verbs: string[]): Fact[] {
  return verbs.map((verb) => ({ label: verb[0]!.toUpperCase() + verb.slice(1), value: `istio-canary ${verb} ${cluster} --reason "..."`, code: true }));
}

/** The measurements of a gate's last check that did not pass, with their numbers. */
export function gateFacts(checks: GateCheck[]): Fact[] {
  const last = checks.at(-1);
  if (!last) return [];
  return last.measurements
    .filter((m) => m.phase !== 'pass')
    .map((m) => ({ label: m.metric, value: `${m.phase}: ${m.reason}` }));
}
