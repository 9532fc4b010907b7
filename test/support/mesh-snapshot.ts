// Snapshots of a fake mesh, compared before and after an upgrade.
import type { FakeMesh } from './activity-doubles.js';

export function labelsOf(mesh: FakeMesh): Record<string, unknown> {
  return Object.fromEntries(Object.entries(mesh.namespaces).map(([name, ns]) => [name, { ...ns.labels }]));
}

export function restartsOf(mesh: FakeMesh): Record<string, number[]> {
  return Object.fromEntries(Object.entries(mesh.namespaces).map(([name, ns]) => [name, ns.workloads.map((w) => w.restarts)]));
}
