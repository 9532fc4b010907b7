// No input ever reaches a shell: the code the worker and the CLI run starts
// processes only through execa with a file and an argument array (istioctl is
// the one program they run), never a command string, a `shell` option or
// child_process's exec. The argument arrays themselves are checked in
// activities-istioctl.test.ts; this reads the source, so a later change that
// adds a shell anywhere in shipped code fails here.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../../lab/paths.js';

/** What ships: the npm package's code (lab/, scripts/ and test/ are development tools). */
const SHIPPED = ['activities', 'cli', 'gates', 'mesh', 'plan', 'worker', 'workflows'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The code without its comments, which may well mention shells. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

const files = SHIPPED.flatMap((dir) => sources(join(REPO_ROOT, dir))).map((path) => ({ path: relative(REPO_ROOT, path), text: code(readFileSync(path, 'utf8')) }));

const FORBIDDEN: Array<[string, RegExp]> = [
  ['`shell` option', /\bshell\s*:/],
  ['child_process', /\bnode:child_process\b|\bfrom\s+['"]child_process['"]/],
];

describe('no shell in shipped code', () => {
  it('reads the sources it guards', () => {
    expect(files.map((f) => f.path)).toContain(join('activities', 'istioctl.ts'));
  });

  it.each(FORBIDDEN)('uses no %s', (_, pattern) => {
    expect(files.filter((f) => pattern.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it("imports only execa itself: not execaCommand (a command string) nor execa's $ template", () => {
    const imports = files.flatMap((f) => [...f.text.matchAll(/import[^;]*?from\s*['"]execa['"]/g)].map((m) => m[0].replace(/\s+/g, ' ')));
    expect(imports.length).toBeGreaterThan(0);
    for (const statement of imports) expect(statement).toBe("import { execa } from 'execa'");
  });

  it('starts processes only in the istioctl adapter, as execa(file, argv)', () => {
    const calls = files.flatMap((f) => [...f.text.matchAll(/\bexeca(Sync)?\s*\(([^,]+),\s*([^,)]+)/g)].map((m) => ({ path: f.path, file: m[2]!.trim(), args: m[3]!.trim() })));
    expect(calls).toEqual([{ path: join('activities', 'istioctl.ts'), file: 'istioctl', args: 'argv' }]);
    // argv is the command line builders' array plus --kubeconfig, never a joined string.
    expect(files.find((f) => f.path.endsWith('istioctl.ts'))!.text).toMatch(/const argv = withKubeconfig\(args, options\.kubeconfig\);/);
  });
});
