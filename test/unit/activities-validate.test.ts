import { describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import {
  requireDuration,
  requireInjectionLabels,
  requireKinds,
  requireNamespace,
  requireObjectName,
  requirePathSegment,
  requireRevision,
  requireSelector,
  requireToken,
} from '../../activities/kubernetes-validate.js';

function failure(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApplicationFailure) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('boundary validation', () => {
  it('accepts good names', () => {
    expect(requireNamespace('team-a')).toBe('team-a');
    expect(requireRevision('1-30-3')).toBe('1-30-3');
    expect(requireRevision('default')).toBe('default');
    expect(requireObjectName('istio-ingressgateway.v2')).toBe('istio-ingressgateway.v2');
    expect(requireSelector('istio-canary/wave in (2, 3),!skip')).toBe('istio-canary/wave in (2, 3),!skip');
    expect(requireKinds(['Deployment', 'StatefulSet', 'Deployment'])).toEqual(['Deployment', 'StatefulSet']);
    expect(requireToken('2026-01-02T03:04:05.000Z')).toBe('2026-01-02T03:04:05.000Z');
    expect(requireDuration(600_000, 'timeoutMs')).toBe(600_000);
    expect(requirePathSegment('istio-canary-prod-0b9c2a1e-1f2d', 'upgradeId')).toBe('istio-canary-prod-0b9c2a1e-1f2d');
  });

  it.each([
    ['namespace with a quote', () => requireNamespace('a"b')],
    ['uppercase namespace', () => requireNamespace('Team')],
    ['namespace that is not a string', () => requireNamespace(42)],
    ['revision with dots', () => requireRevision('1.30.3')],
    ['revision with a shell metacharacter', () => requireRevision('x;rm')],
    ['revision too long for istiod-<rev>', () => requireRevision('a'.repeat(60))],
    ['object name with a slash', () => requireObjectName('a/b')],
    ['empty selector', () => requireSelector('')],
    ['selector with a brace', () => requireSelector('app={x}')],
    ['unknown kind', () => requireKinds(['Pod'])],
    ['no kinds', () => requireKinds([])],
    ['empty token', () => requireToken('')],
    ['token with a newline', () => requireToken('a\nb')],
    ['zero duration', () => requireDuration(0, 'timeoutMs')],
    ['path traversal', () => requirePathSegment('..', 'upgradeId')],
    ['path separator', () => requirePathSegment('a/b', 'cluster')],
    ['label value with a space', () => requireInjectionLabels({ 'istio-injection': 'en abled', 'istio.io/rev': null })],
  ])('refuses a %s as non-retryable InvalidInput', (_name, fn) => {
    const error = failure(fn);
    expect(error.type).toBe('InvalidInput');
    expect(error.nonRetryable).toBe(true);
  });

  it('normalises missing injection labels to null', () => {
    expect(requireInjectionLabels({ 'istio.io/rev': '1-30-3' })).toEqual({ 'istio-injection': null, 'istio.io/rev': '1-30-3' });
  });
});
