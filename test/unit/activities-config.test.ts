import { describe, expect, it } from '@jest/globals';
import { delimiter, join, resolve } from 'node:path';
import { ActivitiesConfigError, DEFAULT_KUBE_BURST, DEFAULT_KUBE_QPS, expandHome, kubeconfigFiles, parseExtraInstallArgs, parseKubeRateLimit } from '../../activities/config.js';

describe('expandHome', () => {
  it('expands ~ and makes relative paths absolute', () => {
    expect(expandHome('~/.istio-canary/backups', '/home/op')).toBe(join('/home/op', '.istio-canary/backups'));
    expect(expandHome('~', '/home/op')).toBe('/home/op');
    expect(expandHome('/var/backups', '/home/op')).toBe('/var/backups');
    expect(expandHome('backups', '/home/op')).toBe(resolve('backups'));
  });
});

describe('parseExtraInstallArgs', () => {
  it('is empty when unset', () => {
    expect(parseExtraInstallArgs(undefined)).toEqual([]);
    expect(parseExtraInstallArgs('  ')).toEqual([]);
  });
  it('reads a JSON array of strings', () => {
    expect(parseExtraInstallArgs('["--readiness-timeout", "10m"]')).toEqual(['--readiness-timeout', '10m']);
  });
  it.each([['--set a=b'], ['{"a":1}'], ['["ok", 3]'], ['[""]']])('refuses %j', (raw) => {
    expect(() => parseExtraInstallArgs(raw)).toThrow(ActivitiesConfigError);
  });
});

describe('kubeconfigFiles', () => {
  it('splits a KUBECONFIG path list', () => {
    expect(kubeconfigFiles(['/a', '/b'].join(delimiter))).toEqual(['/a', '/b']);
    expect(kubeconfigFiles('')).toEqual([]);
    expect(kubeconfigFiles(undefined)).toEqual([]);
  });
});

describe('parseKubeRateLimit', () => {
  it('has defaults', () => {
    expect(parseKubeRateLimit({})).toEqual({ ratePerSecond: DEFAULT_KUBE_QPS, burst: DEFAULT_KUBE_BURST });
  });
  it('reads ISTIO_CANARY_KUBE_QPS and ISTIO_CANARY_KUBE_BURST', () => {
    expect(parseKubeRateLimit({ ISTIO_CANARY_KUBE_QPS: '2.5', ISTIO_CANARY_KUBE_BURST: '4' })).toEqual({ ratePerSecond: 2.5, burst: 4 });
  });
  it('keeps the default burst at least one second of the rate', () => {
    expect(parseKubeRateLimit({ ISTIO_CANARY_KUBE_QPS: '500' })).toEqual({ ratePerSecond: 500, burst: 500 });
  });
  it.each([
    [{ ISTIO_CANARY_KUBE_QPS: '0' }, /ISTIO_CANARY_KUBE_QPS must be a number above 0/],
    [{ ISTIO_CANARY_KUBE_QPS: 'fast' }, /ISTIO_CANARY_KUBE_QPS/],
    [{ ISTIO_CANARY_KUBE_BURST: '1.5' }, /ISTIO_CANARY_KUBE_BURST must be a whole number above 0/],
    [{ ISTIO_CANARY_KUBE_BURST: '-3' }, /ISTIO_CANARY_KUBE_BURST/],
  ])('refuses %j', (env, message) => {
    expect(() => parseKubeRateLimit(env)).toThrow(message);
    expect(() => parseKubeRateLimit(env)).toThrow(ActivitiesConfigError);
  });
});
