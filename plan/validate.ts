// From plan text to a ResolvedPlan or every problem found, each naming its field. Order: YAML
// syntax, then the schema (types, unknown fields, per-field rules), then cross-field checks, then
// resolution. Cross-field checks run whenever every field has the right type, so one malformed
// duration does not hide a duplicate namespace; a wrong type stops them, as they could not
// safely read the document.

import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { crossFieldProblems, formatFieldPath } from './cross-checks.js';
import { resolvePlan } from './resolve.js';
import { planSchema } from './schema.js';
import type { PlanError, PlanResult } from './types.js';

const checkedPlanSchema = planSchema.superRefine((document, ctx) => {
  for (const { path, message } of crossFieldProblems(document)) ctx.addIssue({ code: 'custom', path, message });
});

/** Parses and validates plan YAML as read from a file. */
export function parsePlan(yamlText: string): PlanResult {
  const loaded = loadYaml(yamlText);
  return 'errors' in loaded ? { ok: false, errors: loaded.errors } : validatePlan(loaded.value);
}

/** Validates a plan already parsed from YAML or JSON. */
export function validatePlan(document: unknown): PlanResult {
  const parsed = checkedPlanSchema.safeParse(document, { error: describeIssue });
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.flatMap(toPlanErrors) };
  return { ok: true, plan: resolvePlan(parsed.data) };
}

function loadYaml(text: string): { value: unknown } | { errors: PlanError[] } {
  const documents = parseAllDocuments(text);
  const errors = documents.flatMap((document) => [...document.errors, ...document.warnings]).map(
    (error): PlanError => ({ path: '(document)', message: `invalid YAML: ${error.message.split('\n')[0]}` }),
  );
  if (errors.length > 0) return { errors };
  if (documents.length === 0) return { errors: [{ path: '(document)', message: 'is empty; expected an UpgradePlan' }] };
  if (documents.length > 1) {
    return { errors: [{ path: '(document)', message: `expected one YAML document, found ${documents.length}` }] };
  }
  try {
    // Anchors and aliases are allowed; maxAliasCount bounds their expansion ("billion laughs").
    return { value: (documents[0] as (typeof documents)[number]).toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    return { errors: [{ path: '(document)', message: `invalid YAML: ${(error as Error).message}` }] };
  }
}

function toPlanErrors(issue: z.core.$ZodIssue): PlanError[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatFieldPath([...issue.path, key]), message: issue.message }));
  }
  return [{ path: formatFieldPath(issue.path), message: issue.message }];
}

/** Plain-language messages for the issues the schema does not word itself. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) return 'is required';
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `must be ${issue.values.map((value) => JSON.stringify(value)).join(' or ')}, got ${describeValue(issue.input)}`;
    case 'too_small':
      return issue.origin === 'array' ? `must list at least ${String(issue.minimum)} item(s)` : undefined;
    default:
      return undefined;
  }
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}
