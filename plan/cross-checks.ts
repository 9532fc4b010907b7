// Checks that relate fields to each other. They run on the schema's output even when some leaf
// failed its own check (a malformed duration, a bad name), so every helper here tolerates values
// that schema.ts has already reported.

import { durationProblem, formatDuration, parseDuration } from './duration.js';
import { deriveRevision, revisionProblem, VERSION_PATTERN } from './names.js';
import type { PlanDocument } from './schema.js';

export type FieldPath = (string | number)[];
export interface FieldProblem {
  path: FieldPath;
  message: string;
}

export function crossFieldProblems(document: PlanDocument): FieldProblem[] {
  return [
    ...gateTimingProblems(document.spec),
    ...revisionProblems(document.spec),
    ...waveShapeProblems(document.spec),
    ...namespaceProblems(document.spec),
    ...duplicates(document.spec.waves.map((wave, i) => [wave.name, ['spec', 'waves', i, 'name']]), 'wave name'),
    ...duplicates(
      document.spec.gates.metrics.map((metric, i) => [metric.name, ['spec', 'gates', 'metrics', i, 'name']]),
      'metric name',
    ),
    ...duplicates(listed(document.spec.rollout.kinds, ['spec', 'rollout', 'kinds']), 'workload kind'),
    ...duplicates(listed(document.spec.finalize.moveTags, ['spec', 'finalize', 'moveTags']), 'tag'),
    ...duplicates(listed(document.spec.approval.approvers, ['spec', 'approval', 'approvers']), 'approver'),
    ...duplicates(document.spec.notifications.map((target, i) => [target.name, ['spec', 'notifications', i, 'name']]), 'notification name'),
  ];
}

type Spec = PlanDocument['spec'];

/** Milliseconds of a must-be-positive duration, or undefined when schema.ts already refused it. */
function millis(text: string): number | undefined {
  return durationProblem(text) === undefined ? parseDuration(text) : undefined;
}

function gateTimingProblems(spec: Spec): FieldProblem[] {
  const interval = millis(spec.gates.interval);
  if (interval === undefined) return [];
  const problems: FieldProblem[] = [];
  const window = millis(spec.gates.window);
  if (window !== undefined && window < interval) {
    problems.push({
      path: ['spec', 'gates', 'window'],
      message: `must be at least spec.gates.interval (${formatDuration(interval)}), or traffic between checks goes unobserved`,
    });
  }
  // A soak shorter than the interval would promote without a single gate check.
  const soaks: [string | undefined, FieldPath][] = [
    [spec.canary.soak, ['spec', 'canary', 'soak']],
    ...spec.waves.map((wave, i): [string | undefined, FieldPath] => [wave.soak, ['spec', 'waves', i, 'soak']]),
    [spec.gateways.enabled ? spec.gateways.soak : undefined, ['spec', 'gateways', 'soak']],
  ];
  for (const [soak, path] of soaks) {
    const soakMs = soak === undefined ? undefined : millis(soak);
    if (soakMs !== undefined && soakMs < interval) {
      problems.push({
        path,
        message: `must be at least spec.gates.interval (${formatDuration(interval)}) so the gates are checked at least once`,
      });
    }
  }
  return problems;
}

function revisionProblems(spec: Spec): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const explicit = spec.target.revision;
  if (explicit === undefined && !VERSION_PATTERN.test(spec.target.version)) return problems;
  const target = explicit ?? deriveRevision(spec.target.version);
  const targetPath: FieldPath = ['spec', 'target', explicit === undefined ? 'version' : 'revision'];
  const derivedProblem = explicit === undefined ? revisionProblem(target) : undefined;
  if (derivedProblem !== undefined) {
    problems.push({ path: targetPath, message: `derives revision ${target}, which ${derivedProblem}; set spec.target.revision` });
  }
  const source = spec.source.revision;
  if (source !== undefined && source === target) {
    const what = explicit === undefined ? `derives revision ${target}, which equals` : 'equals';
    problems.push({ path: targetPath, message: `${what} spec.source.revision: the canary must be a new revision` });
  }
  // Istio refuses a revision tag named like an existing revision.
  spec.finalize.moveTags.forEach((tag, i) => {
    if (tag === target || tag === source) {
      problems.push({ path: ['spec', 'finalize', 'moveTags', i], message: `tag ${tag} has the name of a revision; Istio refuses that` });
    }
  });
  return problems;
}

function waveShapeProblems(spec: Spec): FieldProblem[] {
  return spec.waves.flatMap((wave, i): FieldProblem[] => {
    const hasNamespaces = wave.namespaces !== undefined;
    const hasSelector = wave.selector !== undefined;
    if (hasNamespaces === hasSelector) {
      const message = hasNamespaces ? 'has both namespaces and selector; use one' : 'needs namespaces or a selector';
      return [{ path: ['spec', 'waves', i], message }];
    }
    return [];
  });
}

/** Each namespace migrates once: in the canary, in one wave, or (its gateways) in the gateways step. */
function namespaceProblems(spec: Spec): FieldProblem[] {
  const explicit: [string, FieldPath][] = [
    ...listed(spec.canary.namespaces, ['spec', 'canary', 'namespaces']),
    ...spec.waves.flatMap((wave, i) => listed(wave.namespaces ?? [], ['spec', 'waves', i, 'namespaces'])),
  ];
  const problems = duplicates(explicit, 'namespace');
  if (spec.gateways.enabled) {
    for (const [namespace, path] of explicit) {
      if (namespace === spec.gateways.namespace) {
        problems.push({
          path,
          message: `namespace ${namespace} is spec.gateways.namespace, whose gateways migrate in the gateways step`,
        });
      }
    }
  }
  return problems;
}

function listed(values: readonly string[], path: FieldPath): [string, FieldPath][] {
  return values.map((value, i) => [value, [...path, i]]);
}

function duplicates(entries: [string, FieldPath][], what: string): FieldProblem[] {
  const firstSeen = new Map<string, FieldPath>();
  const problems: FieldProblem[] = [];
  for (const [value, path] of entries) {
    const first = firstSeen.get(value);
    if (first === undefined) firstSeen.set(value, path);
    else problems.push({ path, message: `duplicate ${what} ${value} (already at ${formatFieldPath(first)})` });
  }
  return problems;
}

/** `['spec', 'waves', 1, 'namespaces', 0]` -> `spec.waves[1].namespaces[0]`; the root is `(document)`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(document)';
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}
