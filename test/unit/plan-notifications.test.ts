// spec.notifications: defaults, refusals (a literal URL above all), resolution, the JSON schema
// and how `istio-canary plan` lists the targets.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describePlan, NOTIFICATION_EVENTS, planJsonSchema, validatePlan, type PlanError } from '../../plan/index.js';

type Doc = any;
const minimal = readFileSync(fileURLToPath(new URL('../fixtures/plans/minimal.yaml', import.meta.url)), 'utf8');

function withNotifications(notifications: unknown): Doc {
  const doc = parse(minimal);
  doc.spec.notifications = notifications;
  return doc;
}

function errorsOf(notifications: unknown): PlanError[] {
  const result = validatePlan(withNotifications(notifications));
  if (result.ok) throw new Error('expected the plan to be refused');
  return result.errors;
}

function resolved(notifications: unknown) {
  const result = validatePlan(withNotifications(notifications));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

describe('spec.notifications', () => {
  it('is optional, and a plan without it resolves exactly as before', () => {
    const result = validatePlan(parse(minimal));
    expect(result.ok && 'notifications' in result.plan).toBe(false);
    expect(resolved([])).not.toHaveProperty('notifications');
  });

  it('defaults events to every event, and resolves env and file sources', () => {
    const plan = resolved([
      { name: 'platform-team', webhook: { urlFrom: { env: 'SLACK_WEBHOOK_URL' } } },
      { name: 'on-call', events: ['gate-failed', 'rolled-back', 'gate-failed'], webhook: { urlFrom: { file: '/var/run/secrets/slack/url' } } },
    ]);
    expect(plan.notifications).toEqual([
      { name: 'platform-team', events: [...NOTIFICATION_EVENTS], webhook: { urlFrom: { env: 'SLACK_WEBHOOK_URL' } } },
      { name: 'on-call', events: ['gate-failed', 'rolled-back'], webhook: { urlFrom: { file: '/var/run/secrets/slack/url' } } },
    ]);
  });

  it('refuses a URL written into the plan, saying why', () => {
    expect(errorsOf([{ name: 'team', webhook: { url: 'https://hooks.slack.com/services/T/B/x' } }])).toEqual([
      { path: 'spec.notifications[0].webhook.urlFrom', message: 'is required' },
      {
        path: 'spec.notifications[0].webhook.url',
        message: 'must not hold the URL: it is a secret and the plan is stored in the workflow history; use urlFrom: { env: NAME } or { file: /path }',
      },
    ]);
  });

  it.each([
    ['neither env nor file', { urlFrom: {} }, 'spec.notifications[0].webhook.urlFrom', 'needs exactly one of env or file'],
    ['both env and file', { urlFrom: { env: 'A', file: '/a' } }, 'spec.notifications[0].webhook.urlFrom', 'needs exactly one of env or file'],
    ['a variable name with a dash', { urlFrom: { env: 'SLACK-URL' } }, 'spec.notifications[0].webhook.urlFrom.env', 'must be an environment variable name'],
    ['a relative file', { urlFrom: { file: 'secrets/url' } }, 'spec.notifications[0].webhook.urlFrom.file', 'must be an absolute path'],
    ['a file with a space', { urlFrom: { file: '/run/my url' } }, 'spec.notifications[0].webhook.urlFrom.file', 'must be a plain path'],
    ['another source', { urlFrom: { vault: 'x' } }, 'spec.notifications[0].webhook.urlFrom.vault', 'unknown field (allowed here: env, file)'],
  ])('refuses %s', (_what, webhook, path, reason) => {
    const errors = errorsOf([{ name: 'team', webhook }]);
    expect(errors.find((e) => e.path === path)?.message).toContain(reason);
  });

  it('refuses an unknown event, an empty event list, a bad name and a duplicate name', () => {
    expect(errorsOf([{ name: 'team', events: ['done'], webhook: { urlFrom: { env: 'A' } } }])).toEqual([
      { path: 'spec.notifications[0].events[0]', message: expect.stringMatching(/^must be "started" or .* got "done"$/) },
    ]);
    expect(errorsOf([{ name: 'team', events: [], webhook: { urlFrom: { env: 'A' } } }])).toEqual([
      { path: 'spec.notifications[0].events', message: 'must list at least one event (or leave events out for all of them)' },
    ]);
    expect(errorsOf([{ name: 'Team', webhook: { urlFrom: { env: 'A' } } }])[0]?.path).toBe('spec.notifications[0].name');
    expect(
      errorsOf([
        { name: 'team', webhook: { urlFrom: { env: 'A' } } },
        { name: 'team', webhook: { urlFrom: { env: 'B' } } },
      ]),
    ).toEqual([{ path: 'spec.notifications[1].name', message: expect.stringContaining('duplicate notification name team') }]);
  });

  it('is in the JSON schema, with its default events and no place for a URL', () => {
    const notifications = (planJsonSchema() as any).properties.spec.properties.notifications;
    expect(notifications.default).toEqual([]);
    const item = notifications.items;
    expect(item.required).toEqual(['name', 'webhook']);
    expect(item.properties.events.default).toEqual([...NOTIFICATION_EVENTS]);
    expect(item.properties.webhook.additionalProperties).toBe(false);
    expect(Object.keys(item.properties.webhook.properties)).toEqual(['urlFrom']);
    expect(Object.keys(item.properties.webhook.properties.urlFrom.properties)).toEqual(['env', 'file']);
  });

  it('is listed by `istio-canary plan`: the preflight check and who hears what', () => {
    const plan = resolved([
      { name: 'platform-team', webhook: { urlFrom: { env: 'SLACK_WEBHOOK_URL' } } },
      { name: 'on-call', events: ['gate-failed', 'rolled-back'], webhook: { urlFrom: { file: '/var/run/secrets/slack/url' } } },
    ]);
    const steps = describePlan(plan);
    expect(steps.at(-1)).toEqual({
      step: 'notifications',
      title: 'Notifications (sent beside the upgrade, never holding it)',
      details: [
        'platform-team: every event; webhook URL from environment variable SLACK_WEBHOOK_URL on the worker',
        'on-call: gate-failed, rolled-back; webhook URL from file /var/run/secrets/slack/url on the worker',
      ],
    });
    expect(steps[0]!.details.at(-1)).toBe(
      'the webhook URL of every notification target resolves on the worker (nothing is sent): platform-team, on-call',
    );
    expect(describePlan(resolved([])).map((s) => s.step)).not.toContain('notifications');
  });
});
