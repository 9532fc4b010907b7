import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NOTIFICATION_EVENTS, parsePlan, validatePlan } from '../../plan/index.js';
import type { PlanResult, ResolvedPlan } from '../../plan/types.js';

const read = (relative: string) => readFileSync(fileURLToPath(new URL(relative, import.meta.url)), 'utf8');

function planOf(result: PlanResult): ResolvedPlan {
  if (!result.ok) throw new Error(`expected a valid plan, got ${JSON.stringify(result.errors, null, 2)}`);
  return result.plan;
}

describe('parsePlan on valid plans', () => {
  it('resolves examples/plan.yaml to exact values', () => {
    expect(planOf(parsePlan(read('../../examples/plan.yaml')))).toEqual({
      name: 'prod-eu-1-30',
      cluster: 'prod-eu',
      target: {
        version: '1.30.3',
        revision: '1-30-3',
        istioctl: '/opt/istio-1.30.3/bin/istioctl',
        overlay: './istio-overlay.yaml',
        profile: 'minimal',
      },
      source: { revision: '1-29-4' },
      canary: { namespaces: ['canary-test'], soakMs: 600_000 },
      waves: [
        { name: 'low-risk', namespaces: ['catalog', 'search'], maxParallel: 1, soakMs: 600_000, approval: 'none' },
        { name: 'rest', selector: 'team in (payments, checkout)', maxParallel: 5, soakMs: 900_000, approval: 'required' },
      ],
      gateways: { enabled: true, namespace: 'istio-system', selector: 'istio=ingressgateway', soakMs: 600_000 },
      gates: {
        intervalMs: 60_000,
        windowMs: 300_000,
        failureLimit: 2,
        inconclusiveLimit: 3,
        onInconclusive: 'pause',
        metrics: [
          { name: 'error-rate', type: 'errorRate', max: 0.01, minRequests: 100 },
          { name: 'p99-latency', type: 'latencyP99', maxMs: 500, minRequests: 100 },
        ],
      },
      approval: { beforePromotion: 'required', timeoutMs: 86_400_000, onTimeout: 'rollback', approvers: ['alice', 'bob'] },
      rollout: { kinds: ['Deployment'], progressDeadlineMs: 600_000 },
      finalize: { moveTags: ['default'], uninstallOldAfterMs: 3_600_000, uninstallOld: true },
      rollback: { uninstallCanary: true },
      prometheus: { url: 'http://prometheus.monitoring:9090' },
    });
  });

  it('fills every default in a minimal plan and derives the revision', () => {
    expect(planOf(parsePlan(read('../fixtures/plans/minimal.yaml')))).toEqual({
      name: 'staging-1-30',
      cluster: 'staging',
      target: { version: '1.30.0-beta.1', revision: '1-30-0-beta-1', istioctl: 'istioctl', profile: 'minimal' },
      source: {},
      canary: { namespaces: ['canary-test'], soakMs: 600_000 },
      waves: [],
      gateways: { enabled: true, namespace: 'istio-system', selector: 'istio=ingressgateway', soakMs: 600_000 },
      gates: {
        intervalMs: 60_000,
        windowMs: 300_000,
        failureLimit: 2,
        inconclusiveLimit: 3,
        onInconclusive: 'pause',
        metrics: [{ name: 'error-rate', type: 'errorRate', max: 0.05, minRequests: 100 }],
      },
      approval: { beforePromotion: 'required', timeoutMs: 86_400_000, onTimeout: 'rollback', approvers: [] },
      rollout: { kinds: ['Deployment'], progressDeadlineMs: 600_000 },
      finalize: { moveTags: ['default'], uninstallOldAfterMs: 3_600_000, uninstallOld: true },
      rollback: { uninstallCanary: true },
      prometheus: { url: 'https://prometheus.example.test' },
    });
  });

  it('keeps every optional field that is set', () => {
    expect(planOf(parsePlan(read('../fixtures/plans/all-fields.yaml')))).toEqual({
      name: 'lab-all-fields',
      cluster: 'lab',
      target: {
        version: '1.30.3',
        revision: 'canary',
        istioctl: './bin/istioctl-1.30.3',
        overlay: 'overlays/istio.yaml',
        profile: 'empty',
      },
      source: { revision: 'stable' },
      canary: { namespaces: ['canary-a', 'canary-b'], soakMs: 90_000 },
      waves: [{ name: 'by-label', selector: 'tier=web,!legacy', maxParallel: 3, soakMs: 90_000, approval: 'required' }],
      gateways: { enabled: false, namespace: 'gateways', selector: 'app in (ingress, egress)', soakMs: 120_000 },
      gates: {
        intervalMs: 30_000,
        windowMs: 30_000,
        failureLimit: 1,
        inconclusiveLimit: 0,
        onInconclusive: 'rollback',
        metrics: [
          { name: 'errors', type: 'errorRate', max: 1, minRequests: 1 },
          { name: 'latency', type: 'latencyP99', maxMs: 250.5, minRequests: 20 },
          { name: 'volume', type: 'requestVolume', minRps: 0.5 },
          { name: 'xds', type: 'xdsRejects', max: 0 },
        ],
      },
      approval: { beforePromotion: 'none', timeoutMs: 1_800_000, onTimeout: 'hold', approvers: [] },
      rollout: { kinds: ['Deployment', 'StatefulSet', 'DaemonSet'], progressDeadlineMs: 300_000 },
      finalize: { moveTags: ['default', 'prod-stable'], uninstallOldAfterMs: 0, uninstallOld: false },
      rollback: { uninstallCanary: false },
      prometheus: { url: 'http://127.0.0.1:9090/prometheus' },
      notifications: [
        { name: 'platform-team', events: ['approval-needed', 'finished'], webhook: { urlFrom: { env: 'SLACK_WEBHOOK_URL' } } },
        { name: 'on-call', events: [...NOTIFICATION_EVENTS], webhook: { urlFrom: { file: '/var/run/secrets/slack/url' } } },
      ],
    });
  });

  it('produces a plan that survives JSON, as Temporal history requires', () => {
    const plan = planOf(parsePlan(read('../../examples/plan.yaml')));
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('validates an already-parsed document too', () => {
    const result = validatePlan({ apiVersion: 'istio-canary/v1', kind: 'UpgradePlan' });
    expect(result).toEqual({
      ok: false,
      errors: [
        { path: 'metadata', message: 'is required' },
        { path: 'spec', message: 'is required' },
      ],
    });
  });
});

describe('parsePlan on malformed YAML and document shape', () => {
  const errorsOf = (text: string) => {
    const result = parsePlan(text);
    if (result.ok) throw new Error('expected errors');
    return result.errors;
  };

  it('reports a syntax error with its line and column', () => {
    const [error, ...rest] = errorsOf('apiVersion: istio-canary/v1\nkind: UpgradePlan\nspec:\n  cluster: [prod\n');
    expect(rest).toEqual([]);
    expect(error?.path).toBe('(document)');
    expect(error?.message).toMatch(/^invalid YAML: .*line \d+, column \d+/);
  });

  it('refuses duplicate keys', () => {
    const [error] = errorsOf('kind: UpgradePlan\nkind: UpgradePlan\n');
    expect(error?.message).toContain('unique');
    expect(error?.message).toContain('line 2, column 1');
  });

  it('refuses alias expansion that would blow up ("billion laughs")', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) levels.push(`${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(10).fill(`*${'abcdefgh'[i - 1]}`).join(', ')}]`);
    const [error, ...rest] = errorsOf(levels.join('\n'));
    expect(rest).toEqual([]);
    expect(error).toEqual({ path: '(document)', message: expect.stringContaining('invalid YAML: Excessive alias count') });
  });

  it('refuses more than one document', () => {
    expect(errorsOf('kind: a\n---\nkind: b\n')).toEqual([
      { path: '(document)', message: 'expected one YAML document, found 2' },
    ]);
  });

  it('refuses an empty file', () => {
    expect(errorsOf('# nothing here\n')).toEqual([{ path: '(document)', message: 'is empty; expected an UpgradePlan' }]);
  });

  it('refuses a document that is not a mapping', () => {
    expect(errorsOf('- a\n- b\n')).toEqual([{ path: '(document)', message: 'must be a mapping, got a list' }]);
  });

  it('explains an unquoted version that YAML reads as a number', () => {
    const text = read('../../examples/plan.yaml').replace('version: 1.30.3', 'version: 1.30');
    expect(errorsOf(text)).toEqual([
      { path: 'spec.target.version', message: 'must be a string: quote it ("1.30.3"), YAML read it as the number 1.3' },
    ]);
  });

  it('explains a duration written as a bare number', () => {
    const text = read('../../examples/plan.yaml').replace('window: 5m', 'window: 300');
    expect(errorsOf(text)).toEqual([{ path: 'spec.gates.window', message: 'needs a unit: write 300s, 300m or 300h' }]);
  });

  it('collects every error rather than stopping at the first', () => {
    const text = read('../../examples/plan.yaml')
      .replace('cluster: prod-eu', 'cluster: Prod_EU')
      .replace('soak: 15m', 'soak: 15 minutes')
      .replace('max: 0.01', 'max: 5')
      .replace('[catalog, search]', '[catalog, search, catalog]')
      .replace('interval: 1m', 'interval: 1m\n    colour: blue');
    expect(errorsOf(text).map((error) => error.path)).toEqual([
      'spec.cluster',
      'spec.waves[1].soak',
      'spec.gates.metrics[0].max',
      'spec.gates.colour',
      'spec.waves[0].namespaces[2]',
    ]);
  });
});
