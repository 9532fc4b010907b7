// The alert rules in deploy/monitoring, through Prometheus' own tool: they
// parse and pass the linter (`promtool check rules`), and every alert fires,
// or stays quiet, as alerts.test.yaml expects (`promtool test rules`).
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../lab/paths.js';

const PROMTOOL = '/usr/bin/promtool';
const DIR = join(REPO_ROOT, 'deploy', 'monitoring');

function requirePromtool(): void {
  if (!existsSync(PROMTOOL)) throw new Error(`promtool is missing at ${PROMTOOL}: apt-get install prometheus (Debian's package ships promtool)`);
}

interface Rule {
  alert?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('alert rules', () => {
  const rules = (parse(readFileSync(join(DIR, 'alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

  it('pass promtool check rules', async () => {
    requirePromtool();
    const result = await execa(PROMTOOL, ['check', 'rules', 'alerts.yaml'], { cwd: DIR, reject: false });
    expect([result.exitCode, `${result.stdout}\n${result.stderr}`]).toEqual([0, expect.stringContaining(`SUCCESS: ${rules.length} rules found`)]);
  });

  it('pass their unit tests (promtool test rules alerts.test.yaml)', async () => {
    requirePromtool();
    const result = await execa(PROMTOOL, ['test', 'rules', 'alerts.test.yaml'], { cwd: DIR, reject: false });
    expect([result.exitCode, `${result.stdout}\n${result.stderr}`]).toEqual([0, expect.stringContaining('SUCCESS')]);
  });

  it('include the alerts the operator guide names, each with severity, summary and description', () => {
    const names = new Set(rules.map((r) => r.alert));
    for (const name of ['IstioCanaryWorkerDown', 'IstioCanaryStuckInApproval', 'IstioCanaryRolledBack', 'IstioCanaryGateInconclusive']) expect([name, names.has(name)]).toEqual([name, true]);
    for (const rule of rules) {
      expect([rule.alert, rule.labels?.severity]).toEqual([rule.alert, expect.stringMatching(/^(critical|warning)$/)]);
      expect([rule.alert, rule.annotations?.summary?.length, rule.annotations?.description?.length]).toEqual([rule.alert, expect.any(Number), expect.any(Number)]);
    }
  });

  it('are each tested by alerts.test.yaml', () => {
    const tested = new Set([...readFileSync(join(DIR, 'alerts.test.yaml'), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    for (const rule of rules) expect([rule.alert, tested.has(rule.alert)]).toEqual([rule.alert, true]);
  });
});
