// The lab's mesh traffic simulator (see simulator.ts for the traffic model).
export { startTrafficSimulator, createControlHandler, type RunningTrafficSimulator, type TrafficSimulatorOptions } from './server.js';
export { createKubePodSource, createMemoryPodSource, assertLoopbackServer, type MemoryPodSource, type PodSource } from './pod-source.js';
export {
  MeshSimulator,
  DEFAULT_RPS_PER_WORKLOAD,
  type MeshObjectSink,
  type SimulatorOptions,
  type SimulatorState,
  type WorkloadState,
  type ControlPlaneState,
  type FaultsView,
} from './simulator.js';
export {
  FAULTY_PROFILE,
  HEALTHY_PROFILE,
  ISTIO_DURATION_BUCKETS_MS,
  InvalidFaultError,
  parseFaultMap,
  parseFaultProfile,
  type FaultProfile,
} from './profiles.js';
export { toMeshPod, toIstiod, workloadName, proxyVersion, UNKNOWN_VERSION, type MeshPod, type PodLike, type DeploymentLike } from './pods.js';
