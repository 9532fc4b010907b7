// The real notifier activity against a real HTTP receiver on 127.0.0.1: what it posts for each
// event, where it finds the webhook URL, how it fails, and that no failure ever quotes the URL.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotificationNotice } from '../../activities/contract.js';
import { headline } from '../../activities/notification-message.js';
import { createNotificationActivities, NotificationErrors } from '../../activities/notifications.js';
import { NOTIFICATION_EVENTS, type NotificationEvent, type NotificationTarget } from '../../plan/types.js';
import { failureOf, runActivity } from '../support/activity-context.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let receiver: WebhookReceiver;
let dir: string;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  dir = await mkdtemp(join(tmpdir(), 'istio-canary-notify-'));
});
afterAll(async () => {
  await receiver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.respond(() => ({ status: 200, body: 'ok' }));
});

function notice(event: NotificationEvent, overrides: Partial<NotificationNotice> = {}): NotificationNotice {
  return {
    event,
    cluster: 'prod-eu',
    plan: 'prod-eu-1-30',
    workflowId: 'istio-canary-prod-eu',
    version: '1.30.3',
    targetRevision: '1-30-3',
    sourceRevision: '1-29-4',
    summary: `something about ${event}`,
    facts: [{ label: 'Approve', value: 'istio-canary approve prod-eu --reason "..."', code: true }],
    ...overrides,
  };
}

const envTarget = (variable: string, events: NotificationEvent[] = [...NOTIFICATION_EVENTS]): NotificationTarget => ({
  name: 'platform-team',
  events,
  webhook: { urlFrom: { env: variable } },
});
const fileTarget = (file: string): NotificationTarget => ({ name: 'on-call', events: ['failed'], webhook: { urlFrom: { file } } });

/** A notifier whose environment holds one webhook URL with a fresh secret token. */
function notifierWithUrl(url?: string) {
  const hook = url ? { url, token: new URL(url).pathname } : receiver.newUrl();
  const activities = createNotificationActivities({ env: { SLACK_WEBHOOK_URL: hook.url }, requestTimeoutMs: 2_000 });
  return { ...activities, ...hook };
}

function expectNoSecret(text: string, url: string, token: string): void {
  expect(text).not.toContain(url);
  expect(text).not.toContain(token);
}

describe('payloads', () => {
  it.each(NOTIFICATION_EVENTS)('posts a Slack-compatible message for %s', async (event) => {
    const { sendNotification, token } = notifierWithUrl();
    const result = await runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice(event) });
    expect(result).toEqual({ status: 200 });

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(`/services/T000/B000/${token}`);
    expect(request!.headers['content-type']).toBe('application/json');
    const { text, blocks } = request!.json;
    expect(Object.keys(request!.json).sort()).toEqual(['blocks', 'text']);
    expect(text.split('\n')[0]).toBe(`${headline({ event, cluster: 'prod-eu' })}: something about ${event}`);
    expect(text).toContain('Revision: 1-29-4 → 1-30-3');
    expect(blocks.map((b: { type: string }) => b.type)).toEqual(['section', 'section', 'context']);
    expect(blocks[0].text).toEqual({ type: 'mrkdwn', text: `*${headline({ event, cluster: 'prod-eu' })}*\nsomething about ${event}` });
    expect(blocks[1].fields).toContainEqual({ type: 'mrkdwn', text: '*Approve*\n`istio-canary approve prod-eu --reason "..."`' });
    expect(blocks[2].elements[0].text).toBe('plan prod-eu-1-30 · workflow istio-canary-prod-eu');
  });

  it('gives every event its own headline', () => {
    const headlines = NOTIFICATION_EVENTS.map((event) => headline({ event, cluster: 'c' }));
    expect(new Set(headlines).size).toBe(NOTIFICATION_EVENTS.length);
  });
});

