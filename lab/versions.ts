// Reads lab/versions.env, the one file with every pinned version.
import { readFileSync } from 'node:fs';

export function readVersions(file = new URL('./versions.env', import.meta.url)): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) versions[match[1]!] = match[2]!.replace(/^["']|["']$/g, '');
  }
  return versions;
}

export interface MeshVersions {
  /** The version the lab's mesh starts on (installed as image tags by the one istioctl build). */
  oldVersion: string;
  oldRevision: string;
  /** The version istioctl itself is: what an upgrade targets. */
  newVersion: string;
  newRevision: string;
  hub: string;
}

export function meshVersions(v = readVersions()): MeshVersions {
  const need = (key: string) => {
    const value = v[key];
    if (!value) throw new Error(`lab/versions.env has no ${key}`);
    return value;
  };
  const oldVersion = need('LAB_OLD_ISTIO_VERSION');
  const newVersion = need('ISTIO_VERSION');
  return {
    oldVersion,
    oldRevision: oldVersion.replace(/\./g, '-'),
    newVersion,
    newRevision: newVersion.replace(/\./g, '-'),
    hub: need('ISTIO_HUB'),
  };
}
