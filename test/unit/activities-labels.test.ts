import { describe, expect, it } from '@jest/globals';
import {
  RESTARTED_AT,
  gatewayRevisionPatch,
  injectionLabelsOf,
  injectionLabelsPatch,
  restartPatch,
  templateRevisionOf,
} from '../../activities/kubernetes-labels.js';

describe('injectionLabelsOf', () => {
  it('reads both injection labels, null when absent', () => {
    expect(injectionLabelsOf({ 'istio-injection': 'enabled', team: 'a' })).toEqual({ 'istio-injection': 'enabled', 'istio.io/rev': null });
    expect(injectionLabelsOf(undefined)).toEqual({ 'istio-injection': null, 'istio.io/rev': null });
  });
});

describe('injectionLabelsPatch', () => {
  it('sets the revision and deletes istio-injection with null (merge patch semantics)', () => {
    const patch = injectionLabelsPatch({ 'istio-injection': 'enabled', team: 'a' }, { 'istio-injection': null, 'istio.io/rev': '1-30-3' });
    expect(patch).toEqual({ metadata: { labels: { 'istio-injection': null, 'istio.io/rev': '1-30-3' } } });
  });

  it('touches only the labels that differ and never other labels', () => {
    const patch = injectionLabelsPatch({ 'istio.io/rev': '1-29-0', team: 'a' }, { 'istio-injection': null, 'istio.io/rev': '1-30-3' });
    expect(patch).toEqual({ metadata: { labels: { 'istio.io/rev': '1-30-3' } } });
  });

  it('restores exactly a previous snapshot', () => {
    const patch = injectionLabelsPatch({ 'istio.io/rev': '1-30-3' }, { 'istio-injection': 'enabled', 'istio.io/rev': null });
    expect(patch).toEqual({ metadata: { labels: { 'istio-injection': 'enabled', 'istio.io/rev': null } } });
  });

  it('is null when already converged (a retried call sends nothing)', () => {
    expect(injectionLabelsPatch({ 'istio.io/rev': '1-30-3' }, { 'istio-injection': null, 'istio.io/rev': '1-30-3' })).toBeNull();
    expect(injectionLabelsPatch(undefined, { 'istio-injection': null, 'istio.io/rev': null })).toBeNull();
  });
});

describe('restartPatch', () => {
  const withToken = (token?: string) => {
    const annotations: Record<string, string> = { other: 'x' };
    if (token) annotations[RESTARTED_AT] = token;
    return { spec: { template: { metadata: { annotations } } } };
  };

  it('stamps the token on the pod template', () => {
    expect(restartPatch(withToken(), 'T1')).toEqual({ spec: { template: { metadata: { annotations: { [RESTARTED_AT]: 'T1' } } } } });
    expect(restartPatch({}, 'T1')).toEqual({ spec: { template: { metadata: { annotations: { [RESTARTED_AT]: 'T1' } } } } });
  });

  it('replaces an older token', () => {
    expect(restartPatch(withToken('T0'), 'T1')).not.toBeNull();
  });

  it('is null when the workload already carries the token: a retry restarts nothing twice', () => {
    expect(restartPatch(withToken('T1'), 'T1')).toBeNull();
  });
});

describe('gatewayRevisionPatch', () => {
  const gateway = (revision?: string, token?: string) => {
    const labels: Record<string, string> = { app: 'istio-ingressgateway' };
    const annotations: Record<string, string> = {};
    if (revision) labels['istio.io/rev'] = revision;
    if (token) annotations[RESTARTED_AT] = token;
    return { spec: { template: { metadata: { labels, annotations } } } };
  };

  it('reads the template revision label', () => {
    expect(templateRevisionOf(gateway('1-29-0'))).toBe('1-29-0');
    expect(templateRevisionOf(gateway())).toBeNull();
  });

  it('sets the revision label and token', () => {
    expect(gatewayRevisionPatch(gateway('1-29-0', 'T0'), '1-30-3', 'T1')).toEqual({
      spec: { template: { metadata: { labels: { 'istio.io/rev': '1-30-3' }, annotations: { [RESTARTED_AT]: 'T1' } } } },
    });
  });

  it('deletes the label for a null revision', () => {
    expect(gatewayRevisionPatch(gateway('1-30-3', 'T1'), null, 'T1')).toEqual({ spec: { template: { metadata: { labels: { 'istio.io/rev': null } } } } });
  });

  it('is null when both already match', () => {
    expect(gatewayRevisionPatch(gateway('1-30-3', 'T1'), '1-30-3', 'T1')).toBeNull();
    expect(gatewayRevisionPatch(gateway(undefined, 'T1'), null, 'T1')).toBeNull();
  });
});
