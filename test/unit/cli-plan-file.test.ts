// Reading a plan file: what cannot be read is refused with the file and the reason.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../../cli/errors.js';
import { ExitCode } from '../../cli/exit-codes.js';
import { MAX_PLAN_BYTES, readPlanFile } from '../../cli/plan-file.js';

const dir = mkdtempSync(join(tmpdir(), 'istio-canary-plan-file-'));

async function refusal(file: string): Promise<string> {
  try {
    await readPlanFile(file);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.Refused);
    return (err as Error).message;
  }
  throw new Error(`${file} was read`);
}

describe('readPlanFile', () => {
  it('refuses a missing file, a directory and a file over 1 MiB', async () => {
    expect(await refusal(join(dir, 'none.yaml'))).toBe(`cannot read plan ${join(dir, 'none.yaml')}: no such file`);
    expect(await refusal(dir)).toBe(`cannot read plan ${dir}: is a directory`);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(MAX_PLAN_BYTES)}\n`);
    expect(await refusal(big)).toMatch(/: it is \d+ bytes, more than a plan's 1 MiB$/);
  });

  it('validates what it reads', async () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, '');
    expect(await readPlanFile(file)).toEqual({ ok: false, errors: [{ path: '(document)', message: 'is empty; expected an UpgradePlan' }] });
  });
});
