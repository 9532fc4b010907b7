import { describe, expect, it } from '@jest/globals';
import { describeLabels, detectSourceRevision, effectiveRevision, injectionLabelsFor, sameLabels } from '../../mesh/revisions.js';

const none = { 'istio-injection': null, 'istio.io/rev': null };

describe('effectiveRevision follows istiod injection rules', () => {
  const tags = { default: '1-29-4', 'prod-stable': '1-28-1' };
  it.each([
    ['istio.io/rev naming a revision', { ...none, 'istio.io/rev': '1-29-4' }, '1-29-4'],
    ['istio.io/rev naming a tag', { ...none, 'istio.io/rev': 'prod-stable' }, '1-28-1'],
    ['istio-injection=enabled means the default tag', { ...none, 'istio-injection': 'enabled' }, '1-29-4'],
    ['istio-injection=enabled wins over istio.io/rev', { 'istio-injection': 'enabled', 'istio.io/rev': 'prod-stable' }, '1-29-4'],
    ['istio-injection=disabled wins over istio.io/rev', { 'istio-injection': 'disabled', 'istio.io/rev': '1-29-4' }, null],
    ['istio-injection=disabled injects nothing', { ...none, 'istio-injection': 'disabled' }, null],
    ['no labels inject nothing', none, null],
  ])('%s', (_what, labels, expected) => {
    expect(effectiveRevision(labels, tags)).toBe(expected);
  });

  it('treats enabled without a default tag as the revision named default', () => {
    expect(effectiveRevision({ ...none, 'istio-injection': 'enabled' }, {})).toBe('default');
  });
});

describe('labels', () => {
  it('moves a namespace to a revision by setting istio.io/rev and dropping istio-injection', () => {
    expect(injectionLabelsFor('1-30-3')).toEqual({ 'istio.io/rev': '1-30-3', 'istio-injection': null });
  });
  it('compares and describes label sets', () => {
    expect(sameLabels(none, { ...none })).toBe(true);
    expect(sameLabels(none, { ...none, 'istio.io/rev': 'x' })).toBe(false);
    expect(describeLabels(none)).toBe('(no injection labels)');
    expect(describeLabels({ 'istio-injection': 'enabled', 'istio.io/rev': 'a' })).toBe('istio-injection=enabled,istio.io/rev=a');
  });
});

describe('detectSourceRevision', () => {
  it('takes the planned revision when it is installed', () => {
    expect(detectSourceRevision('1-29-4', ['1-29-4', '1-28-1'], {})).toEqual({ revision: '1-29-4' });
  });
  it('refuses a planned revision that is not installed', () => {
    expect(detectSourceRevision('1-27-0', ['1-29-4'], {})).toEqual({ error: expect.stringContaining('revision 1-27-0 is not installed (installed: 1-29-4)') });
  });
  it('follows the default tag, else the only revision', () => {
    expect(detectSourceRevision(undefined, ['1-29-4', '1-28-1'], { default: '1-28-1' })).toEqual({ revision: '1-28-1' });
    expect(detectSourceRevision(undefined, ['1-29-4'], {})).toEqual({ revision: '1-29-4' });
  });
  it('asks for the plan to choose when it is ambiguous, and refuses an empty mesh', () => {
    expect(detectSourceRevision(undefined, ['a', 'b'], {})).toEqual({ error: expect.stringContaining('several revisions are installed (a, b)') });
    expect(detectSourceRevision(undefined, [], {})).toEqual({ error: expect.stringContaining('no istiod revision is installed') });
  });
});
