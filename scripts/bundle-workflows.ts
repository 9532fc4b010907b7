// `tsx scripts/bundle-workflows.ts <file>`: writes the workflow bundle a worker
// loads with ISTIO_CANARY_WORKFLOW_BUNDLE=<file>, so the worker never runs webpack.
import { writeFileSync } from 'node:fs';
import { DefaultLogger } from '@temporalio/worker';
import { bundleUpgradeWorkflows } from '../worker/bundle.js';

async function run(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: tsx scripts/bundle-workflows.ts <file>');
  const { code } = await bundleUpgradeWorkflows({ logger: new DefaultLogger('WARN'), env: {} });
  writeFileSync(file, code);
  console.log(`wrote ${file} (${Math.round(code.length / 1024)} KiB)`);
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
