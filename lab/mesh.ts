// The lab's Istio: real revisions installed by the real istioctl, with the
// injection and validation webhooks pointed at the lab injector on 127.0.0.1
// (Istio's "remote istiod" values) because istiod pods cannot run on KWOK nodes
// and the API server must never dial a Service's cluster IP.
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPaths } from './paths.js';
import { tool } from './paths.js';
import { istioOperatorOverlay, type InjectorEndpoint } from './injector/install-values.js';

/** Writes the overlay that installs `revision` at image tag `version`, webhooks pointed at the injector. */
export function writeOverlay(paths: LabPaths, version: string, revision: string, injector: InjectorEndpoint): string {
  const file = join(paths.root, `istio-${revision}.yaml`);
  writeFileSync(file, istioOperatorOverlay(injector, revision, version));
  return file;
}

async function istioctl(paths: LabPaths, args: string[]): Promise<string> {
  const result = await execa(tool('istioctl'), [...args, '--kubeconfig', paths.kubeconfig], { all: true, reject: false, timeout: 600_000 });
  if (result.exitCode !== 0) throw new Error(`istioctl ${args.join(' ')} failed:\n${result.all}`);
  return result.all ?? '';
}

export async function installRevision(paths: LabPaths, version: string, revision: string, injector: InjectorEndpoint): Promise<void> {
  const overlay = writeOverlay(paths, version, revision, injector);
  await istioctl(paths, ['install', '-y', '--set', `revision=${revision}`, '--set', 'profile=minimal', '-f', overlay]);
}

export async function setTag(paths: LabPaths, tag: string, revision: string): Promise<void> {
  await istioctl(paths, ['tag', 'set', tag, '--revision', revision, '--overwrite', '-y']);
}

/**
 * The ingress gateway as Istio's gateway chart renders it with injection: the
 * pod carries `image: auto` and the injector fills in the proxy of the revision
 * its `istio.io/rev` label names. Applied on its own, not through `istioctl
 * install`, so uninstalling the old revision never deletes it (Istio's advice
 * for gateways under revisions).
 */
export function gatewayManifest(revision: string, replicas = 2): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  labels: { app: istio-ingressgateway, istio: ingressgateway }
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: istio-ingressgateway, istio: ingressgateway }
  template:
    metadata:
      labels:
        app: istio-ingressgateway
        istio: ingressgateway
        istio.io/rev: ${revision}
        sidecar.istio.io/inject: "true"
      annotations:
        inject.istio.io/templates: gateway
    spec:
      tolerations:
        - { key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule }
      containers:
        - name: istio-proxy
          image: auto
          ports: [{ containerPort: 8080, name: http2 }, { containerPort: 8443, name: https }]
`;
}
