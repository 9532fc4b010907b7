import { describe, expect, it } from '@jest/globals';
import {
  installArgs,
  isAbsentRevision,
  isPermanentFailure,
  outputTail,
  parseClientVersion,
  parseShortVersion,
  precheckArgs,
  tagSetArgs,
  uninstallArgs,
  versionArgs,
  withKubeconfig,
} from '../../activities/istioctl.js';

describe('istioctl command lines', () => {
  it('asks for the client version only, as JSON', () => {
    expect(versionArgs()).toEqual(['version', '--remote=false', '-o', 'json']);
  });

  it('prechecks the target revision', () => {
    expect(precheckArgs('1-30-3')).toEqual(['x', 'precheck', '--revision', '1-30-3']);
  });

  it('installs a revision with a profile, then the overlay, then the extra args', () => {
    expect(installArgs({ revision: '1-30-3', profile: 'minimal', overlay: '/plans/overlay.yaml' }, ['--readiness-timeout', '10m'])).toEqual([
      'install',
      '-y',
      '--set',
      'revision=1-30-3',
      '--set',
      'profile=minimal',
      '-f',
      '/plans/overlay.yaml',
      '--readiness-timeout',
      '10m',
    ]);
    expect(installArgs({ revision: 'r', profile: 'minimal' })).not.toContain('-f');
  });

  it('moves a tag, overwriting, without a prompt', () => {
    expect(tagSetArgs('default', '1-30-3')).toEqual(['tag', 'set', 'default', '--revision', '1-30-3', '--overwrite', '-y']);
  });

  it('uninstalls one revision without a prompt', () => {
    expect(uninstallArgs('1-29-0')).toEqual(['uninstall', '--revision', '1-29-0', '-y']);
  });

  it('adds --kubeconfig only when configured', () => {
    expect(withKubeconfig(['version'], '/k/config')).toEqual(['version', '--kubeconfig', '/k/config']);
    expect(withKubeconfig(['version'], undefined)).toEqual(['version']);
  });

  it('keeps a hostile value as one argument', () => {
    const args = installArgs({ revision: 'r', profile: 'minimal', overlay: '/tmp/a b;rm -rf ~' });
    expect(args).toContain('/tmp/a b;rm -rf ~');
  });
});

describe('reading istioctl output', () => {
  it('parses `version -o json`', () => {
    const out = JSON.stringify({ clientVersion: { version: '1.30.3', revision: 'abc', golang_version: 'go1.24', status: 'Clean', tag: '1.30.3' } }, null, 2);
    expect(parseClientVersion(out)).toBe('1.30.3');
    expect(parseClientVersion('{}')).toBeUndefined();
    expect(parseClientVersion('client version: 1.30.3')).toBeUndefined();
  });

  it('parses `version --short` in both styles', () => {
    expect(parseShortVersion('client version: 1.30.3\n')).toBe('1.30.3');
    expect(parseShortVersion('1.9.5\n')).toBe('1.9.5');
    expect(parseShortVersion('nothing here')).toBeUndefined();
  });

  it.each([
    ['Error: unknown flag: --frobnicate'],
    ['Error: unknown shorthand flag: \'z\' in -z'],
    ['Error: unknown command "instal" for "istioctl"'],
    ['Error: merge inputs: open /plans/overlay.yaml: no such file or directory'],
    ['Error: unable to parse file: error converting YAML to JSON'],
    ['Error: could not unmarshal: unknown field "compnents"'],
    ['Error: profile "tiny" not found: stat profiles/tiny.yaml'],
    ['Error: Issues found when checking the cluster. Istio may not be safe to install or upgrade.'],
  ])('treats %j as permanent', (output) => {
    expect(isPermanentFailure(output)).toBe(true);
  });

  it.each([
    ['Error: failed to wait for resource: resources not ready after 5m0s: context deadline exceeded'],
    ['Error: Get "https://127.0.0.1:6443/api": dial tcp 127.0.0.1:6443: connect: connection refused'],
    ['Error: the server is currently unable to handle the request'],
  ])('treats %j as retryable', (output) => {
    expect(isPermanentFailure(output)).toBe(false);
  });

  it('recognises an uninstall of a revision that is already gone', () => {
    expect(isAbsentRevision('Error: could not find target revision\n')).toBe(true);
    expect(isAbsentRevision('Error: failed to delete control plane resources by revision')).toBe(false);
  });

  it('keeps the last lines of long output', () => {
    const output = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    const tail = outputTail(output, 3);
    expect(tail).toBe('line 97\nline 98\nline 99');
    expect(outputTail('x'.repeat(10_000), 30, 100)).toHaveLength(101);
  });
});
