import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  ActivitiesConfigError,
  DEFAULT_KUBE_BURST,
  DEFAULT_KUBE_QPS,
  expandHome,
  inClusterKubeConfig,
  kubeconfigFiles,
  loadKubeConfig,
  parseExtraInstallArgs,
  parseKubeRateLimit,
} from '../../activities/config.js';

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

describe('in-cluster configuration (the worker as a pod, deploy/)', () => {
  let dir: string;
  let serviceAccountDir: string;
  let home: string;
  const podEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'istio-canary-config-'));
    serviceAccountDir = join(dir, 'serviceaccount');
    home = join(dir, 'home');
    mkdirSync(serviceAccountDir);
    mkdirSync(home);
    writeFileSync(join(serviceAccountDir, 'token'), 'first-token');
    writeFileSync(join(serviceAccountDir, 'ca.crt'), '');
    writeFileSync(join(serviceAccountDir, 'namespace'), 'istio-canary\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function bearer(kubeConfig: KubeConfig): Promise<string | undefined> {
    const options: { headers?: Record<string, string> } = { headers: {} };
    await kubeConfig.applyToHTTPSOptions(options);
    return options.headers?.['Authorization'];
  }

  it('reaches the API server Service with the mounted token, read from its file (rotation is picked up)', async () => {
    const kubeConfig = inClusterKubeConfig(podEnv, serviceAccountDir)!;
    expect(kubeConfig.getCurrentCluster()).toMatchObject({ server: 'https://10.96.0.1:443', caFile: join(serviceAccountDir, 'ca.crt') });
    expect(kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace).toBe('istio-canary');
    // The token is not copied into the config: the kubelet rewrites the file as it rotates it.
    writeFileSync(join(serviceAccountDir, 'token'), 'rotated-token');
    expect(await bearer(kubeConfig)).toBe('Bearer rotated-token');
  });

  it('brackets an IPv6 API server address', () => {
    expect(inClusterKubeConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir)?.getCurrentCluster()?.server).toBe(
      'https://[fd00::1]:443',
    );
  });

  it('is not in a pod without the Service variables or without a token', () => {
    expect(inClusterKubeConfig({}, serviceAccountDir)).toBeUndefined();
    expect(inClusterKubeConfig(podEnv, join(dir, 'missing'))).toBeUndefined();
  });

  it('loadKubeConfig falls back to it when neither KUBECONFIG nor ~/.kube/config exists, and gives istioctl no --kubeconfig', () => {
    const loaded = loadKubeConfig(podEnv, { home, serviceAccountDir });
    expect(loaded.kubeConfig.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
    expect(loaded.kubeconfigPath).toBeUndefined();
  });

  it('prefers ~/.kube/config, as kubectl does', () => {
    mkdirSync(join(home, '.kube'));
    writeFileSync(
      join(home, '.kube', 'config'),
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\n' +
        'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    expect(loadKubeConfig(podEnv, { home, serviceAccountDir }).kubeConfig.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('refuses to start with no cluster at all', () => {
    expect(() => loadKubeConfig({}, { home, serviceAccountDir: join(dir, 'missing') })).toThrow(/no Kubernetes cluster configured/);
  });
});
