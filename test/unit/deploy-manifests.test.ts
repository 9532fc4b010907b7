// deploy/ read as files: no wildcard in any RBAC rule, everything in the
// kustomization, and the Deployment's settings tied to the code they depend on
// (activity heartbeats, the metrics port). The lab tier (test/lab/rbac.test.ts)
// checks the same manifests against a real API server.

import { describe, expect, it } from '@jest/globals';
import { msToNumber } from '@temporalio/common';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEPLOY_DIR, WORKER_IDENTITY_MANIFESTS } from '../../lab/worker-identity.js';
import { BACKUP_CALL, CLUSTER_CALL, ISTIOCTL_CALL, METRICS_CALL, PREFLIGHT_CALL, waitCall } from '../../workflows/activities.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function documents(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => {
      if (document.errors.length) throw new Error(`${file}: ${document.errors[0]?.message}`);
      return document.toJS() as Doc | null;
    })
    .filter((doc): doc is Doc => doc !== null);
}

const files = yamlFiles(DEPLOY_DIR);
const objects = files.flatMap((file) => documents(file).map((doc) => ({ file: relative(DEPLOY_DIR, file), doc })));
const byKind = (kind: string) => objects.filter(({ doc }) => doc.kind === kind).map(({ doc }) => doc);

/** Every RBAC rule field that holds names, with where it came from. */
function ruleEntries(): Array<{ where: string; value: string }> {
  const entries: Array<{ where: string; value: string }> = [];
  for (const { file, doc } of objects) {
    if (doc.kind !== 'ClusterRole' && doc.kind !== 'Role') continue;
    if (doc.aggregationRule) entries.push({ where: `${file} ${doc.metadata?.name} aggregationRule`, value: '*' });
    (doc.rules ?? []).forEach((rule: Doc, index: number) => {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
        for (const value of rule[field] ?? []) entries.push({ where: `${file} ${doc.metadata?.name} rules[${index}].${field}`, value: String(value) });
      }
    });
  }
  return entries;
}

describe('deploy/ RBAC', () => {
  it('has roles to check', () => {
    expect(byKind('ClusterRole').length + byKind('Role').length).toBeGreaterThan(0);
  });

  it('grants no wildcard anywhere: no "*" in apiGroups, resources, verbs, resourceNames or URLs, no aggregated roles', () => {
    const wildcards = ruleEntries().filter(({ value }) => value.includes('*'));
    expect(wildcards).toEqual([]);
  });

  it('lists every verb and resource by name, each rule with at least one of each', () => {
    for (const role of [...byKind('ClusterRole'), ...byKind('Role')]) {
      for (const rule of role.rules) {
        expect(rule.verbs?.length).toBeGreaterThan(0);
        expect(rule.resources?.length ?? rule.nonResourceURLs?.length).toBeGreaterThan(0);
      }
    }
  });

  it('binds only the worker ServiceAccount, to the project\'s own roles', () => {
    for (const binding of [...byKind('ClusterRoleBinding'), ...byKind('RoleBinding')]) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'istio-canary-worker', namespace: 'istio-canary' }]);
      expect(binding.roleRef.name).toBe('istio-canary-worker');
    }
  });
});

describe('deploy/ kustomization', () => {
  const kustomization = documents(join(DEPLOY_DIR, 'kustomization.yaml'))[0]!;
  const topLevel = readdirSync(DEPLOY_DIR).filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml');

  it('includes every manifest of deploy/', () => {
    expect(kustomization.resources).toEqual(expect.arrayContaining(topLevel));
  });

  it('the lab applies its identity part, without the Deployment', () => {
    expect(topLevel).toEqual(expect.arrayContaining(WORKER_IDENTITY_MANIFESTS));
    const kinds = WORKER_IDENTITY_MANIFESTS.flatMap((file) => documents(join(DEPLOY_DIR, file)).map((doc) => doc.kind));
    expect(kinds).not.toContain('Deployment');
    expect(kinds).toEqual(expect.arrayContaining(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']));
  });
});

describe('deploy/ worker Deployment', () => {
  const deployment = byKind('Deployment').find((doc) => doc.metadata.name === 'istio-canary-worker')!;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const config = byKind('ConfigMap').find((doc) => doc.metadata.name === 'istio-canary-worker')!;

  it('waits on SIGTERM longer than the longest activity heartbeat timeout', () => {
    const presets = [CLUSTER_CALL, PREFLIGHT_CALL, BACKUP_CALL, ISTIOCTL_CALL, METRICS_CALL, waitCall(60_000)];
    const heartbeats = presets.flatMap((preset) => (preset.heartbeatTimeout === undefined ? [] : [msToNumber(preset.heartbeatTimeout)]));
    expect(heartbeats.length).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Math.max(...heartbeats));
  });

  it('runs as the worker ServiceAccount, non-root, read-only root filesystem, no capabilities', () => {
    expect(pod.serviceAccountName).toBe('istio-canary-worker');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    // What it writes goes to volumes: backups and temporary files.
    const mounts = container.volumeMounts.map((mount: Doc) => mount.mountPath);
    expect(mounts).toEqual(expect.arrayContaining(['/tmp', config.data.ISTIO_CANARY_BACKUP_DIR]));
  });

  it('probes /metrics on the port the worker serves metrics on (ISTIO_CANARY_METRICS_ADDRESS)', () => {
    const port = Number(String(config.data.ISTIO_CANARY_METRICS_ADDRESS).split(':').pop());
    const named = container.ports.find((p: Doc) => p.name === 'metrics');
    expect(named.containerPort).toBe(port);
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(probe.httpGet).toEqual({ path: '/metrics', port: 'metrics' });
    }
  });

  it('takes Temporal credentials only from Secrets, never from the ConfigMap', () => {
    expect(Object.keys(config.data).filter((key) => /API_KEY|KEY_DATA|CERT_DATA|PASSWORD|TOKEN/.test(key))).toEqual([]);
    const apiKey = container.env.find((e: Doc) => e.name === 'TEMPORAL_API_KEY');
    expect(apiKey.valueFrom.secretKeyRef).toMatchObject({ name: 'istio-canary-temporal', optional: true });
    expect(pod.volumes.find((v: Doc) => v.name === 'temporal-tls').secret).toMatchObject({ secretName: 'istio-canary-temporal-tls', optional: true });
  });
});
