// Support for the browser tests of the Temporal UI: a Temporal dev server with
// its UI on loopback, a worker running the real workflow bundle with the
// activity doubles, and Debian's Chromium driven by playwright-core.
//
// Nothing here leaves the machine: the server and its UI listen on 127.0.0.1,
// Chromium starts with the flags that stop its background traffic, resolves no
// host names at all (--host-resolver-rules), and every request the page makes
// to anything but 127.0.0.1 is aborted and recorded (`blockedRequests`).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { bundleUpgradeWorkflows } from '../../worker/bundle.js';
import { TASK_QUEUE } from '../../workflows/messages.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { createActivityDoubles } from './activity-doubles.js';
import { findTemporalCli } from './temporal.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where the browser tests save their screenshots (git-ignored). */
export const UI_ARTIFACTS = join(repoRoot, 'artifacts', 'ui');

/** Debian's Chromium (`apt-get install chromium`); playwright-core never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function requireChromium(): string {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: run \`npm run tools -- chromium\` (apt-get install chromium). ` +
        'The UI tests use Debian\'s Chromium through playwright-core and never download a browser.',
    );
  }
  return CHROMIUM;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface UiServer {
  env: TestWorkflowEnvironment;
  /** e.g. http://127.0.0.1:41233 */
  uiUrl: string;
  worker: Worker;
  teardown(): Promise<void>;
}

/**
 * A Temporal dev server with its UI (both on 127.0.0.1), the project's search
 * attributes registered, and a worker on the upgrade task queue running the real
 * workflow bundle with the activity doubles.
 */
export async function startTemporalWithUi(): Promise<UiServer> {
  const [port, uiPort] = await Promise.all([freeLoopbackPort(), freeLoopbackPort()]);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findTemporalCli() },
      ip: '127.0.0.1',
      port,
      ui: true,
      uiPort,
      searchAttributes: SEARCH_ATTRIBUTES,
      extraArgs: ['--log-level', 'error'],
    },
  });
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  try {
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: await bundleUpgradeWorkflows(),
      activities: createActivityDoubles(),
      shutdownGraceTime: '2s',
    });
    running = worker.run();
  } catch (err) {
    await env.teardown();
    throw err;
  }
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  await waitForHttp(uiUrl, 30_000);
  const started = worker;
  return {
    env,
    uiUrl,
    worker: started,
    async teardown() {
      if (started.getState() === 'RUNNING') started.shutdown();
      await running;
      await env.teardown();
    },
  };
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the Temporal UI did not answer at ${url} within ${timeoutMs} ms (last: ${String(last)})`);
}

/** Chromium flags: headless, no sandbox (root), no GPU, none of Chromium's own network traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-pings',
  // Resolve no host name at all (no DNS packets); the tests use 127.0.0.1 literally.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

export interface UiBrowser {
  context: BrowserContext;
  page: Page;
  /** Every request the page tried to send elsewhere than 127.0.0.1 (aborted). */
  blockedRequests: string[];
  close(): Promise<void>;
}

/** Headless Debian Chromium with a fresh, temporary --user-data-dir. */
export async function launchBrowser(): Promise<UiBrowser> {
  const executablePath = requireChromium();
  const userDataDir = mkdtempSync(join(tmpdir(), 'istio-canary-chromium-'));
  // playwright passes the directory as --user-data-dir (it refuses the flag in args).
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1600, height: 1000 },
    // The UI's relative times ("2 minutes ago") and dates in a fixed zone and locale.
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const blockedRequests: string[] = [];
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => {
      blockedRequests.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    blockedRequests,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Saves a screenshot under artifacts/ui/ and returns its path. The UI scrolls
 * inside its own layout, so a full-page shot is only the viewport: `height`
 * makes the viewport that tall for the shot (and restores it after).
 */
export async function screenshot(page: Page, name: string, options: { height?: number } = {}): Promise<string> {
  mkdirSync(UI_ARTIFACTS, { recursive: true });
  const path = join(UI_ARTIFACTS, `${name}.png`);
  const viewport = page.viewportSize();
  if (options.height && viewport) {
    await page.setViewportSize({ width: viewport.width, height: options.height });
    await page.waitForTimeout(500); // the timeline and the markdown frames lay out again
  }
  await page.screenshot({ path, fullPage: true });
  if (options.height && viewport) await page.setViewportSize(viewport);
  return path;
}
