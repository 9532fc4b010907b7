// The upgrade's protocol: every update, query and payload, shared by the
// workflow, the CLI and the tests so there is one definition of each.

import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ResolvedPlan } from '../plan/types.js';
import type { InjectionLabels, MetricSample } from '../activities/contract.js';

export const TASK_QUEUE = 'istio-canary';
export const WORKFLOW_TYPE = 'istioCanaryUpgrade';

/** One upgrade per cluster: the workflow id is derived from the cluster name. */
export function upgradeWorkflowId(cluster: string): string {
  return `istio-canary-${cluster}`;
}

export type Phase =
  | 'preflight'
  | 'backup'
  | 'install'
  | 'canary'
  | 'awaiting-approval'
  | 'waves'
  | 'gateways'
  | 'finalize'
  | 'rolling-back'
  | 'completed'
  | 'rolled-back'
  | 'aborted'
  | 'failed';

export const TERMINAL_PHASES: readonly Phase[] = ['completed', 'rolled-back', 'aborted', 'failed'];

export type NamespaceProgress =
  | 'pending'
  | 'migrating'
  | 'relabelled'
  | 'restarted'
  | 'migrated'
  | 'rolling-back'
  | 'restored'
  | 'failed';

export interface NamespaceStatus {
  name: string;
  /** 'canary', a wave name, or 'gateways'. */
  wave: string;
  state: NamespaceProgress;
  labelsBefore?: InjectionLabels;
  revisionBefore?: string;
  revisionAfter?: string;
  startedAt?: string;
  finishedAt?: string;
  /** The migration's restart and rollout wait, as its child workflow measured it. */
  rolloutMs?: number;
  detail?: string;
}

export type MeasurementPhase = 'pass' | 'fail' | 'inconclusive' | 'error';

/** One metric's evaluated sample: the numbers and what they mean. */
export interface Measurement extends MetricSample {
  phase: MeasurementPhase;
  /** Human reason, e.g. `0.052 > max 0.01` or `42 requests < minRequests 100`. */
  reason: string;
  threshold: string;
}

export interface GateCheck {
  /** 'canary', a wave name, or 'gateways'. */
  stage: string;
  at: string;
  /** 1-based index inside the soak. */
  index: number;
  namespaces: string[];
  windowMs: number;
  measurements: Measurement[];
}

export interface Decision {
  at: string;
  kind: 'start' | 'approve' | 'reject' | 'abort' | 'pause' | 'resume' | 'timeout' | 'gate' | 'rollback';
  by: string;
  reason: string;
  /** What the decision applied to, e.g. 'promotion', 'wave rest', 'canary gate'. */
  subject?: string;
  /** For a gate decision: the numbers of every check it was judged on. */
  evidence?: GateEvidence[];
}

/** One metric of one gate check, as kept with the decision it led to. */
export interface GateEvidence {
  stage: string;
  /** The check's index inside its soak (1-based). */
  check: number;
  at: string;
  metric: string;
  phase: MeasurementPhase;
  value: number | null;
  requests: number | null;
  threshold: string;
  reason: string;
}

export interface StepTiming {
  step: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
}

export type WaitingFor =
  | { kind: 'approval'; subject: string; deadline?: string; onTimeout: 'rollback' | 'hold' }
  | { kind: 'resume'; reason: string };

export interface UpgradeResult {
  outcome: 'completed' | 'rolled-back' | 'aborted' | 'failed';
  reason: string;
  /** Gate checks, measurements and decisions that led to the outcome. */
  evidence: GateCheck[];
  rollbackErrors: string[];
  /** Every decision of the run, in order: start, gates (with their numbers), approvals, rejections, aborts, rollback. */
  decisions: Decision[];
}

export interface UpgradeStatus {
  plan: string;
  cluster: string;
  phase: Phase;
  /** One line on what is happening now. */
  step: string;
  paused: boolean;
  waitingFor?: WaitingFor;
  sourceRevision?: string;
  targetRevision: string;
  currentWave?: string;
  backupLocation?: string;
  namespaces: NamespaceStatus[];
  gateChecks: GateCheck[];
  decisions: Decision[];
  timings: StepTiming[];
  result?: UpgradeResult;
}

export interface UpgradeInput {
  plan: ResolvedPlan;
  /** Who started it, for the audit trail. */
  startedBy: string;
}

export interface ActorInput {
  by: string;
  reason?: string;
}

export interface AbortInput extends ActorInput {
  /** false: stop where it is and leave the mesh as it stands (reported). */
  rollback: boolean;
}

export interface UpdateAck {
  accepted: true;
  phase: Phase;
  message: string;
}

export const approveUpdate = defineUpdate<UpdateAck, [ActorInput]>('approve');
export const rejectUpdate = defineUpdate<UpdateAck, [ActorInput]>('reject');
export const abortUpdate = defineUpdate<UpdateAck, [AbortInput]>('abort');
export const pauseUpdate = defineUpdate<UpdateAck, [ActorInput]>('pause');
export const resumeUpdate = defineUpdate<UpdateAck, [ActorInput]>('resume');
export const statusQuery = defineQuery<UpgradeStatus>('status');
