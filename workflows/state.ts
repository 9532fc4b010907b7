// The upgrade's live state: what the status query returns, what the UI shows,
// and what the update validators consult. Every change goes through here so the
// search attributes and the current details never drift from the status.
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { ResolvedPlan } from '../plan/types.js';
import type {
  Decision,
  GateCheck,
  GateEvidence,
  NamespaceProgress,
  NamespaceStatus,
  Phase,
  UpgradeResult,
  UpgradeStatus,
  WaitingFor,
} from './messages.js';
import { renderDetails } from './details.js';
import { countFinished, countGateCheck } from './metrics.js';
import { PhaseAttr, SourceRevisionAttr } from './search-attributes.js';

/** Gate checks kept in the status; older ones remain in the activity history. */
const MAX_CHECKS_IN_STATUS = 200;

export class UpgradeState {
  readonly status: UpgradeStatus;

  constructor(readonly plan: ResolvedPlan) {
    this.status = {
      plan: plan.name,
      cluster: plan.cluster,
      phase: 'preflight',
      step: 'starting',
      paused: false,
      targetRevision: plan.target.revision,
      namespaces: [],
      gateChecks: [],
      decisions: [],
      timings: [],
    };
  }

  now(): string {
    return new Date().toISOString();
  }

  setPhase(phase: Phase, step: string): void {
    const changed = this.status.phase !== phase;
    this.status.phase = phase;
    this.status.step = step;
    if (changed) upsertSearchAttributes([{ key: PhaseAttr, value: phase }]);
    this.publish();
  }

  setStep(step: string): void {
    this.status.step = step;
    this.publish();
  }

  setSourceRevision(revision: string): void {
    this.status.sourceRevision = revision;
    upsertSearchAttributes([{ key: SourceRevisionAttr, value: revision }]);
    this.publish();
  }

  setWaiting(waiting: WaitingFor | undefined): void {
    this.status.waitingFor = waiting;
    this.publish();
  }

  setPaused(paused: boolean): void {
    this.status.paused = paused;
    this.publish();
  }

  addNamespace(entry: NamespaceStatus): void {
    this.status.namespaces.push(entry);
  }

  namespace(name: string): NamespaceStatus {
    const ns = this.status.namespaces.find((n) => n.name === name);
    if (!ns) throw new Error(`namespace ${name} is not part of this upgrade`);
    return ns;
  }

  markNamespace(name: string, state: NamespaceProgress, detail?: string): void {
    const ns = this.namespace(name);
    ns.state = state;
    ns.detail = detail;
    if ((state === 'migrating' || state === 'relabelled') && !ns.startedAt) ns.startedAt = this.now();
    if (state === 'migrated' || state === 'restored' || state === 'failed') ns.finishedAt = this.now();
    this.publish();
  }

  recordCheck(check: GateCheck): void {
    this.status.gateChecks.push(check);
    if (this.status.gateChecks.length > MAX_CHECKS_IN_STATUS) this.status.gateChecks.shift();
    countGateCheck(this.plan.cluster, check);
    this.publish();
  }

  decide(decision: Omit<Decision, 'at'>): void {
    this.status.decisions.push({ at: this.now(), ...decision });
    this.publish();
  }

  async timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const timing: { step: string; startedAt: string; finishedAt?: string; durationMs?: number } = { step, startedAt: this.now() };
    this.status.timings.push(timing);
    const started = Date.now();
    try {
      return await fn();
    } finally {
      timing.finishedAt = this.now();
      timing.durationMs = Date.now() - started;
    }
  }

  /** Ends the run; the result carries the whole decision log, so it survives without a worker to query. */
  finish(outcome: Omit<UpgradeResult, 'decisions'>): UpgradeResult {
    const result: UpgradeResult = { ...outcome, decisions: [...this.status.decisions] };
    this.status.result = result;
    this.status.waitingFor = undefined;
    this.setPhase(result.outcome, result.reason);
    countFinished(this.plan.cluster, result.outcome);
    return result;
  }

  private publish(): void {
    setCurrentDetails(renderDetails(this.status));
  }
}

/** The numbers behind a gate decision: every metric of every check it was judged on. */
export function gateEvidence(checks: readonly GateCheck[]): GateEvidence[] {
  return checks.flatMap((check) =>
    check.measurements.map((m) => ({
      stage: check.stage,
      check: check.index,
      at: check.at,
      metric: m.metric,
      phase: m.phase,
      value: m.value,
      requests: m.requests,
      threshold: m.threshold,
      reason: m.error ?? m.reason,
    })),
  );
}
