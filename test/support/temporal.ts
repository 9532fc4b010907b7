// Starts a real Temporal dev server (the Temporal CLI) for a test file. The SDK's
// default is to download the CLI, which cannot work offline, so the binary is
// always taken from $TEMPORAL_CLI, the project's .tools/bin, or PATH.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export function findTemporalCli(): string {
  const candidates = [
    process.env.TEMPORAL_CLI,
    join(repoRoot, '.tools', 'bin', 'temporal'),
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'temporal')),
  ];
  const found = candidates.find((path): path is string => !!path && existsSync(path));
  if (!found) {
    throw new Error(
      'Temporal CLI not found: set TEMPORAL_CLI, put `temporal` on PATH, or run `npm run tools` ' +
        '(builds github.com/temporalio/cli/cmd/temporal@v1.5.1 into .tools/bin).',
    );
  }
  return found;
}

export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findTemporalCli() },
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTES,
      extraArgs: ['--headless', '--log-level', 'error'],
    },
  });
}
