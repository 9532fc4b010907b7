// The activity surface the workflow depends on. The worker registers real
// implementations (one module per outside system); workflow tests register
// doubles of this same interface. Every function converges to a target state, so
// a retry after a crash is harmless. Inputs and outputs are plain JSON.

import type { MetricSpec, NotificationEvent, NotificationTarget, WorkloadKind } from '../plan/types.js';

/** Istio-relevant namespace labels; null means "label absent". */
export interface InjectionLabels {
  'istio-injection': string | null;
  'istio.io/rev': string | null;
}

export interface NamespaceSnapshot {
  name: string;
  labels: InjectionLabels;
}

export interface ControlPlaneRevision {
  /** Revision name; 'default' for an istiod installed without one. */
  revision: string;
  /** Istio version of that istiod's image tag, when known. */
  version?: string;
  ready: boolean;
}

export interface MeshState {
  revisions: ControlPlaneRevision[];
  /** Revision tag -> revision it points at (from the tag webhooks). */
  tags: Record<string, string>;
  namespaces: NamespaceSnapshot[];
}

export interface WorkloadRef {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

export interface RestartResult {
  /** Workloads whose restart token changed in this call. */
  restarted: WorkloadRef[];
  /** Workloads that already carried the token (a retried call). */
  alreadyRestarted: WorkloadRef[];
}

export interface RolloutResult {
  workloads: Array<WorkloadRef & { readyReplicas: number; replicas: number }>;
  durationMs: number;
}

export interface ProxyRevisionReport {
  namespace: string;
  /** Pods whose injected proxy comes from the expected revision. */
  matching: number;
  /** Pods on another revision, or not injected at all, with what they run. */
  mismatched: Array<{ pod: string; revision: string | null }>;
}

export interface GatewayState {
  namespace: string;
  name: string;
  /** The pod template's istio.io/rev label; null when absent. */
  revision: string | null;
}

export interface BackupResult {
  location: string;
  /** Kind (plural.group) -> number of objects saved. */
  counts: Record<string, number>;
}

/** What measureGate asks Prometheus for one metric, with the raw numbers. */
export interface MetricSample {
  metric: string;
  /** The PromQL that produced `value`, kept as evidence. */
  query: string;
  /** NaN and empty results are reported as null ("no data"). */
  value: number | null;
  /** Requests seen in the window, for minRequests; null when unknown. */
  requests: number | null;
  /** Set when the query itself failed (Prometheus down, bad response). */
  error?: string;
}

export interface GateScope {
  prometheusUrl: string;
  namespaces: string[];
  /** Revision whose control plane is judged by xdsRejects. */
  revision: string;
  windowMs: number;
  metrics: MetricSpec[];
  /** 'ingress' judges what the gateways in `namespaces` sent (the gateway wave); default: what the namespaces served. */
  traffic?: 'served' | 'ingress';
}

/** What happened, as the workflow tells it; the notifier turns it into a chat message. Never holds a secret. */
export interface NotificationNotice {
  event: NotificationEvent;
  cluster: string;
  plan: string;
  workflowId: string;
  version: string;
  targetRevision: string;
  /** Known once preflight has detected it. */
  sourceRevision?: string;
  /** One line: what happened. */
  summary: string;
  /** Further facts, label -> value, shown in order (e.g. the command that answers an approval). */
  facts: Array<{ label: string; value: string; /** Shown as code: a command to copy. */ code?: boolean }>;
}

/** A notification target that cannot be used, named by where its URL should come from (never by the URL). */
export interface NotificationTargetProblem {
  target: string;
  problem: string;
}

export interface UpgradeActivities {
  // --- Kubernetes ---
  /** Reachability and version of the API server. */
  checkCluster(): Promise<{ serverVersion: string }>;
  /** Which istiod revisions exist, tags, and how the given namespaces are labelled. */
  detectMeshState(input: { namespaces: string[] }): Promise<MeshState>;
  /** Namespaces matching a label selector, sorted. */
  listNamespaces(input: { selector: string }): Promise<string[]>;
  /** Names among `namespaces` that do not exist. */
  findMissingNamespaces(input: { namespaces: string[] }): Promise<string[]>;
  /** Converge a namespace's injection labels to exactly these values. */
  setNamespaceInjection(input: { namespace: string; labels: InjectionLabels }): Promise<NamespaceSnapshot>;
  /** Set kubectl.kubernetes.io/restartedAt=token on every workload of these kinds, unless it already has it. */
  restartWorkloads(input: { namespace: string; kinds: WorkloadKind[]; token: string }): Promise<RestartResult>;
  /** Wait until every workload's rollout is complete; fails for good past the progress deadline. */
  waitForRollout(input: { namespace: string; kinds: WorkloadKind[]; progressDeadlineMs: number }): Promise<RolloutResult>;
  /** Which revision injected each running pod's proxy. */
  checkProxyRevision(input: { namespace: string; revision: string }): Promise<ProxyRevisionReport>;
  /** Wait until istiod for the revision is Ready. */
  waitForIstiod(input: { revision: string; timeoutMs: number }): Promise<{ readyReplicas: number }>;
  /** Gateway Deployments matching the selector and the revision they follow. */
  listGateways(input: { namespace: string; selector: string }): Promise<GatewayState[]>;
  /** Converge a gateway's pod-template revision label and restart token. */
  setGatewayRevision(input: { namespace: string; name: string; revision: string | null; token: string }): Promise<{ changed: boolean }>;
  /** Pods anywhere still running a proxy injected by the revision. */
  countProxiesOnRevision(input: { revision: string }): Promise<{ pods: number; namespaces: string[] }>;

  // --- Backup ---
  backupIstioResources(input: { cluster: string; upgradeId: string }): Promise<BackupResult>;

  // --- istioctl ---
  istioctlVersion(input: { istioctl: string }): Promise<{ clientVersion: string }>;
  istioctlPrecheck(input: { istioctl: string; revision: string }): Promise<{ output: string }>;
  istioctlInstall(input: { istioctl: string; revision: string; profile: string; overlay?: string }): Promise<{ output: string }>;
  istioctlTagSet(input: { istioctl: string; tag: string; revision: string }): Promise<{ output: string }>;
  istioctlUninstall(input: { istioctl: string; revision: string }): Promise<{ output: string }>;

  // --- Prometheus ---
  checkPrometheus(input: { url: string }): Promise<{ version: string }>;
  /** One sample per metric; query failures are data (MetricSample.error), never thrown. */
  measureGate(input: GateScope): Promise<MetricSample[]>;

  // --- Notifications (Slack-compatible incoming webhooks) ---
  /** Resolves every target's URL on the worker without sending anything; returns what is wrong with each. */
  checkNotificationTargets(input: { targets: NotificationTarget[] }): Promise<NotificationTargetProblem[]>;
  /** Posts one message to one target; 4xx (but 429) fails for good, other failures are retried. */
  sendNotification(input: { target: NotificationTarget; notice: NotificationNotice }): Promise<{ status: number }>;
}

/** Error types the activities throw as non-retryable: retrying cannot help. */
export const PermanentErrors = {
  RolloutFailed: 'RolloutFailed',
  NamespaceNotFound: 'NamespaceNotFound',
  IstioctlFailed: 'IstioctlFailed',
  InvalidInput: 'InvalidInput',
} as const;
export type PermanentErrorType = (typeof PermanentErrors)[keyof typeof PermanentErrors];
