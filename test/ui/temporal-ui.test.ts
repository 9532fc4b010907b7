// The real Temporal UI, in Debian's Chromium driven by playwright-core: an upgrade
// started through the CLI (`istio-canary start`, in-process) on a dev server with
// its UI, run by a worker with the real workflow bundle and the activity doubles.
// An operator finds it by its search attributes, opens it, and reads its summary,
// current details and activity summaries; after `istio-canary approve` it shows
// as completed. Screenshots go to artifacts/ui/ (git-ignored).
//
// Needs /usr/bin/chromium: `npm run tools -- chromium` (apt-get install chromium).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { FrameLocator, Page } from 'playwright-core';
import { runCli } from '../../cli/program.js';
import { upgradeWorkflowId, type UpgradeResult, type UpgradeStatus } from '../../workflows/messages.js';
import { newMesh, registerMesh } from '../support/activity-doubles.js';
import { statusOf, waitForStatus } from '../support/workflow-harness.js';
import { launchBrowser, requireChromium, screenshot, startTemporalWithUi, type UiBrowser, type UiServer } from '../support/ui.js';

const cluster = `ui-${process.pid}-${Date.now().toString(36)}`;
const workflowId = upgradeWorkflowId(cluster);
const expectedSummary = `Istio 1.30.3 canary upgrade of ${cluster} (rev 1-30-3)`;

let server: UiServer;
let browser: UiBrowser;
let page: Page;
let handle: WorkflowHandle;
let runId: string;
let waiting: UpgradeStatus;
const shots: string[] = [];

/** Runs the istio-canary CLI in-process against the test server, as an operator would. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['node', 'istio-canary', ...args], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: {
      TEMPORAL_ADDRESS: server.env.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_CONFIG_FILE: join(tmpdir(), 'no-such-temporal.toml'),
      USER: 'ui-operator',
    },
  });
  return { code, stdout, stderr };
}

function writePlan(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'istio-canary-ui-')), 'plan.yaml');
  writeFileSync(
    file,
    `apiVersion: istio-canary/v1
kind: UpgradePlan
metadata:
  name: ui-test
spec:
  cluster: ${cluster}
  target:
    version: 1.30.3
    istioctl: /opt/istio-1.30.3/bin/istioctl
  canary:
    namespaces: [canary-test]
    soak: 600ms
  waves:
    - name: low-risk
      namespaces: [catalog, search]
      maxParallel: 2
      soak: 300ms
    - name: rest
      selector: "team in (payments, checkout)"
      soak: 300ms
  gateways:
    soak: 300ms
  gates:
    interval: 200ms
    window: 1m
    metrics:
      - { name: error-rate, type: errorRate, max: 0.01, minRequests: 100 }
      - { name: p99-latency, type: latencyP99, maxMs: 500 }
  approval:
    beforePromotion: required
    timeout: 10m
  finalize:
    uninstallOldAfter: 100ms
  prometheus:
    url: http://127.0.0.1:9090
`,
  );
  return file;
}

/** Waits until the visibility store (what the UI's list reads) answers the query with this upgrade. */
async function waitForVisibility(query: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for await (const execution of server.env.client.workflow.list({ query })) {
      if (execution.workflowId === workflowId) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`visibility never answered ${query} with ${workflowId}`);
}

const listUrl = (query: string) => `${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
const workflowUrl = (tab: string) => `${server.uiUrl}/namespaces/default/workflows/${workflowId}/${runId}/${tab}`;

/** The markdown the UI renders in the iframe that follows a section heading on the User Metadata tab. */
function markdownAfter(heading: string): FrameLocator {
  return page.locator(`xpath=//h3[normalize-space()="${heading}"]/following::iframe[1]`).contentFrame();
}

/** The cells of a rendered markdown table's body rows. */
async function tableRows(frame: FrameLocator, index: number): Promise<string[][]> {
  const rows = frame.locator('table').nth(index).locator('tbody tr');
  const texts: string[][] = [];
  for (const row of await rows.all()) texts.push((await row.locator('td').allInnerTexts()).map((t) => t.trim()));
  return texts;
}

/** Every activity the workflow scheduled so far, with the summary the UI shows for it. */
async function scheduledActivities(): Promise<Array<{ type: string; summary: string | undefined }>> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((event) => event.activityTaskScheduledEventAttributes)
    .map((event) => ({
      type: event.activityTaskScheduledEventAttributes!.activityType!.name!,
      summary: event.userMetadata?.summary
        ? defaultPayloadConverter.fromPayload<string>(event.userMetadata.summary as Payload)
        : undefined,
    }));
}

