// The real backup activity and restore (activities/backup.ts) against the test
// lab's API server with Istio's CRDs as the real istioctl installed them: a
// VirtualService and a DestinationRule made here (admitted by Istio's
// validation webhooks, which call the lab injector) are exported with
// server-managed fields stripped, deleted, and brought back by restoreBackup.
// Works in its own namespace and a temporary backup directory, both removed.

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ISTIO_BACKUP_KINDS, MANIFEST_FILE, kindFile, kindName, type BackupManifest } from '../../activities/backup.js';
import { createActivities, restoreBackup } from '../../activities/index.js';
import type { UpgradeActivities } from '../../activities/contract.js';
import { kubectl } from '../../lab/cluster.js';
import { labInfo } from '../../lab/lab.js';
import { labPaths, type LabPaths } from '../../lab/paths.js';
import { useTestLab } from '../support/lab.js';

jest.setTimeout(120_000);

const RUN = Date.now().toString(36);
const NS = `act-bk-${RUN}`;
const CLUSTER = 'lab-test';
const UPGRADE_ID = `backup-${RUN}`;
const NETWORKING = { group: 'networking.istio.io', version: 'v1' };

const virtualService = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: NS, labels: { app: 'reviews' }, annotations: { 'lab.istio-canary.io/note': 'made by activities-backup' } },
  spec: {
    hosts: ['reviews'],
    http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 90 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 10 }] }],
  },
};
const destinationRule = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'reviews', namespace: NS },
  spec: {
    host: 'reviews',
    trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ],
  },
};

type Stored = { apiVersion?: string; kind?: string; metadata?: Record<string, unknown> & { name?: string; namespace?: string }; spec?: unknown; status?: unknown };

let paths: LabPaths;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let activities: UpgradeActivities;
let backupDir: string;

function run<I, R>(fn: (input: I) => Promise<R>, input: I): Promise<R> {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);
}

function readObjects(file: string): Stored[] {
  return parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1' }).map((doc) => doc.toJS() as Stored);
}

async function readStored(plural: string): Promise<Stored | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ ...NETWORKING, namespace: NS, plural, name: 'reviews' })) as Stored;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  useTestLab();
  paths = labPaths();
  const info = labInfo(paths);
  kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
  backupDir = mkdtempSync(join(tmpdir(), 'istio-canary-backup-'));
  activities = createActivities({ kubeConfig: kc, kubeconfigPath: info.kubeconfig, backupDir });

  await kubectl(paths, ['create', 'namespace', NS]);
  await custom.createNamespacedCustomObject({ ...NETWORKING, namespace: NS, plural: 'virtualservices', body: virtualService });
  await custom.createNamespacedCustomObject({ ...NETWORKING, namespace: NS, plural: 'destinationrules', body: destinationRule });
});

afterAll(async () => {
  await kubectl(paths, ['delete', 'namespace', NS, '--ignore-not-found', '--timeout=90s']).catch(() => undefined);
  rmSync(backupDir, { recursive: true, force: true });
});

describe('backupIstioResources and restoreBackup', () => {
  let location: string;

  it('exports all 13 kinds of Istio resources, one file each plus a manifest, with server-managed fields stripped', async () => {
    const result = await run(activities.backupIstioResources, { cluster: CLUSTER, upgradeId: UPGRADE_ID });
    location = result.location;
    expect(location).toBe(join(backupDir, CLUSTER, UPGRADE_ID));
    expect(Object.keys(result.counts).sort()).toEqual(ISTIO_BACKUP_KINDS.map(kindName).sort());
    expect(result.counts['virtualservices.networking.istio.io']).toBeGreaterThanOrEqual(1);
    expect(result.counts['destinationrules.networking.istio.io']).toBeGreaterThanOrEqual(1);

    expect(readdirSync(location).sort()).toEqual([MANIFEST_FILE, ...ISTIO_BACKUP_KINDS.map(kindFile)].sort());
    expect(statSync(location).mode & 0o777).toBe(0o700);
    const manifest = JSON.parse(readFileSync(join(location, MANIFEST_FILE), 'utf8')) as BackupManifest;
    expect(manifest).toMatchObject({ cluster: CLUSTER, upgradeId: UPGRADE_ID });
    expect(manifest.kinds).toHaveLength(13);
    // Every kind's CRD is installed by istioctl, so every kind was read at a served version.
    for (const kind of manifest.kinds) {
      expect(kind.version).toMatch(/^v1/);
      expect(kind.count).toBe(result.counts[kind.name]);
      expect(readObjects(join(location, kind.file))).toHaveLength(kind.count);
      expect(statSync(join(location, kind.file)).mode & 0o777).toBe(0o600);
    }

    for (const [object, plural] of [
      [virtualService, 'virtualservices'],
      [destinationRule, 'destinationrules'],
    ] as const) {
      const saved = readObjects(join(location, `${plural}.networking.istio.io.yaml`)).find((o) => o.metadata?.namespace === NS);
      expect(saved).toBeDefined();
      expect(saved).toMatchObject({ apiVersion: object.apiVersion, kind: object.kind, spec: object.spec });
      expect(saved!.metadata).toEqual(object.metadata);
      expect(saved!.status).toBeUndefined();
      // The live object does carry what was stripped.
      const live = await readStored(plural);
      expect(live?.metadata).toEqual(expect.objectContaining({ uid: expect.any(String), resourceVersion: expect.any(String), managedFields: expect.any(Array) }));
    }
  });

  it('a retried backup with the same id overwrites the same directory', async () => {
    const before = readFileSync(join(location, 'virtualservices.networking.istio.io.yaml'), 'utf8');
    const again = await run(activities.backupIstioResources, { cluster: CLUSTER, upgradeId: UPGRADE_ID });
    expect(again.location).toBe(location);
    expect(readFileSync(join(location, 'virtualservices.networking.istio.io.yaml'), 'utf8')).toBe(before);
    expect(readdirSync(location).filter((file) => file.includes('.tmp-'))).toEqual([]);
  });

  it('restoreBackup re-applies the objects after they were deleted', async () => {
    await custom.deleteNamespacedCustomObject({ ...NETWORKING, namespace: NS, plural: 'virtualservices', name: 'reviews' });
    await custom.deleteNamespacedCustomObject({ ...NETWORKING, namespace: NS, plural: 'destinationrules', name: 'reviews' });
    expect(await readStored('virtualservices')).toBeUndefined();
    expect(await readStored('destinationrules')).toBeUndefined();

    const result = await restoreBackup(kc, location);
    expect(result.failed).toEqual([]);
    expect(result.applied['virtualservices.networking.istio.io']).toBeGreaterThanOrEqual(1);
    expect(result.applied['destinationrules.networking.istio.io']).toBeGreaterThanOrEqual(1);

    for (const [object, plural] of [
      [virtualService, 'virtualservices'],
      [destinationRule, 'destinationrules'],
    ] as const) {
      const restored = await readStored(plural);
      expect(restored).toMatchObject({ kind: object.kind, spec: object.spec, metadata: object.metadata });
      const managers = (restored?.metadata?.['managedFields'] as Array<{ manager?: string; operation?: string }>).map((f) => `${f.manager}/${f.operation}`);
      expect(managers).toContain('istio-canary/Apply');
    }
  });

  it('refuses a cluster or upgrade id that would leave the backup directory', async () => {
    await expect(run(activities.backupIstioResources, { cluster: '..', upgradeId: UPGRADE_ID })).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    await expect(run(activities.backupIstioResources, { cluster: CLUSTER, upgradeId: '../escape' })).rejects.toMatchObject({ type: 'InvalidInput' });
  });
});
