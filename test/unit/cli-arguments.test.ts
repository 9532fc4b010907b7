import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedPlan } from '../../plan/types.js';
import { renderUpgradeList } from '../../cli/format/list.js';
import { renderPlanErrors, upgradeDetails, upgradeSummary } from '../../cli/format/plan.js';
import { actorName } from '../../cli/options.js';
import { selectedWorkflowId, upgradeListQuery } from '../../cli/upgrades.js';
import { exitCodeForOutcome } from '../../cli/verdict.js';
import { parsePlan } from '../../plan/index.js';
import { runCliCaptured } from '../support/cli-in-process.js';

const examplePlan = fileURLToPath(new URL('../../examples/plan.yaml', import.meta.url));

/** Runs the CLI in-process with captured output; no server is involved. */
const cli = (...args: string[]) => runCliCaptured(args);

function invalidPlanFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'istio-canary-cli-')), 'bad.yaml');
  writeFileSync(file, 'apiVersion: istio-canary/v1\nkind: UpgradePlan\nmetadata: {name: x}\nspec:\n  cluster: Bad_Name\n');
  return file;
}

function resolvedExample(): ResolvedPlan {
  const result = parsePlan(
    'apiVersion: istio-canary/v1\nkind: UpgradePlan\nmetadata: {name: eu}\nspec:\n  cluster: prod-eu\n  target: {version: 1.30.3, istioctl: /opt/istioctl}\n' +
      '  canary: {namespaces: [shop]}\n  gates: {metrics: [{name: error-rate, type: errorRate, max: 0.01}]}\n  prometheus: {url: "http://127.0.0.1:9090"}\n',
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

describe('plan command', () => {
  it('prints the steps of a valid plan and exits 0', async () => {
    const { code, stdout, stderr } = await cli('plan', '-f', examplePlan);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('is valid: Istio 1.30.3 canary upgrade of prod-eu (rev 1-30-3)');
    expect(stdout).toContain('1. Preflight on cluster prod-eu');
  });

  it('prints the same result as JSON with -o json', async () => {
    const { code, stdout } = await cli('plan', '-f', examplePlan, '-o', 'json');
    expect(code).toBe(0);
    const data = JSON.parse(stdout);
    expect(data).toMatchObject({ valid: true, plan: { cluster: 'prod-eu', target: { revision: '1-30-3' } } });
    expect(data.steps[0].step).toBe('preflight');
  });

  it('lists every problem with its field path and exits 2', async () => {
    const file = invalidPlanFile();
    const { code, stdout } = await cli('plan', '-f', file);
    expect(code).toBe(2);
    expect(stdout).toMatch(/is invalid \(\d+ problems\):/);
    expect(stdout).toContain('  spec.cluster: must be a DNS-1123 label');
    const json = await cli('plan', '-f', file, '-o', 'json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, errors: expect.arrayContaining([expect.objectContaining({ path: 'spec.cluster' })]) });
  });

  it('refuses a missing file in one line', async () => {
    expect(await cli('plan', '-f', '/nonexistent/plan.yaml')).toEqual({ code: 2, stdout: '', stderr: 'cannot read plan /nonexistent/plan.yaml: no such file\n' });
  });
});

describe('argument handling', () => {
  it('refuses unknown commands, missing options and unknown output formats with exit 2', async () => {
    expect((await cli('bogus')).code).toBe(2);
    const missing = await cli('plan');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '-f, --file <path>' not specified");
    expect((await cli('plan', '-f', examplePlan, '-o', 'yaml')).code).toBe(2);
    expect((await cli('watch', 'prod-eu', '--interval', 'soon')).code).toBe(2);
  });

  it('gives every command help with examples, exit 0', async () => {
    for (const command of ['plan', 'start', 'status', 'watch', 'approve', 'reject', 'abort', 'pause', 'resume', 'list', 'worker']) {
      const { code, stdout } = await cli(command, '--help');
      expect({ command, code }).toEqual({ command, code: 0 });
      expect(stdout).toContain('Examples:\n  $ istio-canary ');
    }
    const top = await cli('--help');
    expect(top.stdout).toContain('TEMPORAL_ADDRESS');
  });

  it('offers -o json on every command that prints a result', async () => {
    for (const command of ['plan', 'start', 'status', 'watch', 'approve', 'reject', 'abort', 'pause', 'resume', 'list']) {
      expect((await cli(command, '--help')).stdout).toContain('-o, --output <format>');
    }
  });

  it('reports an unreachable server in one line with exit 1', async () => {
    expect(await cli('status', 'prod-eu')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'cannot reach Temporal at 127.0.0.1:1 (namespace default): connection refused\n',
    });
  });

  it('picks the workflow id from a cluster or --id, refusing both at once', () => {
    expect(selectedWorkflowId({ cluster: 'prod-eu' })).toBe('istio-canary-prod-eu');
    expect(selectedWorkflowId({ id: 'custom' })).toBe('custom');
    expect(selectedWorkflowId({})).toBeUndefined();
    expect(() => selectedWorkflowId({ cluster: 'a', id: 'b' })).toThrow('name a cluster or --id, not both');
  });

  it('names the actor from --by, else $USER', () => {
    expect(actorName(' alice ', { USER: 'bob' })).toBe('alice');
    expect(actorName(undefined, { USER: 'bob' })).toBe('bob');
    expect(actorName(undefined, {})).not.toBe('');
  });
});

describe('list', () => {
  it('queries running upgrades by type, all of them with --all, and one cluster on request', () => {
    expect(upgradeListQuery({ all: false })).toBe("WorkflowType = 'istioCanaryUpgrade' AND ExecutionStatus = 'Running'");
    expect(upgradeListQuery({ all: true, cluster: 'prod-eu' })).toBe("WorkflowType = 'istioCanaryUpgrade' AND IstioCanaryCluster = 'prod-eu'");
    expect(() => upgradeListQuery({ all: true, cluster: "x' OR 'a'='a" })).toThrow('invalid cluster name');
  });

  it('renders one row per upgrade, or says there are none', () => {
    const text = renderUpgradeList(
      [
        {
          workflowId: 'istio-canary-prod-eu',
          runId: 'r1',
          cluster: 'prod-eu',
          phase: 'canary',
          sourceRevision: '1-29-4',
          targetRevision: '1-30-3',
          executionStatus: 'RUNNING',
          startTime: '2026-11-26T10:00:00.000Z',
        },
      ],
      { namespace: 'default', all: false },
    );
    expect(text.split('\n')[0]).toMatch(/^ID\s+CLUSTER\s+PHASE\s+SOURCE\s+TARGET\s+STATUS\s+STARTED\s+CLOSED$/);
    expect(text.split('\n')[1]).toMatch(/^istio-canary-prod-eu\s+prod-eu\s+canary\s+1-29-4\s+1-30-3\s+RUNNING\s+2026-11-26T10:00:00Z\s+-$/);
    expect(renderUpgradeList([], { namespace: 'default', all: false })).toBe('no running upgrades in namespace default (--all includes finished ones)');
    expect(renderUpgradeList([], { namespace: 'default', all: true })).toBe('no upgrades found in namespace default');
  });
});

describe('plan rendering', () => {
  it('lists each error under its field path', () => {
    expect(renderPlanErrors('p.yaml', [{ path: 'spec.waves[1].namespaces[0]', message: 'must be a DNS-1123 label' }])).toBe(
      'p.yaml is invalid (1 problem):\n  spec.waves[1].namespaces[0]: must be a DNS-1123 label',
    );
  });

  it('summarizes a started upgrade in one line and details its steps in markdown', () => {
    const plan = resolvedExample();
    expect(upgradeSummary(plan)).toBe('Istio 1.30.3 canary upgrade of prod-eu (rev 1-30-3)');
    const details = upgradeDetails(plan, 'alice');
    expect(details).toContain('**Started by:** alice');
    expect(details).toContain('from the detected revision');
    expect(details).toMatch(/\n1\. Preflight on cluster prod-eu\n {3}- /);
  });
});

describe('exitCodeForOutcome', () => {
  it('is 0 only for a completed upgrade', () => {
    expect(exitCodeForOutcome('completed')).toBe(0);
    expect(exitCodeForOutcome('rolled-back')).toBe(2);
    expect(exitCodeForOutcome('aborted')).toBe(2);
    expect(exitCodeForOutcome('failed')).toBe(2);
  });
});