beforeAll(async () => {
  requireChromium(); // before anything starts: the clear message, not a launch error
  server = await startTemporalWithUi();
  browser = await launchBrowser();
  page = browser.page;
  page.setDefaultTimeout(20_000);

  // The activity doubles' fake mesh for this upgrade (the worker runs in this process).
  registerMesh(workflowId, newMesh());
  const started = await cli('start', '-f', writePlan(), '--by', 'ui-tester');
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  expect(started.stdout).toContain(`started ${workflowId}`);
  expect(started.stdout).toContain(expectedSummary);

  handle = server.env.client.workflow.getHandle(workflowId);
  runId = (await handle.describe()).runId;
  waiting = await waitForStatus(handle, (s) => s.phase === 'awaiting-approval', 'the approval gate', 60_000);
  await waitForVisibility(`WorkflowId="${workflowId}" AND IstioCanaryPhase="awaiting-approval"`);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.teardown();
  if (shots.length) console.log(`Temporal UI screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}`);
}, 60_000);

describe('the Temporal UI tells the story of an upgrade', () => {
  it('lists the upgrade when filtered by IstioCanaryCluster, with its phase and revisions as columns', async () => {
    await page.goto(listUrl(`IstioCanaryCluster="${cluster}"`));
    const row = page.locator('tr', { hasText: workflowId });
    await row.waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await row.innerText()).toContain('Running');

    // The search attributes as columns (kept in the browser profile for the later visits).
    await page.getByTestId('workflows-summary-table-configuration-button').click();
    for (const attr of ['IstioCanaryPhase', 'IstioCanarySourceRevision', 'IstioCanaryTargetRevision']) {
      await page.getByRole('button', { name: `Add ${attr} column` }).click();
    }
    for (const column of ['Run ID', 'Type']) await page.getByRole('button', { name: `Remove ${column} column` }).click();
    await page.getByRole('button', { name: 'Close Workflows Table configuration' }).click();
    await page.locator('#workflows-table-configuration-drawer').waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Collapse saved views' }).click();
    await page.getByRole('columnheader', { name: 'IstioCanaryPhase' }).waitFor();
    await row.getByText('awaiting-approval').waitFor();
    const cells = await row.innerText();
    expect(cells).toContain('1-29-4');
    expect(cells).toContain('1-30-3');
    shots.push(await screenshot(page, 'list'));
  }, 60_000);

  it('finds it by phase and both revisions too', async () => {
    const query =
      `IstioCanaryPhase="awaiting-approval" AND IstioCanarySourceRevision="1-29-4" ` +
      `AND IstioCanaryTargetRevision="1-30-3" AND IstioCanaryCluster STARTS_WITH "ui-"`;
    await page.goto(listUrl(query));
    await page.locator('tr', { hasText: workflowId }).waitFor();
  }, 30_000);

  it('opens the upgrade: the timeline names every activity by its summary', async () => {
    await page.goto(listUrl(`IstioCanaryCluster="${cluster}"`));
    await page.getByRole('link', { name: workflowId, exact: true }).click();
    await page.waitForURL(`**/workflows/${workflowId}/${runId}/history`);
    await page.getByRole('heading', { name: workflowId }).waitFor();

    const activities = await scheduledActivities();
    expect(activities.length).toBeGreaterThan(10);
    expect(activities.filter((a) => !a.summary)).toEqual([]);
    // The timeline labels each activity "type • summary".
    for (const { type, summary } of activities) {
      await page.getByText(`${type} • ${summary}`, { exact: true }).first().waitFor();
    }
    expect(await page.getByText('istioctlInstall • istioctl install revision 1-30-3 (profile minimal)').count()).toBe(1);
    shots.push(await screenshot(page, 'workflow-history', { height: 1900 }));
  }, 60_000);

  it("opens a namespace's own child workflow: its timeline names the relabel", async () => {
    const childId = `${workflowId}/${runId.slice(0, 8)}/migrate-canary-test`;
    const child = await server.env.client.workflow.getHandle(childId).describe();
    await page.goto(`${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(childId)}/${child.runId}/history`);
    await page.getByText('setNamespaceInjection • Label canary-test istio.io/rev=1-30-3 (was istio-injection=enabled)').first().waitFor();
    shots.push(await screenshot(page, 'child-workflow-history', { height: 1200 }));
    // The tests after this one start from the upgrade's own page.
    await page.goto(workflowUrl('history'));
    await page.getByRole('heading', { name: workflowId }).waitFor();
  }, 60_000);

  it('shows the static summary and details, and the current details as rendered markdown', async () => {
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    await page.waitForURL(`**/${runId}/user-metadata`);

    const summary = markdownAfter('Summary');
    await summary.getByText(expectedSummary).waitFor();

    const details = markdownAfter('Details');
    await details.locator('strong', { hasText: 'Started by:' }).waitFor();
    const detailsText = await details.locator('body').innerText();
    expect(detailsText).toContain('Plan: ui-test');
    expect(detailsText).toContain(`Cluster: ${cluster}`);
    expect(detailsText).toContain('Started by: ui-tester');
    expect(await details.locator('ol > li').count()).toBeGreaterThanOrEqual(9); // the plan's steps, as a list

    const current = markdownAfter('Current Details');
    await current.locator('strong', { hasText: 'Phase:' }).waitFor();
    const currentText = await current.locator('body').innerText();
    expect(currentText).toContain('Phase: awaiting-approval');
    expect(currentText).toContain('Revisions: 1-29-4 → 1-30-3');
    expect(currentText).toContain('Waiting for approval of promotion');
    expect(currentText).not.toContain('**'); // markdown rendered, not shown raw
    expect(currentText).not.toContain('| ---');
    await current.locator('code', { hasText: `istio-canary approve ${cluster}` }).waitFor();
    // The namespaces table, row for row what the status query says.
    expect(await current.locator('table').first().locator('th').allInnerTexts()).toEqual(['namespace', 'wave', 'state', 'before', 'after']);
    expect(await tableRows(current, 0)).toEqual(
      waiting.namespaces.map((n) => [n.name, n.wave, n.state, n.revisionBefore ?? '', n.revisionAfter ?? '']),
    );
    expect(await tableRows(current, 0)).toContainEqual(['canary-test', 'canary', 'migrated', '1-29-4', '1-30-3']);
    expect(await tableRows(current, 0)).toContainEqual(['catalog', 'low-risk', 'pending', '1-29-4', '']);
    // The last gate check, with its numbers.
    const gate = await tableRows(current, 1);
    expect(gate.map((r) => [r[0], r[1]])).toEqual([['error-rate', 'pass'], ['p99-latency', 'pass']]);

    // Every activity is listed with its summary under "Events with Metadata".
    const events = page.locator('xpath=//h3[normalize-space()="Events with Metadata"]/ancestor::div[2]');
    const eventsText = await events.innerText();
    for (const { summary } of await scheduledActivities()) expect(eventsText).toContain(summary);

    shots.push(await screenshot(page, 'workflow-details', { height: 2300 }));
  }, 60_000);

  it('shows the search attributes, phase included', async () => {
    await page.getByRole('tab', { name: 'Search Attributes' }).click();
    await page.waitForURL(`**/${runId}/search-attributes`);
    await page.getByText('"IstioCanaryPhase": "awaiting-approval"').waitFor();
    const text = await page.locator('body').innerText();
    expect(text).toContain(`"IstioCanaryCluster": "${cluster}"`);
    expect(text).toContain('"IstioCanarySourceRevision": "1-29-4"');
    expect(text).toContain('"IstioCanaryTargetRevision": "1-30-3"');
  }, 30_000);

  it('after `istio-canary approve` (the approve update), a reload shows the upgrade completed', async () => {
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    await page.waitForURL(`**/${runId}/user-metadata`);
    const header = page.locator('header', { has: page.getByRole('heading', { name: workflowId }) });
    await header.getByText('Running', { exact: true }).waitFor();

    const approved = await cli('approve', cluster, '--by', 'ui-tester', '--reason', 'canary clean in the UI test');
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    const result = (await handle.result()) as UpgradeResult;
    expect(result.outcome).toBe('completed');
    const done = await statusOf(handle);
    await waitForVisibility(`WorkflowId="${workflowId}" AND IstioCanaryPhase="completed"`);

    await page.reload();
    await header.getByText('Completed', { exact: true }).waitFor();
    const current = markdownAfter('Current Details');
    await current.getByText('Phase: completed').waitFor();
    const currentText = await current.locator('body').innerText();
    expect(currentText).toContain(`Result: completed: ${result.reason}`);
    expect(await tableRows(current, 0)).toEqual(done.namespaces.map((n) => [n.name, n.wave, 'migrated', '1-29-4', '1-30-3']));
    shots.push(await screenshot(page, 'workflow-completed', { height: 1300 }));

    await page.goto(listUrl(`IstioCanaryCluster="${cluster}" AND IstioCanaryPhase="completed"`));
    const row = page.locator('tr', { hasText: workflowId });
    await row.getByText('Completed', { exact: true }).waitFor();
    await row.getByText('completed', { exact: true }).waitFor();
    shots.push(await screenshot(page, 'list-completed'));

    // Nothing the UI loaded came from anywhere but the local server.
    expect(browser.blockedRequests).toEqual([]);
  }, 90_000);
});
