// Bundles the upgrade workflow for the Temporal sandbox. Bundling takes a couple
// of seconds, so one bundle is built per process and shared (worker, tests).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type Logger, type WorkflowBundle } from '@temporalio/worker';

const SOURCE_ENTRY = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

function fromSource(): boolean {
  return existsSync(SOURCE_ENTRY);
}

/**
 * workflows/index.ts when running from source (tsx, jest), or the compiled
 * workflows/index.js next to dist/worker/bundle.js.
 */
export function workflowsEntryPath(): string {
  return fromSource() ? SOURCE_ENTRY : fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

/**
 * The bundle `npm run build` writes into dist/ beside the compiled code, used
 * when running compiled (the package, the image). From source there is none: a
 * bundle left over would be stale, so the sources are bundled instead.
 */
export function packagedBundlePath(): string | undefined {
  const packaged = fileURLToPath(new URL('../workflows-bundle.js', import.meta.url));
  return !fromSource() && existsSync(packaged) ? packaged : undefined;
}

let cached: Promise<WorkflowBundle> | undefined;

/**
 * The bundled workflow code: with ISTIO_CANARY_WORKFLOW_BUNDLE, read from a
 * file that `tsx scripts/bundle-workflows.ts <file>` wrote; else the packaged
 * one (packagedBundlePath); else built on first use and reused for the rest of
 * the process. Webpack leaves the worker about 50 MB larger for good (measured:
 * docs/benchmarks.md), so a deployed worker loads a bundle made at build time.
 */
export function bundleUpgradeWorkflows(options: { logger?: Logger; env?: NodeJS.ProcessEnv } = {}): Promise<WorkflowBundle> {
  const prebuilt = (options.env ?? process.env).ISTIO_CANARY_WORKFLOW_BUNDLE || packagedBundlePath();
  if (prebuilt) {
    if (!existsSync(prebuilt)) return Promise.reject(new Error(`ISTIO_CANARY_WORKFLOW_BUNDLE: no file at ${prebuilt} (write one with: tsx scripts/bundle-workflows.ts ${prebuilt})`));
    return Promise.resolve({ code: readFileSync(prebuilt, 'utf8') });
  }
  cached ??= bundleWorkflowCode({
    workflowsPath: workflowsEntryPath(),
    logger: options.logger,
    // Sources import each other as `./x.js` (NodeNext ESM); from source those are .ts files.
    webpackConfigHook: (config) => ({
      ...config,
      resolve: { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
    }),
  }).catch((err: unknown) => {
    cached = undefined; // a failed build (e.g. a syntax error being fixed) is retried next time
    throw err;
  });
  return cached;
}
