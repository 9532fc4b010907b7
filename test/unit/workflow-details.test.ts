import { describe, expect, it } from '@jest/globals';
import { renderDetails } from '../../workflows/details.js';
import type { UpgradeStatus } from '../../workflows/messages.js';

const status: UpgradeStatus = {
  plan: 'p',
  cluster: 'prod-eu',
  phase: 'awaiting-approval',
  step: 'waiting for approval of promotion',
  paused: false,
  waitingFor: { kind: 'approval', subject: 'promotion', deadline: '2026-11-27T00:00:00.000Z', onTimeout: 'rollback' },
  sourceRevision: '1-29-4',
  targetRevision: '1-30-3',
  namespaces: [
    { name: 'canary-test', wave: 'canary', state: 'migrated', revisionBefore: '1-29-4', revisionAfter: '1-30-3' },
    { name: 'catalog', wave: 'low-risk', state: 'pending', revisionBefore: '1-29-4' },
  ],
  gateChecks: [
    {
      stage: 'canary',
      at: '2026-11-26T10:00:00.000Z',
      index: 3,
      namespaces: ['canary-test'],
      windowMs: 300_000,
      measurements: [
        { metric: 'error-rate', query: 'q', value: 0.00123456, requests: 1500, phase: 'pass', reason: '0.001235 <= max 0.01', threshold: 'max 0.01' },
        { metric: 'p99-latency', query: 'q', value: null, requests: 0, phase: 'inconclusive', reason: 'no data', threshold: 'max 500ms' },
      ],
    },
  ],
  decisions: [],
  timings: [],
};

describe('renderDetails (the Temporal UI current details)', () => {
  const md = renderDetails(status);
  it('says the phase, the revisions and what the upgrade waits for, with the command that answers', () => {
    expect(md).toContain('**Phase:** awaiting-approval');
    expect(md).toContain('1-29-4 → 1-30-3');
    expect(md).toContain('approval** of promotion before 2026-11-27T00:00:00.000Z (then rollback)');
    expect(md).toContain('`istio-canary approve prod-eu`');
  });
  it('lists namespaces done and pending', () => {
    expect(md).toContain('1/2 migrated');
    expect(md).toContain('| canary-test | canary | migrated | 1-29-4 | 1-30-3 |');
    expect(md).toContain('| catalog | low-risk | pending | 1-29-4 |  |');
  });
  it('shows the last gate check with its numbers', () => {
    expect(md).toContain('canary #3');
    expect(md).toContain('| error-rate | pass | 0.00123 | max 0.01 |');
    expect(md).toContain('| p99-latency | inconclusive | no data | max 500ms | no data |');
  });
  it('marks a paused run and shows the result once finished', () => {
    const done = renderDetails({ ...status, paused: true, waitingFor: undefined, result: { outcome: 'rolled-back', reason: 'canary gate failed', evidence: [], rollbackErrors: [], decisions: [] } });
    expect(done).toContain('(paused)');
    expect(done).toContain('**Result:** rolled-back: canary gate failed');
  });
});
