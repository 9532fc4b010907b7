// The operator guide's plan reference must keep up with the plan: every field the plan's
// JSON Schema declares (the validator's own definition) is documented there by its full path.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parsePlan } from '../../plan/index.js';
import { planJsonSchema } from '../../plan/json-schema.js';
import { schemaFieldPaths } from '../support/json-schema-paths.js';

const guide = readFileSync(new URL('../../docs/operator-guide.md', import.meta.url), 'utf8');

/** The text under a `## ` heading, up to the next one. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/operator-guide.md has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

describe('docs/operator-guide.md', () => {
  const reference = section(guide, 'Plan reference');

  it('documents every field of the plan by its full path', () => {
    const paths = schemaFieldPaths(planJsonSchema());
    expect(paths.length).toBeGreaterThan(50);
    const undocumented = paths.filter((path) => !reference.includes(`\`${path}\``));
    if (undocumented.length) {
      throw new Error(`fields of the plan missing from the "Plan reference" of docs/operator-guide.md (write each as \`path\`):\n  ${undocumented.join('\n  ')}`);
    }
  });

  it('shows only plans that validate', () => {
    const plans = [...reference.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(plans.length).toBeGreaterThan(0);
    for (const plan of plans) expect(parsePlan(plan)).toMatchObject({ ok: true });
  });

  it('gives every field row a default and an example column', () => {
    const rows = reference.split('\n').filter((line) => /^\| `(apiVersion|kind|metadata|spec)[^`]*` \|/.test(line));
    expect(rows.length).toBeGreaterThan(50);
    // field | type | default | constraints | example
    expect(rows.filter((row) => row.replace(/\\\|/g, '').split('|').length !== 7)).toEqual([]);
  });

  it('has a runbook for each alert the worker ships', () => {
    const alerts = section(guide, 'Metrics and alerts');
    for (const alert of ['IstioCanaryWorkerDown', 'IstioCanaryStuckInApproval', 'IstioCanaryRolledBack', 'IstioCanaryGateInconclusive']) {
      const runbook = alerts.slice(alerts.indexOf(`### ${alert}\n`));
      expect(runbook.startsWith(`### ${alert}\n`)).toBe(true);
      expect(runbook).toMatch(/\*\*Means:\*\*[\s\S]*\*\*Do:\*\*/);
    }
  });
});
