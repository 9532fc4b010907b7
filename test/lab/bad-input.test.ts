// Bad input, through the real CLI against the lab: plan files, command-line flags and
// update payloads (also sent straight through a Temporal client, past the CLI). Each is
// refused with a message naming the field and the reason, and the cluster is unchanged:
// resourceVersions after every case, the whole snapshot (labels, proxies, revisions,
// tags, webhooks, restart history) after every group. What only the cluster can tell
// (a namespace that does not exist, the istioctl binary, the revision already running)
// is refused by preflight: the run ends failed in preflight and nothing changed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoPlan } from '../../lab/demo-plan.js';
import { labInfo, type LabInfo } from '../../lab/lab.js';
import { startLabWorker, stopLabWorker } from '../../lab/worker.js';
import { parsePlan } from '../../plan/index.js';
import { pauseUpdate, TASK_QUEUE, upgradeWorkflowId, WORKFLOW_TYPE, type UpgradeInput, type UpgradeResult, type UpgradeStatus } from '../../workflows/messages.js';
import { ClusterAttr, PhaseAttr, TargetRevisionAttr } from '../../workflows/search-attributes.js';
import { BAD_INPUT_CLUSTER, basePlanDocument, planCases, planText } from '../support/bad-input-cases.js';
import { clusterSnapshot, resourceVersions, type ClusterSnapshot } from '../support/cluster-snapshot.js';
import { cli, cliOk, leaveLabAsFound, waitForSettledMesh, type CliResult, type StatusView } from '../support/e2e.js';
import { useTestLab } from '../support/lab.js';
import { updateRefusal } from '../support/update-refusal.js';

const TEST_TIMEOUT = 10 * 60_000;
/** One CLI run and a few reads: seconds, but the machine is shared. */
const CASE_TIMEOUT = 2 * 60_000;
const C = BAD_INPUT_CLUSTER;
const WORKFLOW_ID = upgradeWorkflowId(C);
const workDir = mkdtempSync(join(tmpdir(), 'istio-canary-bad-input-'));

let info: LabInfo;
let before: ClusterSnapshot;
let versionsBefore: Record<string, string>;
let connection: Connection | undefined;
let client: Client;

/** The valid plan every case starts from: the lab's test plan for cluster bad-input. */
function validPlan(): any {
  return basePlanDocument(demoPlan(info, { overlay: info.targetOverlay, soak: '10s', interval: '2s', window: '10s', uninstallOldAfter: '5s' }));
}

let fileCounter = 0;
function writePlanFile(text: string): string {
  const file = join(workDir, `plan-${++fileCounter}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Runs of the bad-input workflow id, newest first, straight from Temporal visibility. */
async function runsOfCluster(): Promise<Array<{ runId: string; status: string }>> {
  const runs: Array<{ runId: string; status: string }> = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${WORKFLOW_ID}'` })) runs.push({ runId: run.runId, status: run.status.name });
  return runs;
}

/** A refused command: exit 2, and what it printed names the field and gives the reason. */
function expectRefused(result: CliResult, field: string, reason: string): void {
  const output = `${result.stderr}\n${result.stdout}`;
  expect({ exitCode: result.exitCode, field: output.includes(field), reason: output.includes(reason) }).toEqual({ exitCode: 2, field: true, reason: true });
}

async function expectNothingWritten(): Promise<void> {
  expect(await resourceVersions()).toEqual(versionsBefore);
}

async function expectClusterUnchanged(): Promise<void> {
  await waitForSettledMesh();
  expect(await clusterSnapshot()).toEqual(before);
}

/** Closes a group of cases that must all be refused before a workflow starts. */
function itStartedNothingAndChangedNothing(runsBefore: () => number): void {
  it('started no workflow and changed nothing in the cluster', async () => {
    expect((await runsOfCluster()).length).toBe(runsBefore());
    await expectClusterUnchanged();
  }, TEST_TIMEOUT);
}

async function statusOf(args: string[] = []): Promise<StatusView & { source?: string }> {
  return JSON.parse((await cliOk(['status', C, '-o', 'json', ...args])).stdout) as StatusView & { source?: string };
}

beforeAll(async () => {
  useTestLab();
  info = labInfo();
  await startLabWorker();
  await waitForSettledMesh();
  before = await clusterSnapshot();
  versionsBefore = before.resourceVersions;
  connection = await Connection.connect({ address: info.temporalAddress });
  client = new Client({ connection, namespace: 'default' });
  // Earlier runs of this file leave finished runs behind; only this run's count.
  expect((await runsOfCluster()).filter((run) => run.status === 'RUNNING')).toEqual([]);
}, TEST_TIMEOUT);

