// Backup of Istio configuration before an upgrade touches anything: the 13 kinds
// of Istio custom resources the seed's istio-backup.sh exports, with
// server-managed metadata stripped, one YAML file per kind plus a manifest.json
// under <backupDir>/<cluster>/<upgradeId>/. Same id, same directory: a retried
// backup overwrites itself. `restoreBackup` server-side-applies a backup back.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import type { UpgradeActivities } from './contract.js';
import { SERVER_SIDE_APPLY, api, apiFailure, beat, isNotFound } from './kubernetes-support.js';
import { requirePathSegment } from './kubernetes-validate.js';

export type BackupActivities = Pick<UpgradeActivities, 'backupIstioResources'>;

export interface BackupOptions {
  backupDir: string;
}

export interface IstioKind {
  group: string;
  plural: string;
}

/** The seed's ISTIO_RESOURCES, in its order; `${plural}.${group}` is also the CRD's name. */
export const ISTIO_BACKUP_KINDS: readonly IstioKind[] = [
  { plural: 'virtualservices', group: 'networking.istio.io' },
  { plural: 'destinationrules', group: 'networking.istio.io' },
  { plural: 'gateways', group: 'networking.istio.io' },
  { plural: 'serviceentries', group: 'networking.istio.io' },
  { plural: 'sidecars', group: 'networking.istio.io' },
  { plural: 'envoyfilters', group: 'networking.istio.io' },
  { plural: 'workloadentries', group: 'networking.istio.io' },
  { plural: 'workloadgroups', group: 'networking.istio.io' },
  { plural: 'authorizationpolicies', group: 'security.istio.io' },
  { plural: 'peerauthentications', group: 'security.istio.io' },
  { plural: 'requestauthentications', group: 'security.istio.io' },
  { plural: 'telemetries', group: 'telemetry.istio.io' },
  { plural: 'wasmplugins', group: 'extensions.istio.io' },
];

/** The seed's restore order: mesh-wide policy first, then what routes depend on. */
const RESTORE_FIRST = [
  'peerauthentications.security.istio.io',
  'serviceentries.networking.istio.io',
  'destinationrules.networking.istio.io',
  'virtualservices.networking.istio.io',
  'gateways.networking.istio.io',
  'authorizationpolicies.security.istio.io',
];

export const FIELD_MANAGER = 'istio-canary';
export const MANIFEST_FILE = 'manifest.json';
const PAGE_SIZE = 500;
/** YAML 1.1 output quotes strings such as "on" and "yes", so kubectl reads them back as strings. */
const YAML_OPTIONS = { version: '1.1', lineWidth: 0 } as const;

export function kindName(kind: IstioKind): string {
  return `${kind.plural}.${kind.group}`;
}

export function kindFile(kind: IstioKind): string {
  return `${kindName(kind)}.yaml`;
}

export interface BackupManifest {
  cluster: string;
  upgradeId: string;
  createdAt: string;
  kinds: Array<{ name: string; group: string; plural: string; version: string | null; file: string; count: number }>;
}

type KubeObject = { apiVersion?: string; kind?: string; metadata?: Record<string, unknown> & { name?: string; namespace?: string } } & Record<
  string,
  unknown
>;

const SERVER_MANAGED_METADATA = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];

/** A copy without what the API server owns (status, resourceVersion, uid, ...), ready to apply anywhere. */
export function stripServerFields(object: KubeObject): KubeObject {
  const { status: _status, ...rest } = object;
  const metadata = { ...(object.metadata ?? {}) };
  for (const field of SERVER_MANAGED_METADATA) delete metadata[field];
  return { ...rest, metadata };
}

/** The version to read a CRD's objects in: its storage version when served, else the first served one. */
export function servedVersion(crd: V1CustomResourceDefinition): string | undefined {
  const served = (crd.spec?.versions ?? []).filter((v) => v.served);
  return (served.find((v) => v.storage) ?? served[0])?.name;
}

