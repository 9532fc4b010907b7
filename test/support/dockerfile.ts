// Just enough of the Dockerfile and .dockerignore languages to check this repository's
// container build without a Docker engine: instructions grouped into stages, and the
// build context a .dockerignore leaves.

export interface Instruction {
  keyword: string; // upper-cased: FROM, RUN, COPY, ...
  args: string; // the rest of the instruction, continuation lines joined
  line: number; // where it starts (1-based)
}

export interface Stage {
  name?: string;
  base: string; // the FROM image, ${ARG}s not expanded
  instructions: Instruction[]; // after FROM
}

export interface Dockerfile {
  globalArgs: Instruction[]; // ARGs before the first FROM
  stages: Stage[];
}

/** Splits a Dockerfile into instructions; `\` continues a line, `#` lines are comments. */
export function parseInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && !pending)) return;
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1).trim() : line;
    pending ??= { parts: [], line: index + 1 };
    pending.parts.push(part);
    if (continued) return;
    const joined = pending.parts.filter((p) => p !== '').join(' ');
    const [keyword = '', ...rest] = joined.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: pending.line });
    pending = undefined;
  });
  if (pending) throw new Error(`line ${pending.line}: the last instruction ends with a line continuation`);
  return instructions;
}

export function parseDockerfile(text: string): Dockerfile {
  const result: Dockerfile = { globalArgs: [], stages: [] };
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const asIndex = words.findIndex((word) => word.toUpperCase() === 'AS');
      result.stages.push({ base: words[0] ?? '', ...(asIndex > 0 && { name: words[asIndex + 1] }), instructions: [] });
    } else if (result.stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: only ARG may come before the first FROM`);
      result.globalArgs.push(instruction);
    } else {
      result.stages.at(-1)!.instructions.push(instruction);
    }
  }
  return result;
}

/** A stage and the stages it is built FROM, the stage itself first. */
export function stageLineage(file: Dockerfile, stage: Stage): Stage[] {
  const lineage = [stage];
  for (let current = stage; ; ) {
    const parent = file.stages.find((candidate) => candidate.name !== undefined && candidate.name === current.base);
    if (!parent || lineage.includes(parent)) return lineage;
    lineage.push(parent);
    current = parent;
  }
}

/** `NAME=value` or `NAME` of an ARG; ENV's `NAME=value ...` pairs (or the legacy `NAME value`). */
export function declaredVariables(instruction: Instruction): Array<{ name: string; value?: string }> {
  if (instruction.keyword === 'ENV' && !instruction.args.split(/\s+/)[0]?.includes('=')) {
    const [name = '', ...value] = instruction.args.split(/\s+/);
    return [{ name, value: value.join(' ') }];
  }
  return instruction.args
    .split(/\s+/)
    .filter((word) => word !== '')
    .map((word) => {
      const eq = word.indexOf('=');
      return eq < 0 ? { name: word } : { name: word.slice(0, eq), value: word.slice(eq + 1).replace(/^"(.*)"$/, '$1') };
    });
}

/**
 * The files of `paths` (relative, `/`-separated) that a .dockerignore leaves in the build
 * context: `*` and `?` stay within a path segment, `**` spans segments, a pattern that
 * matches a directory takes everything under it, `!` re-includes, and the last match wins.
 */
export function buildContext(paths: readonly string[], dockerignore: string): string[] {
  const rules = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!');
      const pattern = (include ? line.slice(1) : line).trim().replace(/^\/+|\/+$/g, '');
      return { include, regex: patternRegex(pattern) };
    });
  return paths.filter((path) => {
    const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) if (prefixes.some((prefix) => rule.regex.test(prefix))) excluded = !rule.include;
    return !excluded;
  });
}

function patternRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more whole directories; a trailing `**` everything below.
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