afterAll(async () => {
  await connection?.close();
  await leaveLabAsFound(before?.mesh);
}, TEST_TIMEOUT);

describe('plan files are refused before anything starts', () => {
  let runsBefore: number;
  beforeAll(async () => {
    runsBefore = (await runsOfCluster()).length;
    // The base plan itself is valid: every refusal below comes from its one change.
    const valid = await cli(['plan', '-f', writePlanFile(planText(validPlan()))]);
    expect(valid.exitCode).toBe(0);
  }, CASE_TIMEOUT);

  it.each(planCases)('$name', async ({ mutate, text, path, reason }) => {
    const valid = planText(validPlan());
    let content = valid;
    if (text) content = text(valid);
    else {
      const doc = validPlan();
      mutate!(doc);
      content = planText(doc);
    }
    const result = await cli(['start', '-f', writePlanFile(content), '-o', 'json']);
    expect(result.exitCode).toBe(2);
    const { valid: ok, errors } = JSON.parse(result.stdout) as { valid: boolean; errors: Array<{ path: string; message: string }> };
    expect(ok).toBe(false);
    expect(errors).toEqual(expect.arrayContaining([{ path, message: expect.stringContaining(reason) }]));
    await expectNothingWritten();
  }, CASE_TIMEOUT);

  it('says the same in human output, one line per field', async () => {
    const doc = validPlan();
    doc.spec.canary.namespaces = ['Canary;id'];
    doc.spec.gates.metrics[0].max = 2;
    const result = await cli(['start', '-f', writePlanFile(planText(doc))]);
    expectRefused(result, 'spec.canary.namespaces[0]', 'DNS-1123 label');
    expectRefused(result, 'spec.gates.metrics[0].max', 'must be a fraction in (0, 1]');
  }, CASE_TIMEOUT);

  itStartedNothingAndChangedNothing(() => runsBefore);
});

describe('command-line flags are refused before anything is sent', () => {
  const uuid = '0196a7b2-5a4e-7c1d-9f00-2b1f6c3d4e5f';
  let runsBefore: number;
  let planFile: string;
  beforeAll(async () => {
    runsBefore = (await runsOfCluster()).length;
    planFile = writePlanFile(planText(validPlan()));
  }, CASE_TIMEOUT);

  const cases: Array<{ name: string; args: () => string[]; field: string; reason: string }> = [
    { name: 'unknown flag', args: () => ['start', '-f', planFile, '--frobnicate'], field: '--frobnicate', reason: 'unknown option' },
    { name: 'bad -o value', args: () => ['status', C, '-o', 'yaml'], field: '-o, --output', reason: 'Allowed choices are human, json' },
    { name: 'bad -o value on start', args: () => ['start', '-f', planFile, '-o', 'xml'], field: '-o, --output', reason: "argument 'xml' is invalid" },
    { name: 'missing -f', args: () => ['start'], field: '-f, --file', reason: 'not specified' },
    { name: '-f without a value', args: () => ['plan', '-f'], field: '-f, --file', reason: 'argument missing' },
    { name: 'plan file that does not exist', args: () => ['start', '-f', join(workDir, 'none.yaml')], field: 'none.yaml', reason: 'no such file' },
    { name: 'plan file that is a directory', args: () => ['start', '-f', workDir], field: workDir, reason: 'is a directory' },
    { name: 'plan file over 1 MiB', args: () => ['start', '-f', writePlanFile(`# ${'x'.repeat(1024 * 1024)}\n`)], field: 'cannot read plan', reason: "more than a plan's 1 MiB" },
    { name: 'watch interval zero', args: () => ['watch', C, '--interval', '0s'], field: '--interval', reason: 'must be greater than zero' },
    { name: 'watch interval without a unit', args: () => ['watch', C, '--interval', '5'], field: '--interval', reason: 'needs a unit' },
    { name: 'watch interval in days', args: () => ['watch', C, '--interval', '1d'], field: '--interval', reason: 'unknown unit "d"' },
    { name: 'cluster argument not a DNS-1123 label', args: () => ['status', 'Prod_EU'], field: "argument 'cluster'", reason: 'DNS-1123 label' },
    { name: 'cluster argument carrying a shell command', args: () => ['approve', 'lab;reboot', '--by', 'alice'], field: "argument 'cluster'", reason: 'DNS-1123 label' },
    { name: 'list --cluster carrying a visibility query', args: () => ['list', '--cluster', "x' OR WorkflowId != '"], field: '--cluster', reason: 'DNS-1123 label' },
    { name: 'empty --id', args: () => ['status', '--id', ''], field: '--id', reason: 'must not be empty' },
    { name: '--id with a space', args: () => ['abort', '--id', 'istio-canary-lab now', '--by', 'alice'], field: '--id', reason: 'must not contain spaces' },
    { name: 'start --id with a newline', args: () => ['start', '-f', planFile, '--id', 'a\nb'], field: '--id', reason: 'control characters' },
    { name: 'both a cluster and --id', args: () => ['status', C, '--id', WORKFLOW_ID], field: '--id', reason: 'name a cluster or --id, not both' },
    { name: '--run-id that is not a run id', args: () => ['status', C, '--run-id', '42'], field: '--run-id', reason: 'must be a run id' },
    { name: '--run-id without the upgrade it belongs to', args: () => ['status', '--run-id', uuid], field: '--run-id', reason: 'needs the cluster or --id' },
    { name: 'empty --by', args: () => ['approve', C, '--by', ''], field: '--by', reason: 'must be given' },
    { name: '--by with a newline (a forged audit line)', args: () => ['approve', C, '--by', 'alice\napprove bob'], field: '--by', reason: 'one line without control characters' },
    { name: 'start --by with surrounding spaces', args: () => ['start', '-f', planFile, '--by', ' alice '], field: '--by', reason: 'must not start or end with spaces' },
    { name: 'blank --reason', args: () => ['reject', C, '--by', 'alice', '--reason', '   '], field: '--reason', reason: 'must not be blank' },
    { name: 'oversized --reason', args: () => ['abort', C, '--by', 'alice', '--reason', 'x'.repeat(1001)], field: '--reason', reason: 'at most 1000 characters, got 1001' },
    { name: 'too many arguments', args: () => ['status', C, 'extra'], field: "'status'", reason: 'too many arguments' },
    { name: 'unknown command', args: () => ['promote', C], field: "'promote'", reason: 'unknown command' },
  ];

  it.each(cases)('$name', async ({ args, field, reason }) => {
    expectRefused(await cli(args()), field, reason);
    await expectNothingWritten();
  }, CASE_TIMEOUT);

  itStartedNothingAndChangedNothing(() => runsBefore);
});

