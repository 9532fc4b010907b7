// Determinism: every recorded history (test/fixtures/histories, written by the
// workflow tests with RECORD_HISTORIES=1) must replay against the current
// workflow code. A change that fails here would break upgrades already running.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { bundleUpgradeWorkflows } from '../../worker/bundle.js';

const dir = new URL('../fixtures/histories/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.binpb')).sort();

describe('recorded histories replay against the current workflow code', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s', async (file) => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed by an earlier case
    }
    const history = proto.temporal.api.history.v1.History.decode(readFileSync(new URL(file, dir)));
    await Worker.runReplayHistory({ workflowBundle: await bundleUpgradeWorkflows() }, history, file.replace(/\.binpb$/, ''));
  }, 60_000);
});
