// The notifier's pure parts: the chat message, which answers are retried, Retry-After, and
// keeping the URL out of messages.
import type { NotificationNotice } from '../../activities/contract.js';
import {
  classifyResponse,
  describeRequestError,
  redactUrl,
  retryAfterMs,
  webhookUrlProblem,
} from '../../activities/notification-delivery.js';
import { slackMessage } from '../../activities/notification-message.js';

const notice: NotificationNotice = {
  event: 'gate-failed',
  cluster: 'prod-eu',
  plan: 'prod-eu-1-30',
  workflowId: 'istio-canary-prod-eu',
  version: '1.30.3',
  targetRevision: '1-30-3',
  summary: 'canary gate failed: error-rate failed 2 consecutive checks',
  facts: [{ label: 'error-rate', value: 'fail: 0.052 > 0.01' }],
};

describe('slackMessage', () => {
  it('puts the headline and summary first, then the revisions and facts, then the run', () => {
    const message = slackMessage(notice);
    expect(message.text).toBe(
      [
        ':x: Gate failed on prod-eu: canary gate failed: error-rate failed 2 consecutive checks',
        'Revision: (detecting) → 1-30-3',
        'Istio: 1.30.3',
        'error-rate: fail: 0.052 > 0.01',
        'plan prod-eu-1-30, workflow istio-canary-prod-eu',
      ].join('\n'),
    );
    expect(message.blocks[1]).toEqual({
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: '*Revision*\n(detecting) → 1-30-3' },
        { type: 'mrkdwn', text: '*Istio*\n1.30.3' },
        { type: 'mrkdwn', text: '*error-rate*\nfail: 0.052 &gt; 0.01' },
      ],
    });
  });

  it("escapes Slack's markup characters in blocks, so a reason cannot mention or link", () => {
    const message = slackMessage({ ...notice, summary: 'rejected by <!channel> & <@U123>' });
    const first = message.blocks[0] as { text: { text: string } };
    expect(first.text.text).toBe('*:x: Gate failed on prod-eu*\nrejected by &lt;!channel&gt; &amp; &lt;@U123&gt;');
  });

  it("keeps within Slack's limits: long texts are cut, at most 10 fields", () => {
    const facts = Array.from({ length: 12 }, (_, i) => ({ label: `f${i}`, value: 'x'.repeat(5000) }));
    const message = slackMessage({ ...notice, summary: 'y'.repeat(5000), facts });
    const [section, fields] = message.blocks as unknown as [{ text: { text: string } }, { fields: Array<{ text: string }> }];
    expect(section.text.text.length).toBeLessThanOrEqual(3000);
    expect(section.text.text.endsWith('…')).toBe(true);
    expect(fields.fields).toHaveLength(10);
    expect(fields.fields.every((f) => f.text.length <= 2000)).toBe(true);
  });
});

describe('classifyResponse', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [302, 'rejected'],
    [400, 'rejected'],
    [403, 'rejected'],
    [404, 'rejected'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
  ])('%i is %s', (status, verdict) => {
    expect(classifyResponse(status)).toBe(verdict);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-26T10:00:00Z');
  it('reads seconds and HTTP dates, bounded to [1s, 30s]', () => {
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('0', now)).toBe(1000);
    expect(retryAfterMs('3600', now)).toBe(30_000);
    expect(retryAfterMs('Thu, 26 Nov 2026 10:00:05 GMT', now)).toBe(5000);
  });
  it('ignores what it cannot read', () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-5', now)).toBeUndefined();
  });
});

describe('redactUrl', () => {
  const url = 'https://hooks.slack.com/services/T0/B0/s3cr3t?token=abc%2Fdef';
  it('removes the URL, its path and its query, encoded or not', () => {
    const text = `fetch ${url} failed; path /services/T0/B0/s3cr3t; query ?token=abc/def`;
    const redacted = redactUrl(text, url);
    expect(redacted).toBe('fetch <redacted> failed; path <redacted>; query <redacted>');
  });
  it('leaves text without the URL alone', () => {
    expect(redactUrl('the webhook answered 500', url)).toBe('the webhook answered 500');
  });
});

describe('webhookUrlProblem', () => {
  it.each([
    ['https://hooks.slack.com/services/T/B/x', undefined],
    ['http://127.0.0.1:8080/hook', undefined],
    ['', 'is empty'],
    ['hooks.slack.com/services/x', 'does not hold a URL'],
    ['ftp://example.test/x', 'does not hold an http:// or https:// URL'],
  ])('%j: %s', (value, problem) => {
    expect(webhookUrlProblem(value)).toBe(problem);
  });
});

describe('describeRequestError', () => {
  it('names the kind of failure only, never the message', () => {
    const refused = Object.assign(new TypeError('fetch failed: https://secret.test/x'), { cause: { code: 'ECONNREFUSED' } });
    expect(describeRequestError(refused)).toBe('request failed (ECONNREFUSED)');
    expect(describeRequestError(Object.assign(new Error('The operation timed out'), { name: 'TimeoutError' }))).toBe('no answer in time');
    expect(describeRequestError(new TypeError('Failed to parse URL from https://secret.test/x'))).toBe('request failed (TypeError)');
    expect(describeRequestError('nope')).toBe('request failed');
  });
});
