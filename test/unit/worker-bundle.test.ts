import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleUpgradeWorkflows } from '../../worker/bundle.js';

describe('ISTIO_CANARY_WORKFLOW_BUNDLE', () => {
  it('loads a prebuilt bundle instead of running webpack', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bundle-')), 'workflows.js');
    writeFileSync(file, '/* prebuilt */');
    await expect(bundleUpgradeWorkflows({ env: { ISTIO_CANARY_WORKFLOW_BUNDLE: file } })).resolves.toEqual({ code: '/* prebuilt */' });
  });

  it('names the missing file and how to make it', async () => {
    await expect(bundleUpgradeWorkflows({ env: { ISTIO_CANARY_WORKFLOW_BUNDLE: '/nonexistent/workflows.js' } })).rejects.toThrow(
      /no file at \/nonexistent\/workflows\.js \(write one with: tsx scripts\/bundle-workflows\.ts/,
    );
  });
});
