import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parsePlan } from '../../plan/index.js';
import { runCliCaptured } from '../support/cli-in-process.js';
import { documentFieldPaths, openObjectPaths, schemaFieldPaths } from '../support/json-schema-paths.js';

const examplePlan = fileURLToPath(new URL('../../examples/plan.yaml', import.meta.url));

const cli = (...args: string[]) => runCliCaptured(args);

describe('schema command', () => {
  it('prints a draft 2020-12 JSON Schema of the plan and exits 0', async () => {
    const { code, stdout, stderr } = await cli('schema');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const schema = JSON.parse(stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('istio-canary UpgradePlan');
  });

  it("declares every field examples/plan.yaml uses", async () => {
    const schema = JSON.parse((await cli('schema')).stdout);
    const declared = new Set(schemaFieldPaths(schema));
    const used = documentFieldPaths(parse(readFileSync(examplePlan, 'utf8')));
    expect(used).toContain('spec.gates.metrics[].maxMs');
    expect(used.filter((path) => !declared.has(path))).toEqual([]);
  });

  it('refuses unknown fields in every object, as the validator does', async () => {
    const schema = JSON.parse((await cli('schema')).stdout);
    expect(openObjectPaths(schema)).toEqual([]);
    // The same typo, seen by the schema and by the validator.
    const typo = readFileSync(examplePlan, 'utf8').replace('    soak: 10m\n  waves:', '    soke: 10m\n  waves:');
    expect(documentFieldPaths(parse(typo))).toContain('spec.canary.soke');
    expect(schemaFieldPaths(schema)).not.toContain('spec.canary.soke');
    const result = parsePlan(typo);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((error) => error.path)).toContain('spec.canary.soke');
  });

  it('writes the same schema to a file with --out-file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'istio-canary-schema-'));
    const file = join(dir, 'plan.schema.json');
    try {
      const written = await cli('schema', '--out-file', file);
      expect(written.code).toBe(0);
      expect(written.stdout).toBe(`wrote the plan's JSON Schema to ${file}\n`);
      expect(readFileSync(file, 'utf8')).toBe((await cli('schema')).stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file it cannot write, exit 2', async () => {
    const { code, stderr } = await cli('schema', '--out-file', '/nonexistent-dir/plan.schema.json');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^cannot write the schema to \/nonexistent-dir\/plan.schema.json: ENOENT/);
  });
});
