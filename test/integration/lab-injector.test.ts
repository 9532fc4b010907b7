// The injector against a real etcd + kube-apiserver (loopback only) with the
// webhook configurations rendered by the real istioctl from the install values
// lab/injector/README.md prescribes, and tags made by `istioctl tag set`.
// No controller-manager or KWOK: pods are only admitted and stored, which is
// all injection needs; istiod readiness is set through the status subresource.
// Skipped when the lab binaries are not built (.tools/bin).

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeClusterView } from '../../lab/injector/kube-view.js';
import { startInjector, type RunningInjector } from '../../lab/injector/server.js';
import { eventually } from '../support/activity-context.js';

jest.setTimeout(120_000);

const BIN = join(process.cwd(), '.tools', 'bin');
const tool = (name: string) => join(BIN, name);
const MISSING_TOOLS = ['etcd', 'kube-apiserver', 'kubectl', 'istioctl'].filter((t) => !existsSync(tool(t)));
const describeLab = describe;
// A missing real part fails the run with what to do, never a silent skip.
beforeAll(() => {
  if (MISSING_TOOLS.length) throw new Error(`lab tools missing from .tools/bin: ${MISSING_TOOLS.join(', ')}; run \`npm run tools -- lab\``);
});

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}


describeLab('lab injector with a real API server and istioctl-rendered webhooks', () => {
  let dir: string;
  let kubeconfig: string;
  const children: ChildProcess[] = [];
  let injector: RunningInjector;
  let view: KubeClusterView;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let admission: AdmissionregistrationV1Api;
  let custom: CustomObjectsApi;

  function start(name: string, command: string, args: string[]): ChildProcess {
    const log = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(command, args, { cwd: dir, stdio: ['ignore', log, log] });
    closeSync(log);
    children.push(child);
    return child;
  }

  async function istioctl(args: string[]) {
    return execa(tool('istioctl'), [...args, '--kubeconfig', kubeconfig], { cwd: dir, env: { HOME: dir } });
  }

  async function kubectlApply(yamlText: string) {
    const file = join(dir, `apply-${Date.now()}.yaml`);
    writeFileSync(file, yamlText);
    await execa(tool('kubectl'), ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', '-f', file]);
  }

  /** `istioctl manifest generate` for a revision with the lab's values, applied like `istioctl install` would. */
  async function installRevision(revision: string, version: string) {
    // The caBundle goes in a file: `--set` splits on every '=' and base64 padding breaks it.
    const overlay = join(dir, `overlay-${revision}.yaml`);
    writeFileSync(overlay, injector.installOverlay(revision));
    const { stdout } = await istioctl([
      'manifest', 'generate',
      '-f', overlay,
      '--set', `tag=${version}`,
      '--set', 'components.ingressGateways.[0].enabled=false',
    ]);
    await kubectlApply(stdout);
    await setIstiodReady(revision, 1);
  }

  async function setIstiodReady(revision: string, readyReplicas: number) {
    await apps.patchNamespacedDeploymentStatus(
      { name: `istiod-${revision}`, namespace: 'istio-system', body: { status: { replicas: 1, readyReplicas, availableReplicas: readyReplicas } } },
      MERGE_PATCH,
    );
    await eventually(`istiod-${revision} readyReplicas=${readyReplicas} in the view`, () =>
      view.istiod(revision)?.readyReplicas === readyReplicas ? true : undefined,
    );
  }

  async function namespace(name: string, labels: Record<string, string>) {
    await core.createNamespace({ body: { metadata: { name, labels } } });
    await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'default' } } });
    await eventually(`namespace ${name} in the view`, () => (view.namespaceLabels(name) ? true : undefined));
  }

  let podCount = 0;
  async function createPod(ns: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Promise<V1Pod> {
    podCount += 1;
    return core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: `web-${podCount}`, labels: { app: 'web', ...extra.labels }, ...(extra.annotations && { annotations: extra.annotations }) },
        spec: { containers: [{ name: 'web', image: 'example/web:1' }] },
      },
    });
  }

  function proxyOf(pod: V1Pod): { image?: string; revision?: string } {
    const image = pod.spec?.containers.find((c) => c.name === 'istio-proxy')?.image;
    const status = pod.metadata?.annotations?.['sidecar.istio.io/status'];
    return { ...(image && { image }), ...(status && { revision: (JSON.parse(status) as { revision: string }).revision }) };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-injector-it-'));
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    await execa('openssl', ['genrsa', '-out', 'sa.key', '2048'], { cwd: dir });
    await execa('openssl', ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], { cwd: dir });
    writeFileSync(join(dir, 'tokens.csv'), 'lab-admin-token,lab-admin,lab-admin,"system:masters"\n');

    start('etcd', tool('etcd'), [
      '--name', 'lab',
      '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `lab=http://127.0.0.1:${etcdPeer}`,
    ]);
    start('kube-apiserver', tool('kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
    ]);
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:${apiPort}
    insecure-skip-tls-verify: true