function byNamespaceAndName(a: KubeObject, b: KubeObject): number {
  return (a.metadata?.namespace ?? '').localeCompare(b.metadata?.namespace ?? '') || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

/** Multi-document YAML, one object per document, sorted by namespace and name (stable diffs). */
export function renderObjects(objects: KubeObject[]): string {
  return [...objects]
    .sort(byNamespaceAndName)
    .map((object) => `---\n${stringify(object, YAML_OPTIONS)}`)
    .join('');
}

export function parseObjects(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const document of parseAllDocuments(text, { version: '1.1' })) {
    if (document.errors.length) throw new Error(`invalid YAML: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value && typeof value === 'object') objects.push(value as KubeObject);
  }
  return objects;
}

/** Kinds in the order a restore applies them. */
export function restoreOrder(names: string[]): string[] {
  const rank = (name: string): number => {
    const index = RESTORE_FIRST.indexOf(name);
    return index === -1 ? RESTORE_FIRST.length : index;
  };
  return [...names].sort((a, b) => rank(a) - rank(b));
}

/** Writes via a temporary file and a rename, so a crash never leaves half a file. */
async function writeAtomically(file: string, content: string): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, file);
}

export function createBackupActivities(kc: KubeConfig, options: BackupOptions): BackupActivities {
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);

  async function versionOf(kind: IstioKind): Promise<string | undefined> {
    try {
      return servedVersion(await extensions.readCustomResourceDefinition({ name: kindName(kind) }));
    } catch (error) {
      // The CRD is not installed: there is nothing of this kind to save.
      if (isNotFound(error)) return undefined;
      throw apiFailure(`read CRD ${kindName(kind)}`, error);
    }
  }

  async function listAll(kind: IstioKind, version: string): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let _continue: string | undefined;
    do {
      const page = (await api(`list ${kindName(kind)}`, () =>
        custom.listClusterCustomObject({ group: kind.group, version, plural: kind.plural, limit: PAGE_SIZE, _continue }),
      )) as { items?: KubeObject[]; metadata?: { continue?: string } };
      items.push(...(page.items ?? []));
      _continue = page.metadata?.continue || undefined;
    } while (_continue);
    return items;
  }

  return {
    async backupIstioResources({ cluster, upgradeId }) {
      requirePathSegment(cluster, 'cluster');
      requirePathSegment(upgradeId, 'upgradeId');
      const location = resolve(options.backupDir, cluster, upgradeId);
      await mkdir(location, { recursive: true, mode: 0o700 });

      const counts: Record<string, number> = {};
      const manifest: BackupManifest = { cluster, upgradeId, createdAt: new Date().toISOString(), kinds: [] };
      for (const kind of ISTIO_BACKUP_KINDS) {
        const name = kindName(kind);
        const version = await versionOf(kind);
        const objects = version ? (await listAll(kind, version)).map(stripServerFields) : [];
        // Every kind gets a file, even when empty, so an overwrite never keeps stale objects.
        await writeAtomically(join(location, kindFile(kind)), renderObjects(objects));
        counts[name] = objects.length;
        manifest.kinds.push({ name, group: kind.group, plural: kind.plural, version: version ?? null, file: kindFile(kind), count: objects.length });
        beat({ saved: name, count: objects.length });
      }
      // Written last: a manifest means the backup is complete.
      await writeAtomically(join(location, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      return { location, counts };
    },
  };
}

export interface RestoreResult {
  /** Kind -> objects applied. */
  applied: Record<string, number>;
  failed: Array<{ kind: string; namespace: string; name: string; error: string }>;
}

/**
 * Server-side-applies every object of a backup (field manager istio-canary,
 * taking over conflicting fields). Keeps going past an object that fails and
 * reports it, so one deleted namespace does not block the rest.
 */
export async function restoreBackup(kc: KubeConfig, location: string): Promise<RestoreResult> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const manifest = JSON.parse(await readFile(join(location, MANIFEST_FILE), 'utf8')) as BackupManifest;
  const kinds = new Map(manifest.kinds.map((kind) => [kind.name, kind]));
  const result: RestoreResult = { applied: {}, failed: [] };

  for (const name of restoreOrder([...kinds.keys()])) {
    const kind = kinds.get(name)!;
    result.applied[name] = 0;
    if (kind.count === 0) continue;
    // The file name comes from our own list, never from the manifest, so a tampered manifest cannot point elsewhere.
    const known = ISTIO_BACKUP_KINDS.find((k) => kindName(k) === name);
    if (!known) continue;
    for (const object of parseObjects(await readFile(join(location, kindFile(known)), 'utf8'))) {
      const namespace = object.metadata?.namespace ?? 'default';
      const objectName = object.metadata?.name ?? '';
      const version = object.apiVersion?.split('/')[1] ?? kind.version ?? '';
      try {
        await custom.patchNamespacedCustomObject(
          { group: known.group, version, namespace, plural: known.plural, name: objectName, body: object, fieldManager: FIELD_MANAGER, force: true },
          SERVER_SIDE_APPLY,
        );
        result.applied[name]++;
      } catch (error) {
        result.failed.push({ kind: name, namespace, name: objectName, error: apiFailure(`apply ${name} ${namespace}/${objectName}`, error).message });
      }
      beat({ restoring: name, applied: result.applied[name] });
    }
  }
  return result;
}
