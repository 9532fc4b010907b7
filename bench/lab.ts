// The benchmark's own lab: its own directory and ports (so it runs beside a dev
// lab and the test lab), the apiserver audit log on, and helpers to grow the
// fleet and put it back on the old revision between runs.
import { execa } from 'execa';
import { join } from 'node:path';
import { kubectl } from '../lab/cluster.js';
import { scaleFleet, fleetManifest, type FleetNamespace } from '../lab/fleet.js';
import { LAB_TAG, type LabInfo } from '../lab/lab.js';
import { labPaths, REPO_ROOT, tool, type LabPaths } from '../lab/paths.js';
import { waitFor } from '../lab/processes.js';

/** Set before the lab modules read them: they read the environment at call time. */
export function useBenchLab(): void {
  const defaults: Record<string, string> = {
    ISTIO_CANARY_LAB_DIR: join(REPO_ROOT, '.lab-bench'),
    LAB_TEMPORAL_PORT: '36233',
    LAB_TEMPORAL_UI_PORT: '36234',
    LAB_PROMETHEUS_PORT: '36090',
    LAB_INJECTOR_PORT: '36017',
    LAB_TRAFFIC_PORT: '36091',
  };
  for (const [key, value] of Object.entries(defaults)) process.env[key] ??= value;
  process.env.LAB_KUBE_AUDIT = '1';
}

export function benchFleet(count: number): FleetNamespace[] {
  return scaleFleet(count, 4, 2);
}

export async function applyFleet(paths: LabPaths, info: LabInfo, fleet: FleetNamespace[]): Promise<void> {
  await kubectl(paths, ['apply', '-f', '-'], fleetManifest(fleet, info.versions.oldRevision, LAB_TAG));
  await waitRolledOut(paths, fleet.map((ns) => ns.name));
}

/** Every Deployment of these namespaces fully rolled out (updated, available, no old pods left). */
export async function waitRolledOut(paths: LabPaths, namespaces: string[], timeoutMs = 900_000): Promise<void> {
  const scope = new Set(namespaces);
  await waitFor(
    `rollouts in ${namespaces.length} namespaces`,
    async () => {
      const list = JSON.parse(await kubectl(paths, ['get', 'deploy', '-A', '-o', 'json'])) as {
        items: Array<{ metadata: { namespace: string; generation: number }; spec: { replicas: number }; status: Record<string, number> }>;
      };
      const pending = list.items.filter(
        (d) =>
          scope.has(d.metadata.namespace) &&
          !(
            d.status.observedGeneration === d.metadata.generation &&
            d.status.updatedReplicas === d.spec.replicas &&
            d.status.availableReplicas === d.spec.replicas &&
            (d.status.replicas ?? 0) === d.spec.replicas
          ),
      );
      return pending.length ? undefined : true;
    },
    timeoutMs,
  );
}

/**
 * After a completed upgrade: the fleet's labels as the lab made them, every
 * workload restarted onto the old revision, the new revision uninstalled.
 * Done with kubectl and istioctl directly; not measured.
 */
export async function resetFleet(paths: LabPaths, info: LabInfo, fleet: FleetNamespace[]): Promise<void> {
  const { oldRevision, newRevision } = info.versions;
  const groups: Array<[string[], string[]]> = [
    [fleet.filter((n) => n.injection === 'enabled').map((n) => n.name), ['istio-injection=enabled', 'istio.io/rev-']],
    [fleet.filter((n) => n.injection === 'revision').map((n) => n.name), ['istio-injection-', `istio.io/rev=${oldRevision}`]],
    [fleet.filter((n) => n.injection === 'tag').map((n) => n.name), ['istio-injection-', `istio.io/rev=${LAB_TAG}`]],
  ];
  for (const [names, labels] of groups) {
    if (names.length) await kubectl(paths, ['label', 'namespace', ...names, ...labels, '--overwrite']);
  }
  for (const ns of fleet) await kubectl(paths, ['rollout', 'restart', 'deployment', '-n', ns.name]);
  await waitRolledOut(paths, fleet.map((n) => n.name));
  await execa(tool('istioctl'), ['uninstall', '-y', '--revision', newRevision, '--kubeconfig', paths.kubeconfig], { reject: false, timeout: 600_000 });
}

export { labPaths };
