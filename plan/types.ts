// The resolved plan: what the workflow receives. Every default is filled in,
// every duration is in milliseconds and every name has been validated, so the
// workflow never re-parses user input. It must stay JSON-serializable because it
// travels through Temporal history.

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export type MetricSpec =
  /** 5xx share of istio_requests_total (reporter=destination) in the scope's namespaces. */
  | { name: string; type: 'errorRate'; max: number; minRequests: number }
  /** p99 of istio_request_duration_milliseconds (reporter=destination). */
  | { name: string; type: 'latencyP99'; maxMs: number; minRequests: number }
  /** Requests per second reaching the scope; below minRps the canary is not being exercised. */
  | { name: string; type: 'requestVolume'; minRps: number }
  /** Configuration rejected by proxies of the target revision (pilot_total_xds_rejects increase over the window). */
  | { name: string; type: 'xdsRejects'; max: number };

export type MetricType = MetricSpec['type'];

export interface GateSpec {
  intervalMs: number;
  windowMs: number;
  /** Consecutive failed checks of one metric that fail the gate. */
  failureLimit: number;
  /** Inconclusive (or errored) checks of one metric tolerated; one more triggers onInconclusive. */
  inconclusiveLimit: number;
  onInconclusive: 'pause' | 'rollback';
  metrics: MetricSpec[];
}

export interface WaveSpec {
  name: string;
  /** Explicit namespaces, or a label selector resolved at run time (exactly one of the two). */
  namespaces?: string[];
  selector?: string;
  /** Namespaces migrated at once inside the wave. */
  maxParallel: number;
  soakMs: number;
  /** 'required': a human approves before this wave starts. */
  approval: 'required' | 'none';
}

/** What an operator can be told about, in the order an upgrade reaches them. */
export const NOTIFICATION_EVENTS = [
  'started',
  'approval-needed',
  'paused',
  'wave-done',
  'gate-failed',
  'rolled-back',
  'aborted',
  'failed',
  'finished',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** Where a webhook URL comes from on the worker. The URL itself is a secret and never enters the plan. */
export type SecretSource = { env: string } | { file: string };

/** A Slack-compatible incoming webhook and the events it receives. */
export interface NotificationTarget {
  name: string;
  events: NotificationEvent[];
  webhook: { urlFrom: SecretSource };
}

export interface ResolvedPlan {
  name: string;
  cluster: string;
  target: {
    version: string;
    /** DNS-1123 label, no dots; derived from version when omitted (1.30.3 -> 1-30-3). */
    revision: string;
    istioctl: string;
    /** Path to an IstioOperator overlay passed to `istioctl install -f`. */
    overlay?: string;
    /** istioctl profile for the canary control plane; 'minimal' installs istiod only, never gateways. */
    profile: string;
  };
  source: {
    /** Undefined means: detect at preflight. */
    revision?: string;
  };
  canary: { namespaces: string[]; soakMs: number };
  waves: WaveSpec[];
  gateways: {
    enabled: boolean;
    namespace: string;
    /** Label selector for gateway Deployments that follow the revision through injection. */
    selector: string;
    soakMs: number;
  };
  gates: GateSpec;
  approval: {
    beforePromotion: 'required' | 'none';
    timeoutMs: number;
    onTimeout: 'rollback' | 'hold';
    /** Empty means anyone may approve. */
    approvers: string[];
  };
  rollout: { kinds: WorkloadKind[]; progressDeadlineMs: number };
  finalize: {
    moveTags: string[];
    /** Grace period after the last wave before the old revision is uninstalled. */
    uninstallOldAfterMs: number;
    uninstallOld: boolean;
  };
  rollback: {
    /** Uninstall the canary revision once every namespace is back. */
    uninstallCanary: boolean;
  };
  prometheus: { url: string };
  /** Omitted when the plan has none (and in runs started before notifications existed). */
  notifications?: NotificationTarget[];
}

/** One validation problem, always naming the field. */
export interface PlanError {
  /** Dotted path into the YAML document, e.g. `spec.waves[1].namespaces[0]`. */
  path: string;
  message: string;
}

export type PlanResult = { ok: true; plan: ResolvedPlan } | { ok: false; errors: PlanError[] };