describe('where the URL comes from', () => {
  it('reads a file on the worker, trimming the newline a mounted Secret ends with', async () => {
    const { url, token } = receiver.newUrl();
    const file = join(dir, 'slack-url');
    await writeFile(file, `${url}\n`);
    const { sendNotification } = createNotificationActivities({ env: {} });
    await runActivity(sendNotification, { target: fileTarget(file), notice: notice('failed') });
    expect(receiver.requests.map((r) => r.path)).toEqual([`/services/T000/B000/${token}`]);
  });

  it('reads the file again for every message, so a rotated URL is used at once', async () => {
    const first = receiver.newUrl();
    const second = receiver.newUrl();
    const file = join(dir, 'rotating-url');
    const { sendNotification } = createNotificationActivities({ env: {} });
    await writeFile(file, first.url);
    await runActivity(sendNotification, { target: fileTarget(file), notice: notice('failed') });
    await writeFile(file, second.url);
    await runActivity(sendNotification, { target: fileTarget(file), notice: notice('failed') });
    expect(receiver.requests.map((r) => r.path.split('/').at(-1))).toEqual([first.token, second.token]);
  });

  it('refuses for good when the variable is unset, naming it', async () => {
    const { sendNotification } = createNotificationActivities({ env: {} });
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('started') }));
    expect(failure.type).toBe(NotificationErrors.TargetUnresolved);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('notification target platform-team: environment variable SLACK_WEBHOOK_URL is not set on the worker');
    expect(receiver.requests).toHaveLength(0);
  });

  it('refuses for good when the file is missing, naming the path', async () => {
    const file = join(dir, 'no-such-file');
    const { sendNotification } = createNotificationActivities({ env: {} });
    const failure = await failureOf(runActivity(sendNotification, { target: fileTarget(file), notice: notice('failed') }));
    expect(failure.type).toBe(NotificationErrors.TargetUnresolved);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(`notification target on-call: file ${file} does not exist on the worker`);
  });

  it('refuses a value that is not an http(s) URL without repeating the value', async () => {
    const secret = 'ftp://127.0.0.1/services/not-for-logs';
    const { sendNotification } = createNotificationActivities({ env: { SLACK_WEBHOOK_URL: secret } });
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('started') }));
    expect(failure.message).toBe('notification target platform-team: environment variable SLACK_WEBHOOK_URL does not hold an http:// or https:// URL');
    expect(failure.message).not.toContain('not-for-logs');
  });
});

