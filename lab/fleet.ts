// The lab's contents as manifests: fake nodes across three zones and a demo
// fleet of namespaces and Deployments labelled the three ways a real mesh is
// (istio-injection=enabled, istio.io/rev=<revision>, istio.io/rev=<tag>).
// Pure: the caller applies the text with kubectl.

export const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;

export function nodesManifest(count = 3): string {
  const nodes = Array.from({ length: count }, (_, i) => {
    const zone = ZONES[i % ZONES.length]!;
    const name = `lab-node-${i + 1}`;
    return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: ${name}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node-role.kubernetes.io/agent: ""
    type: kwok
    topology.kubernetes.io/region: lab
    topology.kubernetes.io/zone: ${zone}
status:
  allocatable: { cpu: "64", memory: 256Gi, pods: "2000" }
  capacity: { cpu: "64", memory: 256Gi, pods: "2000" }
  nodeInfo: { architecture: amd64, operatingSystem: linux, kubeletVersion: fake, kubeProxyVersion: fake }
`;
  });
  return nodes.join('---\n');
}

export type InjectionStyle = 'enabled' | 'revision' | 'tag';

export interface FleetNamespace {
  name: string;
  team: string;
  injection: InjectionStyle;
  deployments: Array<{ name: string; replicas: number }>;
}

const SERVICES = ['api', 'web', 'worker', 'cache', 'gateway-adapter'];

/** About a dozen namespaces of 3-5 Deployments (2-3 replicas), plus canary-test. */
export function demoFleet(): FleetNamespace[] {
  const spec: Array<[string, string, InjectionStyle, number]> = [
    ['canary-test', 'platform', 'enabled', 3],
    ['catalog', 'shop', 'revision', 4],
    ['search', 'shop', 'tag', 3],
    ['payments', 'payments', 'enabled', 5],
    ['checkout', 'checkout', 'revision', 4],
    ['orders', 'checkout', 'tag', 3],
    ['cart', 'shop', 'enabled', 3],
    ['inventory', 'logistics', 'revision', 4],
    ['shipping', 'logistics', 'enabled', 3],
    ['reviews', 'shop', 'tag', 3],
    ['accounts', 'identity', 'revision', 5],
    ['notifications', 'platform', 'enabled', 3],
  ];
  return spec.map(([name, team, injection, count], i) => ({
    name,
    team,
    injection,
    deployments: SERVICES.slice(0, count).map((service, j) => ({ name: service, replicas: 2 + ((i + j) % 2) })),
  }));
}

/** A fleet of `count` uniform namespaces for benchmarks. */
export function scaleFleet(count: number, deploymentsPerNamespace = 4, replicas = 2): FleetNamespace[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `ns-${String(i + 1).padStart(3, '0')}`,
    team: `team-${i % 10}`,
    injection: (['enabled', 'revision', 'tag'] as const)[i % 3]!,
    deployments: Array.from({ length: deploymentsPerNamespace }, (_, j) => ({ name: `svc-${j + 1}`, replicas })),
  }));
}

export function fleetManifest(fleet: FleetNamespace[], revision: string, tag: string): string {
  const docs: string[] = [];
  for (const ns of fleet) {
    const injectionLabel =
      ns.injection === 'enabled' ? 'istio-injection: enabled' : `istio.io/rev: ${ns.injection === 'revision' ? revision : tag}`;
    docs.push(`apiVersion: v1
kind: Namespace
metadata:
  name: ${ns.name}
  labels:
    team: ${ns.team}
    ${injectionLabel}
`);
    for (const d of ns.deployments) docs.push(deploymentManifest(ns.name, d.name, d.replicas));
  }
  return docs.join('---\n');
}

export function deploymentManifest(namespace: string, name: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: { app: ${name} }
spec:
  replicas: ${replicas}
  progressDeadlineSeconds: 120
  selector:
    matchLabels: { app: ${name} }
  strategy:
    rollingUpdate: { maxSurge: 25%, maxUnavailable: 25% }
  template:
    metadata:
      labels: { app: ${name}, version: v1 }
    spec:
      tolerations:
        - { key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule }
      containers:
        - name: app
          image: lab.local/${name}:1.0
          ports: [{ containerPort: 8080, name: http }]
`;
}
