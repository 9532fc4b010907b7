// Notifications on a real Temporal server: the real notifier activity posts to a local receiver,
// every other activity is a double. The messages come in runbook order, a failing or slow receiver
// is retried without holding the upgrade, and the webhook URL never enters the history or the logs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { headline } from '../../activities/notification-message.js';
import { createNotificationActivities } from '../../activities/notifications.js';
import { NOTIFICATION_EVENTS, type NotificationEvent, type NotificationTarget, type ResolvedPlan } from '../../plan/types.js';
import { abortUpdate, approveUpdate } from '../../workflows/messages.js';
import { newMesh } from '../support/activity-doubles.js';
import { labelsOf } from '../support/mesh-snapshot.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../support/webhook-receiver.js';
import { createHarness, recordHistory, resultOf, startUpgrade, testPlan, waitForStatus, type Harness } from '../support/workflow-harness.js';

// Every log line of the worker (workflow and activity logs included), to check none holds a URL.
const logs: LogEntry[] = [];
try {
  Runtime.install({ logger: new DefaultLogger('DEBUG', (entry) => logs.push(entry)) });
} catch {
  // Another file in this process installed the runtime first; the positive check below then fails loudly.
}

/** The worker's environment: each test puts its own webhook URL in its own variable. */
const workerEnv: NodeJS.ProcessEnv = {};
let harness: Harness;
let receiver: WebhookReceiver;
let dir: string;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  dir = await mkdtemp(join(tmpdir(), 'istio-canary-notify-wf-'));
  harness = await createHarness(undefined, createNotificationActivities({ env: workerEnv }));
}, 120_000);
afterAll(async () => {
  await harness?.teardown();
  await receiver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let hooks = 0;
/** A webhook URL with a unique secret token, published to the worker under a fresh variable name. */
function hook(): { variable: string; url: string; token: string } {
  const variable = `TEST_HOOK_${++hooks}`;
  const { url, token } = receiver.newUrl();
  workerEnv[variable] = url;
  return { variable, url, token };
}

function target(name: string, variable: string, events: NotificationEvent[] = [...NOTIFICATION_EVENTS]): NotificationTarget {
  return { name, events, webhook: { urlFrom: { env: variable } } };
}

function planWith(notifications: NotificationTarget[], overrides: Partial<ResolvedPlan> = {}): ResolvedPlan {
  return testPlan({ notifications, ...overrides });
}

/** An upgrade with one target for every event, stopped at the promotion approval. */
async function startWaitingForApproval() {
  const secret = hook();
  const plan = planWith([target('platform-team', secret.variable)], {
    approval: { beforePromotion: 'required', timeoutMs: 60_000, onTimeout: 'rollback', approvers: [] },
  });
  const { handle } = await startUpgrade(harness, plan);
  await waitForStatus(handle, (s) => s.waitingFor?.kind === 'approval', 'the promotion approval');
  return { secret, plan, handle };
}

function to(token: string): ReceivedRequest[] {
  return receiver.requests.filter((r) => r.path.endsWith(`/${token}`));
}

/** The event of each message, from its headline. */
function eventsOf(requests: ReceivedRequest[], cluster: string): NotificationEvent[] {
  return requests.map((r) => {
    const event = NOTIFICATION_EVENTS.find((e) => r.json.text.startsWith(headline({ event: e, cluster })));
    if (!event) throw new Error(`unexpected message: ${r.json.text}`);
    return event;
  });
}

const delivered = (requests: ReceivedRequest[], succeededOn: number) => requests.filter((r) => r.attempt === succeededOn);

/** The history, every payload included, holds no trace of the URL; the target's variable name shows the search works. */
async function expectHistoryWithoutSecret(handle: WorkflowHandle, secret: { url: string; token: string; variable: string }): Promise<void> {
  const { temporal } = (await import('@temporalio/proto')).default;
  const history = await handle.fetchHistory();
  const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
  expect(bytes.includes(secret.variable)).toBe(true);
  expect(bytes.includes('sendNotification')).toBe(true);
  expect(bytes.includes(secret.token)).toBe(false);
  expect(bytes.includes(secret.url)).toBe(false);
  const json = JSON.stringify(history, (_key, value) => (typeof value === 'bigint' ? String(value) : value));
  expect(json).not.toContain(secret.token);
}

function expectLogsWithoutSecret(token: string): void {
  const text = logs.map((entry) => `${entry.message} ${JSON.stringify(entry.meta ?? {})}`).join('\n');
  expect(text).not.toContain(token);
}

describe('a completed upgrade', () => {
  it('tells every stage in runbook order, and the URL stays out of the history and logs', async () => {
    const { secret, plan, handle } = await startWaitingForApproval();
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', reason: 'canary looks good' }] });
    expect((await resultOf(handle)).outcome).toBe('completed');

    const messages = to(secret.token);
    expect(eventsOf(messages, plan.cluster)).toEqual(['started', 'wave-done', 'approval-needed', 'wave-done', 'wave-done', 'wave-done', 'finished']);
    expect(messages.every((m) => m.attempt === 1)).toBe(true);
    const summaries = messages.map((m) => m.json.text.split('\n')[0]);
    expect(summaries[0]).toContain('upgrade to Istio 1.30.3 started: 5 namespaces, canary canary-test');
    expect(summaries.map((s: string) => /: (\S+) done: /.exec(s)?.[1]).filter(Boolean)).toEqual([
      'canary',
      'low-risk',
      'rest',
      'gateways',
    ]);
    expect(messages[2]!.json.text).toContain(`Approve: istio-canary approve ${plan.cluster} --reason "..."`);
    expect(messages[6]!.json.text).toContain('Revision: 1-29-4 → 1-30-3');
    expect(summaries[6]).toContain('every namespace runs revision 1-30-3');

    await expectHistoryWithoutSecret(handle, secret);
    expectLogsWithoutSecret(secret.token);
    await recordHistory(handle, 'notified-completed');
  }, 120_000);
});

describe('a rolled-back upgrade', () => {
  it('tells the gate failure and the rollback, to each target only the events it subscribed to', async () => {
    const all = hook();
    const onCall = receiver.newUrl();
    const file = join(dir, 'on-call-url');
    await writeFile(file, `${onCall.url}\n`);
    const plan = planWith([
      target('platform-team', all.variable),
      { name: 'on-call', events: ['gate-failed', 'rolled-back', 'failed'], webhook: { urlFrom: { file } } },
    ]);
    const mesh = newMesh({ faulty: new Set(['1-30-3']) });
    const { handle } = await startUpgrade(harness, plan, mesh);
    expect((await resultOf(handle)).outcome).toBe('rolled-back');

    expect(eventsOf(to(all.token), plan.cluster)).toEqual(['started', 'gate-failed', 'rolled-back']);
    const [gateFailed, rolledBack] = to(onCall.token);
    expect(eventsOf(to(onCall.token), plan.cluster)).toEqual(['gate-failed', 'rolled-back']);
    expect(gateFailed!.json.text).toContain('canary gate failed: error-rate failed 2 consecutive checks');
    expect(gateFailed!.json.text).toMatch(/error-rate: fail: 0\.05/);
    expect(rolledBack!.json.text).toContain('every change was undone');

    await expectHistoryWithoutSecret(handle, all);
    expectLogsWithoutSecret(all.token);
    expectLogsWithoutSecret(onCall.token);
  }, 120_000);
});

describe('human decisions', () => {
  it('asks again when an approval times out and the plan holds, then goes on once approved', async () => {
    const secret = hook();
    const plan = planWith([target('platform-team', secret.variable, ['approval-needed', 'finished'])], {
      approval: { beforePromotion: 'required', timeoutMs: 1_000, onTimeout: 'hold', approvers: [] },
    });
    const { handle } = await startUpgrade(harness, plan);
    await waitForStatus(handle, (s) => s.decisions.some((d) => d.kind === 'timeout'), 'the approval timeout');
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'carol' }] });
    expect((await resultOf(handle)).outcome).toBe('completed');
    const messages = to(secret.token);
    expect(eventsOf(messages, plan.cluster)).toEqual(['approval-needed', 'approval-needed', 'finished']);
    expect(messages[0]!.json.text).toContain('promotion waits for approval; after 1s without an answer: hold');
    expect(messages[1]!.json.text).toContain('approval of promotion timed out; holding until someone approves or rejects');
  }, 120_000);

  it('tells an abort, with who aborted and why', async () => {
    const { secret, plan, handle } = await startWaitingForApproval();
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 'change freeze', rollback: true }] });
    expect((await resultOf(handle)).outcome).toBe('aborted');
    const messages = to(secret.token);
    expect(eventsOf(messages, plan.cluster)).toEqual(['started', 'wave-done', 'approval-needed', 'aborted']);
    expect(messages[3]!.json.text).toContain('aborted by dave: change freeze; every change was undone');
  }, 120_000);
});