describe('updates that do not fit are refused by the workflow, without touching its history', () => {
  let runId: string;
  const handle = () => client.workflow.getHandle(WORKFLOW_ID, runId);

  beforeAll(async () => {
    // A real run, held by a pause sent with its start (update-with-start: handled before
    // preflight begins), so it stops at its first checkpoint, after preflight and before
    // anything changes: a running workflow to send updates to, with nothing waiting for approval.
    const parsed = parsePlan(planText(validPlan()));
    if (!parsed.ok) throw new Error(`the base plan is invalid: ${JSON.stringify(parsed.errors)}`);
    const input: UpgradeInput = { plan: parsed.plan, startedBy: 'alice' };
    const start = new WithStartWorkflowOperation(WORKFLOW_TYPE, {
      workflowId: WORKFLOW_ID,
      taskQueue: TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: ClusterAttr, value: C },
        { key: PhaseAttr, value: 'preflight' },
        { key: TargetRevisionAttr, value: parsed.plan.target.revision },
      ],
    });
    await client.workflow.executeUpdateWithStart(pauseUpdate, { args: [{ by: 'alice', reason: 'hold for the bad-input tests' }], startWorkflowOperation: start });
    runId = (await (await start.workflowHandle()).describe()).runId;
    const deadline = Date.now() + 5 * 60_000;
    for (;;) {
      const { status } = await statusOf();
      if (status.paused && status.step.startsWith('paused:')) break;
      if (status.result || Date.now() > deadline) throw new Error(`the run did not hold at its first checkpoint: ${status.phase}: ${status.step}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }, TEST_TIMEOUT);

  afterAll(async () => {
    if (!runId) return;
    await cliOk(['abort', C, '--by', 'alice', '--reason', 'bad-input tests done']);
    expect((await cli(['watch', C, '--interval', '1s'], 5 * 60_000)).exitCode).toBe(2);
  }, TEST_TIMEOUT);

  const cliCases: Array<{ name: string; args: string[]; field: string; reason: string }> = [
    { name: 'approve when nothing waits', args: ['approve', C, '--by', 'alice'], field: 'refused', reason: 'nothing is waiting for approval' },
    { name: 'reject when nothing waits', args: ['reject', C, '--by', 'bob', '--reason', 'too early'], field: 'refused', reason: 'nothing is waiting for approval' },
    { name: 'approve by someone outside spec.approval.approvers', args: ['approve', C, '--by', 'mallory'], field: 'spec.approval.approvers', reason: 'mallory is not an approver' },
    { name: 'reject by someone outside spec.approval.approvers', args: ['reject', C, '--by', 'mallory', '--reason', 'x'], field: 'spec.approval.approvers', reason: 'mallory is not an approver' },
    { name: 'pause when already paused', args: ['pause', C, '--by', 'alice'], field: 'refused', reason: 'already paused' },
    { name: 'approve an upgrade that does not exist', args: ['approve', 'no-such-cluster', '--by', 'alice'], field: 'istio-canary-no-such-cluster', reason: 'no upgrade' },
  ];

  it.each(cliCases)('CLI: $name', async ({ args, field, reason }) => {
    expectRefused(await cli(args), field, reason);
    await expectNothingWritten();
  }, CASE_TIMEOUT);

  // Sent straight through a Temporal client, as any script with access to the namespace could.
  const payloadCases: Array<{ name: string; update: string; args: unknown[]; reason: string }> = [
    { name: 'approve with no argument', update: 'approve', args: [], reason: 'the update takes one object {by, reason}, got nothing' },
    { name: 'approve with a bare string', update: 'approve', args: ['alice'], reason: 'got a string "alice"' },
    { name: 'approve with a list', update: 'approve', args: [['alice']], reason: 'got a list' },
    { name: 'approve with by a number', update: 'approve', args: [{ by: 42 }], reason: 'by: must be a string, got number 42' },
    { name: 'approve with by empty', update: 'approve', args: [{ by: '' }], reason: 'by: must be given' },
    { name: 'approve with by carrying a newline', update: 'approve', args: [{ by: 'alice\nbob' }], reason: 'by: must be one line' },
    { name: 'approve with by of 500 characters', update: 'approve', args: [{ by: 'a'.repeat(500) }], reason: 'by: must be at most 128 characters, got 500' },
    { name: 'approve with reason an object', update: 'approve', args: [{ by: 'alice', reason: { text: 'ok' } }], reason: 'reason: must be a string, got an object' },
    { name: 'approve with a 100 kB reason', update: 'approve', args: [{ by: 'alice', reason: 'x'.repeat(100_000) }], reason: 'reason: must be at most 1000 characters' },
    { name: 'approve with an unknown field', update: 'approve', args: [{ by: 'alice', sudo: true }], reason: 'sudo: unknown field (allowed: by, reason)' },
    { name: 'approve by someone outside the allow-list', update: 'approve', args: [{ by: 'mallory' }], reason: 'by: mallory is not an approver' },
    { name: 'approve by an approver with padding', update: 'approve', args: [{ by: 'alice ' }], reason: 'by: must not start or end with spaces' },
    { name: 'reject with no by', update: 'reject', args: [{ reason: 'looks bad' }], reason: 'by: must be given' },
    { name: 'abort without rollback', update: 'abort', args: [{ by: 'alice' }], reason: 'rollback: must be true or false, got nothing' },
    { name: 'abort with rollback "yes"', update: 'abort', args: [{ by: 'alice', rollback: 'yes' }], reason: 'rollback: must be true or false, got a string "yes"' },
    { name: 'abort with a misspelt rollback', update: 'abort', args: [{ by: 'alice', rollback: true, rolback: false }], reason: 'rolback: unknown field (allowed: by, reason, rollback)' },
    { name: 'pause with a blank reason', update: 'pause', args: [{ by: 'alice', reason: '  ' }], reason: 'reason: must not be blank' },
    { name: 'resume with null', update: 'resume', args: [null], reason: 'the update takes one object' },
    { name: 'an update the workflow does not have', update: 'promote', args: [{ by: 'alice' }], reason: 'promote' },
  ];

  it.each(payloadCases)('Temporal client: $name', async ({ update, args, reason }) => {
    expect(await updateRefusal(handle().executeUpdate(update, { args: args as [unknown] }))).toContain(reason);
    await expectNothingWritten();
  }, CASE_TIMEOUT);

  it('recorded none of them: the decisions are the start and the pause, the history holds one accepted update', async () => {
    const { status } = await statusOf();
    expect(status.decisions.map((d) => [d.kind, d.by])).toEqual([
      ['start', 'alice'],
      ['pause', 'alice'],
    ]);
    const history = await handle().fetchHistory();
    const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(accepted.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name)).toEqual(['pause']);
    await expectClusterUnchanged();
  }, TEST_TIMEOUT);
});

describe('what only the cluster can refuse ends the run failed in preflight, with nothing changed', () => {
  const runs: Record<string, string> = {};
  const preflightCases: Array<{ name: string; mutate: (doc: any) => void; field: string; reason: string }> = [
    {
      name: 'a namespace that does not exist',
      mutate: (d) => d.spec.waves[0].namespaces.push('no-such-namespace'),
      field: 'spec.waves[0].namespaces[4]',
      reason: 'namespaces in the plan do not exist: no-such-namespace',
    },
    {
      name: 'an istioctl of another version',
      mutate: (d) => (d.spec.target.version = '1.30.2'),
      field: 'spec.target.istioctl',
      reason: 'is istioctl 1.30.3, the plan targets 1.30.2',
    },
    {
      name: 'an istioctl that is not there',
      mutate: (d) => (d.spec.target.istioctl = '/nonexistent/bin/istioctl'),
      field: 'spec.target.istioctl',
      reason: 'cannot run istioctl at /nonexistent/bin/istioctl: ENOENT (not found)',
    },
    {
      name: 'a target equal to the revision already running',
      mutate: (d) => {
        delete d.spec.source;
        d.spec.target.revision = info.versions.oldRevision;
      },
      field: 'spec.target.revision',
      reason: 'is the revision the mesh already runs',
    },
  ];

  it.each(preflightCases)('$name', async ({ name, mutate, field, reason }) => {
    const doc = validPlan();
    mutate(doc);
    const started = await cliOk(['start', '-f', writePlanFile(planText(doc)), '--by', 'alice', '-o', 'json']);
    runs[name] = (JSON.parse(started.stdout) as { runId: string }).runId;
    const watched = await cli(['watch', C, '--interval', '1s'], 5 * 60_000);
    expect(watched.exitCode).toBe(2);

    const view = await statusOf();
    expect(view.runId).toBe(runs[name]);
    const status: UpgradeStatus = view.status;
    expect(status.phase).toBe('failed');
    expect(status.result?.reason).toMatch(/^preflight failed: /);
    expect(status.result?.reason).toContain(field);
    expect(status.result?.reason).toContain(reason);
    // Failed in preflight: nothing after it started, nothing decided but the start.
    expect(status.timings.map((t) => t.step)).toEqual(['preflight']);
    expect(status.backupLocation).toBeUndefined();
    expect(status.decisions.map((d) => d.kind)).toEqual(['start']);
    expect(status.namespaces).toEqual([]);
    await expectNothingWritten();
  }, TEST_TIMEOUT);

  it('changed nothing in the cluster', async () => {
    await expectClusterUnchanged();
  }, TEST_TIMEOUT);

  it('keeps every finished run: list --all shows them, status --run-id shows an earlier one', async () => {
    const listed = JSON.parse((await cliOk(['list', '--all', '--cluster', C, '-o', 'json'])).stdout) as {
      upgrades: Array<{ runId: string; phase?: string; executionStatus: string; closeTime?: string }>;
    };
    for (const runId of Object.values(runs)) {
      expect(listed.upgrades).toContainEqual(expect.objectContaining({ runId, phase: 'failed', executionStatus: 'COMPLETED', closeTime: expect.any(String) }));
    }
    const first = runs['a namespace that does not exist']!;
    const earlier = await statusOf(['--run-id', first]);
    expect(earlier.runId).toBe(first);
    expect(earlier.status.result?.reason).toContain('no-such-namespace');
    const unknown = await cli(['status', C, '--run-id', '0196a7b2-5a4e-7c1d-9f00-2b1f6c3d4e5f']);
    expectRefused(unknown, '0196a7b2-5a4e-7c1d-9f00-2b1f6c3d4e5f', `no run 0196a7b2-5a4e-7c1d-9f00-2b1f6c3d4e5f of upgrade ${WORKFLOW_ID}`);
  }, TEST_TIMEOUT);

  it('shows a finished run from its recorded result when no worker runs', async () => {
    await stopLabWorker();
    const view = await statusOf();
    expect(view.source).toBe('history');
    const result = view.status.result as UpgradeResult;
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain('is the revision the mesh already runs');
    expect(result.decisions.map((d) => [d.kind, d.by])).toEqual([['start', 'alice']]);
  }, TEST_TIMEOUT);
});