describe('preflight check of the targets', () => {
  it('reports every target that cannot resolve, sends nothing and returns no URL', async () => {
    const good = receiver.newUrl();
    const goodFile = join(dir, 'good-url');
    await writeFile(goodFile, good.url);
    const unreadable = join(dir, 'unreadable-url');
    await writeFile(unreadable, good.url);
    await chmod(unreadable, 0o000);
    const notUrl = join(dir, 'not-a-url');
    await writeFile(notUrl, 'hooks.slack.com/services/secret-without-scheme\n');
    const { checkNotificationTargets } = createNotificationActivities({ env: { GOOD: good.url, EMPTY: '  ' } });
    const targets: NotificationTarget[] = [
      envTarget('GOOD'),
      { ...envTarget('UNSET'), name: 'unset' },
      { ...envTarget('EMPTY'), name: 'empty' },
      { ...fileTarget(goodFile), name: 'good-file' },
      { ...fileTarget(join(dir, 'missing')), name: 'missing-file' },
      { ...fileTarget(notUrl), name: 'not-url' },
      { ...fileTarget(dir), name: 'directory' },
      ...(process.getuid?.() === 0 ? [] : [{ ...fileTarget(unreadable), name: 'unreadable' }]),
    ];
    const problems = await runActivity(checkNotificationTargets, { targets });
    expect(problems).toEqual([
      { target: 'unset', problem: 'environment variable UNSET is not set on the worker' },
      { target: 'empty', problem: 'environment variable EMPTY is empty' },
      { target: 'missing-file', problem: `file ${join(dir, 'missing')} does not exist on the worker` },
      { target: 'not-url', problem: `file ${notUrl} does not hold a URL` },
      { target: 'directory', problem: `${dir} on the worker is not a file` },
      ...(process.getuid?.() === 0 ? [] : [{ target: 'unreadable', problem: `file ${unreadable} is not readable by the worker` }]),
    ]);
    expectNoSecret(JSON.stringify(problems), good.url, good.token);
    expect(JSON.stringify(problems)).not.toContain('secret-without-scheme');
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('failures', () => {
  it('retries a 500, quoting the answer but never the URL', async () => {
    receiver.respond(() => ({ status: 500, body: 'internal trouble' }));
    const { sendNotification, url, token } = notifierWithUrl();
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('wave-done') }));
    expect(failure.type).toBe(NotificationErrors.Undelivered);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe('notification to platform-team (wave-done): the webhook answered 500: internal trouble');
    expectNoSecret(`${failure.message}\n${failure.stack}`, url, token);
  });

  it('retries a 429 after the Retry-After the receiver asks for', async () => {
    receiver.respond(() => ({ status: 429, body: 'rate_limited', headers: { 'retry-after': '3' } }));
    const { sendNotification } = notifierWithUrl();
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('started') }));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(3000);
  });

  it.each([400, 403, 404, 410])('gives up at once on a %i', async (status) => {
    receiver.respond(() => ({ status, body: 'invalid_token' }));
    const { sendNotification, url, token } = notifierWithUrl();
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('finished') }));
    expect(failure.type).toBe(NotificationErrors.Rejected);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(`notification to platform-team (finished): the webhook answered ${status}: invalid_token`);
    expectNoSecret(failure.message, url, token);
  });

  it('quotes at most 200 characters of a long answer, without downloading the rest', async () => {
    receiver.respond(() => ({ status: 502, body: `bad gateway ${'x'.repeat(1_000_000)}` }));
    const { sendNotification } = notifierWithUrl();
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('started') }));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(`notification to platform-team (started): the webhook answered 502: bad gateway ${'x'.repeat(188)}`);
  });

  it('redacts the URL even when the receiver echoes it back', async () => {
    receiver.respond((request) => ({ status: 404, body: `no hook at http://127.0.0.1${request.path}` }));
    const { sendNotification, url, token } = notifierWithUrl();
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('finished') }));
    expect(failure.message).toContain('no hook at http://127.0.0.1<redacted>');
    expectNoSecret(failure.message, url, token);
  });

  it('does not follow a redirect, and gives up', async () => {
    const elsewhere = receiver.newUrl();
    receiver.respond((request) => (request.path.includes(elsewhere.token) ? { status: 200 } : { status: 302, headers: { location: elsewhere.url } }));
    const { sendNotification } = notifierWithUrl();
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('started') }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('answered 302 (webhooks must not redirect)');
    expect(receiver.requests).toHaveLength(1);
  });

  it('retries when nothing listens, without quoting the URL', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/services/T000/B000/secret-refused-${port}`;
    const { sendNotification } = notifierWithUrl(url);
    const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('started') }));
    expect(failure.type).toBe(NotificationErrors.Undelivered);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe('notification to platform-team (started): request failed (ECONNREFUSED)');
    expectNoSecret(`${failure.message}\n${failure.stack}`, url, `secret-refused-${port}`);
  });

  it('retries a receiver that does not answer in time', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    receiver.respond(() => ({ status: 200, hold }));
    const { sendNotification, url, token } = notifierWithUrl();
    try {
      const failure = await failureOf(runActivity(sendNotification, { target: envTarget('SLACK_WEBHOOK_URL'), notice: notice('started') }));
      expect(failure.nonRetryable).toBe(false);
      expect(failure.message).toBe('notification to platform-team (started): no answer in time');
      expectNoSecret(failure.message, url, token);
    } finally {
      release();
    }
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