describe('a receiver in trouble', () => {
  it('is retried after failures, and every message still arrives once accepted, in order', async () => {
    const secret = hook();
    receiver.respond((r) => (r.path.endsWith(secret.token) && r.attempt <= 2 ? { status: 500, body: 'try later' } : { status: 200 }));
    const plan = planWith([target('platform-team', secret.variable)]);
    const { handle } = await startUpgrade(harness, plan);
    expect((await resultOf(handle)).outcome).toBe('completed');

    const messages = to(secret.token);
    // Each message: two refusals, then accepted on the third attempt.
    expect(messages.map((m) => m.attempt)).toEqual(Array.from({ length: 6 }, () => [1, 2, 3]).flat());
    expect(eventsOf(delivered(messages, 3), plan.cluster)).toEqual(['started', 'wave-done', 'wave-done', 'wave-done', 'wave-done', 'finished']);
    await expectHistoryWithoutSecret(handle, secret);
    expectLogsWithoutSecret(secret.token);
  }, 120_000);

  it('does not hold the upgrade while a message hangs', async () => {
    const secret = hook();
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    receiver.respond((r) => (r.path.endsWith(secret.token) && r.json.text.includes('started:') ? { status: 200, hold } : { status: 200 }));
    const plan = planWith([target('platform-team', secret.variable)]);
    const { handle, mesh } = await startUpgrade(harness, plan);
    try {
      // The whole runbook ran while the first message was still unanswered.
      await waitForStatus(handle, (s) => s.phase === 'completed', 'the upgrade to complete', 60_000);
      expect(receiver.held()).toBeGreaterThan(0);
      expect(Object.values(mesh.namespaces).every((ns) => ns.labels['istio.io/rev'] === '1-30-3')).toBe(true);
    } finally {
      release();
    }
    // The run returns once the queued messages went out, in order.
    expect((await resultOf(handle)).outcome).toBe('completed');
    const accepted = to(secret.token).filter((m, i, all) => all.findIndex((o) => o.json.text === m.json.text) === i);
    expect(eventsOf(accepted, plan.cluster)).toEqual(['started', 'wave-done', 'wave-done', 'wave-done', 'wave-done', 'finished']);
  }, 120_000);

  it('gives up on a receiver that always fails (after a few attempts, or at once on a 4xx) and the upgrade completes', async () => {
    const down = hook();
    const gone = hook();
    receiver.respond((r) => {
      if (r.path.endsWith(down.token)) return { status: 503, body: 'unavailable' };
      if (r.path.endsWith(gone.token)) return { status: 404, body: 'no_service' };
      return { status: 200 };
    });
    const plan = planWith([target('down', down.variable, ['started', 'finished']), target('gone', gone.variable, ['started', 'finished'])]);
    const { handle } = await startUpgrade(harness, plan);
    expect((await resultOf(handle)).outcome).toBe('completed');

    // maximumAttempts 4 for a 5xx; a 404 is final.
    expect(to(down.token).map((m) => m.attempt)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(eventsOf(delivered(to(down.token), 1), plan.cluster)).toEqual(['started', 'finished']);
    expect(to(gone.token).map((m) => m.attempt)).toEqual([1, 1]);

    const undelivered = logs.filter((entry) => entry.message === 'notification not delivered');
    expect(undelivered.map((entry) => entry.meta?.['target'])).toEqual(expect.arrayContaining(['down', 'gone']));
    expect(undelivered.find((entry) => entry.meta?.['target'] === 'gone')?.meta?.['error']).toContain('the webhook answered 404: no_service');
    expectLogsWithoutSecret(down.token);
    expectLogsWithoutSecret(gone.token);
    await expectHistoryWithoutSecret(handle, down);
    await expectHistoryWithoutSecret(handle, gone);
  }, 180_000);
});

describe('preflight', () => {
  it('fails the run before anything changes when a target cannot resolve, and tells the targets that can', async () => {
    const good = hook();
    const plan = planWith([target('platform-team', good.variable), target('broken', 'TEST_HOOK_NEVER_SET', ['failed'])]);
    const mesh = newMesh();
    const before = labelsOf(mesh);
    const { handle } = await startUpgrade(harness, plan, mesh);
    const result = await resultOf(handle);
    expect(result.outcome).toBe('failed');
    expect(result.reason).toBe('preflight failed: notification targets cannot be used: broken: environment variable TEST_HOOK_NEVER_SET is not set on the worker');
    // Nothing else ran: not even the cluster check.
    expect(mesh.calls).toEqual([]);
    expect(labelsOf(mesh)).toEqual(before);
    expect(eventsOf(to(good.token), plan.cluster)).toEqual(['failed']);
  }, 60_000);
});
