// The plan module's public entry for the CLI and tests. The workflow sandbox must not import this
// file (it pulls in zod and yaml); it imports the pure files directly: types, duration, names,
// waves, steps.

export type {
  MetricSpec,
  MetricType,
  GateSpec,
  NotificationEvent,
  NotificationTarget,
  PlanError,
  PlanResult,
  ResolvedPlan,
  SecretSource,
  WaveSpec,
  WorkloadKind,
} from './types.js';
export { NOTIFICATION_EVENTS } from './types.js';
export { parsePlan, validatePlan } from './validate.js';
export { planJsonSchema } from './json-schema.js';
export { API_VERSION, KIND } from './schema.js';
export { durationProblem, formatDuration, parseDuration } from './duration.js';
export { deriveRevision, isDns1123Label, parseLabelSelector } from './names.js';
export { batches, resolveWaveNamespaces } from './waves.js';
export { describePlan, formatPlanSteps, type PlanStep } from './steps.js';