users:
- name: lab-admin
  user:
    token: lab-admin-token
contexts:
- name: lab
  context: {cluster: lab, user: lab-admin}
current-context: lab
`,
    );
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    admission = kc.makeApiClient(AdmissionregistrationV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await eventually(
      'the API server to be ready',
      async () => {
        const ns = await core.readNamespace({ name: 'default' });
        return ns.metadata?.name ? true : undefined;
      },
      60_000,
    );

    // istioctl install creates its namespace before applying the manifest.
    await core.createNamespace({ body: { metadata: { name: 'istio-system' } } });
    view = await KubeClusterView.start(kc);
    injector = await startInjector({ port: 0, stateDir: join(dir, 'injector'), view, log: () => {} });
    await installRevision('1-29-0', '1.29.0');
    await installRevision('1-30-3', '1.30.3');
  });

  afterAll(async () => {
    await injector?.close();
    await view?.stop();
    for (const child of children.reverse()) {
      if (child.exitCode === null) {
        let timer: NodeJS.Timeout | undefined;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('istioctl renders each revision webhook with its own URL, verbatim, and the caBundle', async () => {
    for (const revision of ['1-29-0', '1-30-3']) {
      const mwc = await admission.readMutatingWebhookConfiguration({ name: `istio-sidecar-injector-${revision}` });
      expect(mwc.webhooks?.length).toBeGreaterThan(0);
      for (const wh of mwc.webhooks ?? []) {
        expect(wh.clientConfig.url).toBe(injector.injectURLFor(revision));
        expect(wh.clientConfig.service).toBeUndefined();
        expect(wh.clientConfig.caBundle).toBe(injector.caBundle);
        expect(wh.failurePolicy).toBe('Fail');
      }
      const vwc = await admission.readValidatingWebhookConfiguration({ name: `istio-validator-${revision}-istio-system` });
      expect(vwc.webhooks?.[0]?.clientConfig.url).toBe(injector.validateURL);
      expect(vwc.webhooks?.[0]?.clientConfig.caBundle).toBe(injector.caBundle);
      expect(vwc.webhooks?.[0]?.failurePolicy).toBe('Fail');
    }
  });

  it('istioctl tag set copies the revision webhook URL and caBundle; the default tag validator gets /validate', async () => {
    await istioctl(['tag', 'set', 'default', '--revision', '1-29-0', '--overwrite', '--skip-confirmation']);
    await istioctl(['tag', 'set', 'prod', '--revision', '1-29-0', '--skip-confirmation']);
    await istioctl(['tag', 'set', 'canary', '--revision', '1-30-3', '--skip-confirmation']);
    for (const [tag, revision] of [['default', '1-29-0'], ['prod', '1-29-0'], ['canary', '1-30-3']] as const) {
      const mwc = await admission.readMutatingWebhookConfiguration({ name: `istio-revision-tag-${tag}` });
      expect(mwc.metadata?.labels).toMatchObject({ 'istio.io/tag': tag, 'istio.io/rev': revision });
      for (const wh of mwc.webhooks ?? []) {
        expect(wh.clientConfig.url).toBe(injector.injectURLFor(revision));
        expect(wh.clientConfig.caBundle).toBe(injector.caBundle);
      }
    }
    const validator = await admission.readValidatingWebhookConfiguration({ name: 'istiod-default-validator' });
    expect(validator.webhooks?.[0]?.clientConfig.url).toBe(injector.validateURL);
    expect(validator.webhooks?.[0]?.clientConfig.caBundle).toBe(injector.caBundle);
    await eventually('tags in the view', () => (view.tags()['canary'] === '1-30-3' && view.tags()['prod'] ? true : undefined));
  });

  it('the API server calls the right revision for every label combination, and the rules agree', async () => {
    await namespace('legacy', { 'istio-injection': 'enabled' });
    await namespace('prod-ns', { 'istio.io/rev': 'prod' });
    await namespace('pinned', { 'istio.io/rev': '1-30-3' });
    await namespace('canary-ns', { 'istio.io/rev': 'canary' });
    await namespace('both', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' });
    await namespace('off', { 'istio-injection': 'disabled' });
    await namespace('plain', {});

    const cases: Array<[string, Parameters<typeof createPod>[1], { image?: string; revision?: string }]> = [
      ['legacy', {}, { image: 'docker.io/istio/proxyv2:1.29.0', revision: '1-29-0' }],
      ['prod-ns', {}, { image: 'docker.io/istio/proxyv2:1.29.0', revision: '1-29-0' }],
      ['pinned', {}, { image: 'docker.io/istio/proxyv2:1.30.3', revision: '1-30-3' }],
      ['canary-ns', {}, { image: 'docker.io/istio/proxyv2:1.30.3', revision: '1-30-3' }],
      ['both', {}, { image: 'docker.io/istio/proxyv2:1.29.0', revision: '1-29-0' }],
      ['off', {}, {}],
      ['plain', {}, {}],
      ['plain', { labels: { 'istio.io/rev': 'canary' } }, { image: 'docker.io/istio/proxyv2:1.30.3', revision: '1-30-3' }],
      ['plain', { labels: { 'sidecar.istio.io/inject': 'true' } }, { image: 'docker.io/istio/proxyv2:1.29.0', revision: '1-29-0' }],
      ['prod-ns', { labels: { 'istio.io/rev': 'canary' } }, { image: 'docker.io/istio/proxyv2:1.29.0', revision: '1-29-0' }],
      ['prod-ns', { labels: { 'sidecar.istio.io/inject': 'false' } }, {}],
      ['prod-ns', { annotations: { 'sidecar.istio.io/inject': 'false' } }, {}],
    ];
    for (const [ns, extra, expected] of cases) {
      const pod = await createPod(ns, extra);
      expect({ ns, extra, ...proxyOf(pod) }).toEqual({ ns, extra, ...expected });
      if (expected.image) {
        expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['istio-init']);
        expect(pod.metadata?.labels?.['security.istio.io/tlsMode']).toBe('istio');
      }
    }
    expect(injector.metrics.snapshot().mismatches).toBe(0);
  });

  it('a gateway pod gets the proxy image of its revision in its own istio-proxy container', async () => {
    await core.createNamespacedServiceAccount({ namespace: 'istio-system', body: { metadata: { name: 'gw' } } }).catch(() => undefined);
    const pod = await core.createNamespacedPod({
      namespace: 'istio-system',
      body: {
        metadata: {
          name: 'ingressgateway-1',
          labels: { app: 'istio-ingressgateway', 'sidecar.istio.io/inject': 'true', 'istio.io/rev': '1-30-3' },
          annotations: { 'inject.istio.io/templates': 'gateway', 'sidecar.istio.io/inject': 'true' },
        },
        spec: { serviceAccountName: 'gw', containers: [{ name: 'istio-proxy', image: 'auto' }] },
      },
    });
    expect(pod.spec?.containers.map((c) => `${c.name}=${c.image}`)).toEqual(['istio-proxy=docker.io/istio/proxyv2:1.30.3']);
    expect(proxyOf(pod).revision).toBe('1-30-3');
  });

  it('refuses pods of a revision whose istiod is not Ready, then admits them again', async () => {
    await setIstiodReady('1-30-3', 0);
    await expect(createPod('canary-ns')).rejects.toThrow(/Istio revision 1-30-3: istiod istio-system\/istiod-1-30-3 is not ready/);
    // The other revision is unaffected.
    expect(proxyOf(await createPod('prod-ns')).revision).toBe('1-29-0');
    await setIstiodReady('1-30-3', 1);
    expect(proxyOf(await createPod('canary-ns')).revision).toBe('1-30-3');
  });

  it('moving a tag moves new pods to the new revision', async () => {
    await istioctl(['tag', 'set', 'prod', '--revision', '1-30-3', '--overwrite', '--skip-confirmation']);
    await eventually('prod tag moved in the view', () => (view.tags()['prod'] === '1-30-3' ? true : undefined));
    expect(proxyOf(await createPod('prod-ns')).image).toBe('docker.io/istio/proxyv2:1.30.3');
    expect(injector.metrics.snapshot().mismatches).toBe(0);
  });

  it('the validation webhook admits Istio config and counts it', async () => {
    await eventually(
      'the VirtualService CRD',
      async () => (await custom.listNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', namespace: 'prod-ns', plural: 'virtualservices' })) ? true : undefined,
    );
    const before = injector.metrics.snapshot().validations;
    await custom.createNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      namespace: 'prod-ns',
      plural: 'virtualservices',
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'web' },
        spec: { hosts: ['web'], http: [{ route: [{ destination: { host: 'web' } }] }] },
      },
    });
    expect(injector.metrics.snapshot().validations).toBeGreaterThan(before);
  });

  it('answers within a few milliseconds', () => {
    const metrics = injector.metrics.render();
    const sum = Number(/lab_injector_request_duration_seconds_sum (\S+)/.exec(metrics)?.[1]);
    const count = Number(/lab_injector_request_duration_seconds_count (\S+)/.exec(metrics)?.[1]);
    expect(count).toBeGreaterThan(10);
    expect(sum / count).toBeLessThan(0.05);
  });

  it('manifests parse as YAML (sanity of the istioctl output used above)', async () => {
    const { stdout } = await istioctl(['manifest', 'generate', '--set', 'revision=x', '--set', `values.istiodRemote.injectionURL=${injector.injectURLFor('x')}`]);
    const kinds = parseAllDocuments(stdout).map((d) => (d.toJS() as { kind?: string } | null)?.kind);
    expect(kinds).toContain('MutatingWebhookConfiguration');
  });
});
