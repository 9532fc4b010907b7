import { describe, expect, it } from '@jest/globals';
import { delimiter, join, resolve } from 'node:path';
import { ActivitiesConfigError, expandHome, kubeconfigFiles, parseExtraInstallArgs } from '../../activities/config.js';

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
