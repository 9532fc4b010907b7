import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describePlan, formatPlanSteps } from '../../plan/steps.js';
import { parsePlan } from '../../plan/validate.js';
import type { ResolvedPlan } from '../../plan/types.js';

function load(relative: string): ResolvedPlan {
  const result = parsePlan(readFileSync(fileURLToPath(new URL(relative, import.meta.url)), 'utf8'));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

const example = load('../../examples/plan.yaml');
const allFields = load('../fixtures/plans/all-fields.yaml');
const minimal = load('../fixtures/plans/minimal.yaml');
const stepOf = (plan: ResolvedPlan, id: string) => describePlan(plan).find((step) => step.step === id);

describe('describePlan', () => {
  it("follows DESIGN.md's step order", () => {
    expect(describePlan(example).map((step) => step.step)).toEqual([
      'preflight',
      'backup',
      'install',
      'canary',
      'approval',
      'wave:low-risk',
      'wave:rest',
      'gateways',
      'finalize',
      'rollback',
    ]);
  });

  it('leaves out approval and gateways when the plan turns them off', () => {
    expect(describePlan(allFields).map((step) => step.step)).toEqual([
      'preflight',
      'backup',
      'install',
      'canary',
      'wave:by-label',
      'finalize',
      'rollback',
      'notifications',
    ]);
  });

  it('names the source revision, or says it will be detected', () => {
    expect(stepOf(example, 'preflight')?.details).toContain('source revision 1-29-4 is installed');
    expect(stepOf(minimal, 'preflight')?.details).toContain('source revision: detected from the running control plane');
  });

  it('shows the install command with profile and overlay', () => {
    expect(stepOf(example, 'install')).toEqual({
      step: 'install',
      title: 'Install revision 1-30-3 (Istio 1.30.3)',
      details: [
        'istioctl install --set revision=1-30-3 --set profile=minimal -f ./istio-overlay.yaml',
        'gateways are not touched',
        'wait until istiod-1-30-3 is Ready',
      ],
    });
  });

  it('lists the canary namespaces and every gate with its threshold, window, interval and limits', () => {
    const canary = stepOf(example, 'canary');
    expect(canary?.title).toBe('Canary: canary-test');
    expect(canary?.details).toEqual(
      expect.arrayContaining([
        'label each namespace istio.io/rev=1-30-3 (removing istio-injection), remembering its labels',
        'restart its Deployment workloads; each rollout must finish within 10m',
        'soak 10m: every 1m, check each metric over the last 5m',
        'error-rate: 5xx share of requests at most 1% (inconclusive below 100 requests)',
        'p99-latency: p99 latency at most 500ms (inconclusive below 100 requests)',
        '2 consecutive failed check(s) of a metric fail the gate and roll back',
        'more than 3 inconclusive check(s) (no data, too few requests) pause for a human',
      ]),
    );
  });

  it('describes every metric type', () => {
    expect(stepOf(allFields, 'canary')?.details).toEqual(
      expect.arrayContaining([
        'errors: 5xx share of requests at most 100% (inconclusive below 1 requests)',
        'latency: p99 latency at most 250.5ms (inconclusive below 20 requests)',
        'volume: at least 0.5 requests/s',
        'xds: at most 0 xDS configuration rejections by the new proxies',
        'more than 0 inconclusive check(s) (no data, too few requests) roll back',
      ]),
    );
  });

  it('describes the approval with its approvers and timeout', () => {
    expect(stepOf(example, 'approval')?.details).toEqual([
      'wait up to 24h for approve, reject or abort',
      'approvers: alice, bob',
      'on timeout: roll back',
    ]);
  });

  it('describes each wave by namespaces or selector, with parallelism, soak and approval', () => {
    expect(stepOf(example, 'wave:low-risk')?.title).toBe('Wave low-risk: catalog, search');
    const rest = stepOf(example, 'wave:rest');
    expect(rest?.title).toBe('Wave rest: namespaces matching team in (payments, checkout)');
    expect(rest?.details.slice(0, 5)).toEqual([
      'approval required before the wave starts',
      'approvers: alice, bob',
      'on timeout: roll back',
      'selector resolved when the wave starts; namespaces already migrated are skipped',
      '5 namespace(s) at a time',
    ]);
    expect(rest?.details).toContain('soak 15m: every 1m, check each metric over the last 5m');
  });

  it('describes the gateways step', () => {
    expect(stepOf(example, 'gateways')?.details.slice(0, 2)).toEqual([
      'move gateway workloads matching istio=ingressgateway to 1-30-3 and restart them',
      'soak 10m: every 1m, check each metric over the last 5m',
    ]);
  });

  it('describes finalize: tags and the old revision', () => {
    expect(stepOf(example, 'finalize')?.details).toEqual([
      'move revision tag(s) default to 1-30-3',
      'after 1h, once no pod runs a proxy from 1-29-4, uninstall 1-29-4',
    ]);
    expect(stepOf(allFields, 'finalize')?.details).toEqual(['move revision tag(s) default, prod-stable to canary', 'keep stable installed']);
  });

  it('describes how rollback restores, and what triggers it', () => {
    expect(stepOf(example, 'rollback')).toEqual({
      step: 'rollback',
      title: 'Rollback (only on a failed gate, a failed rollout, reject, abort, an approval timeout)',
      details: [
        'move the gateways in istio-system back to 1-29-4 and restart them',
        "in reverse order, restore each migrated namespace's original labels and restart its workloads",
        'wait for the rollouts and verify every proxy is back on 1-29-4',
        'uninstall the canary revision 1-30-3',
      ],
    });
    expect(stepOf(allFields, 'rollback')?.title).toBe(
      'Rollback (only on a failed gate, a failed rollout, reject, abort, too many inconclusive checks)',
    );
    expect(stepOf(allFields, 'rollback')?.details).toContain('keep the canary revision canary installed');
  });
});

describe('formatPlanSteps', () => {
  it('numbers steps and indents their details', () => {
    const text = formatPlanSteps([
      { step: 'a', title: 'First', details: ['one', 'two'] },
      { step: 'b', title: 'Second', details: [] },
    ]);
    expect(text).toBe('1. First\n   - one\n   - two\n2. Second');
  });

  it('renders the example plan', () => {
    const text = formatPlanSteps(describePlan(example));
    expect(text.startsWith('1. Preflight on cluster prod-eu\n')).toBe(true);
    expect(text).toContain('\n10. Rollback');
  });
});
