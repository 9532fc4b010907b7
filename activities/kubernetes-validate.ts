// Names are checked again where they leave the process (API paths, label
// selectors, command lines, file paths): the plan validated them once, but an
// activity may be called by other code, and a bad name is a permanent failure
// (InvalidInput), never worth a retry.

import type { WorkloadKind } from '../plan/types.js';
import { isDns1123Label, labelValueProblem, parseLabelSelector, revisionProblem } from '../plan/names.js';
import type { InjectionLabels } from './contract.js';
import { invalidInput } from './kubernetes-support.js';

export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const PATH_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function requireNamespace(namespace: unknown): string {
  if (typeof namespace !== 'string' || !isDns1123Label(namespace)) {
    throw invalidInput(`namespace ${show(namespace)} must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)`);
  }
  return namespace;
}

/** Revisions and revision tags: DNS-1123 labels short enough for `istiod-<name>`. */
export function requireRevision(revision: unknown, what = 'revision'): string {
  const problem = typeof revision === 'string' ? revisionProblem(revision) : 'must be a string';
  if (problem !== undefined) throw invalidInput(`${what} ${show(revision)} ${problem}`);
  return revision as string;
}

/** Object names (Deployments, ...): DNS-1123 subdomains. */
export function requireObjectName(name: unknown): string {
  if (typeof name !== 'string' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw invalidInput(`name ${show(name)} must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)`);
  }
  return name;
}

export function requireSelector(selector: unknown): string {
  if (typeof selector !== 'string') throw invalidInput(`label selector ${show(selector)} must be a string`);
  const parsed = parseLabelSelector(selector);
  if (!parsed.ok) throw invalidInput(`label selector ${show(selector)} ${parsed.errors.join('; ')}`);
  return selector;
}

export function requireKinds(kinds: unknown): WorkloadKind[] {
  if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => WORKLOAD_KINDS.includes(k as WorkloadKind))) {
    throw invalidInput(`kinds ${show(kinds)} must be a non-empty list of ${WORKLOAD_KINDS.join(', ')}`);
  }
  return [...new Set(kinds as WorkloadKind[])];
}

/** A restart token is an annotation value: any printable text, kept short. */
export function requireToken(token: unknown): string {
  if (typeof token !== 'string' || token === '' || token.length > 256 || /[\u0000-\u001f\u007f]/.test(token)) {
    throw invalidInput(`restart token ${show(token)} must be 1-256 printable characters`);
  }
  return token;
}

export function requireInjectionLabels(labels: unknown): InjectionLabels {
  if (!labels || typeof labels !== 'object') throw invalidInput(`labels ${show(labels)} must be an object`);
  const result = {} as InjectionLabels;
  for (const key of ['istio-injection', 'istio.io/rev'] as const) {
    const value = (labels as Record<string, unknown>)[key];
    if (value === null || value === undefined) {
      result[key] = null;
      continue;
    }
    const problem = typeof value === 'string' ? labelValueProblem(value) : 'must be a string or null';
    if (problem !== undefined) throw invalidInput(`label ${key}=${show(value)}: ${problem}`);
    result[key] = value as string;
  }
  return result;
}

export function requireDuration(ms: unknown, what: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw invalidInput(`${what} ${show(ms)} must be a positive number of milliseconds`);
  return ms;
}

/** One directory name in the backup store: no separators, no `.`/`..`. */
export function requirePathSegment(value: unknown, what: string): string {
  if (typeof value !== 'string' || !PATH_SEGMENT.test(value) || value === '..' || value === '.') {
    throw invalidInput(`${what} ${show(value)} must be 1-253 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return value;
}
