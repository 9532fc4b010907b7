// What every step of the runbook shares, and the reasons a run stops early.
import type { ResolvedPlan } from '../plan/types.js';
import type { MeshState } from '../activities/contract.js';
import type { GateCheck } from './messages.js';
import type { Control } from './control.js';
import type { RollbackStack } from './rollback.js';
import type { UpgradeState } from './state.js';

export interface Run {
  plan: ResolvedPlan;
  state: UpgradeState;
  control: Control;
  rollback: RollbackStack;
  /** Set at preflight. */
  sourceRevision: string;
  meshBefore: MeshState;
}

export type StopKind = 'preflight' | 'gate' | 'inconclusive' | 'reject' | 'approval-timeout' | 'migration';

/** Thrown inside the workflow to leave the forward path; never escapes it. */
export class UpgradeStopped extends Error {
  constructor(
    readonly kind: StopKind,
    message: string,
    readonly evidence: GateCheck[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpgradeStopped';
  }
}
