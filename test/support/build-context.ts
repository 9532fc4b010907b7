// The files `docker build .` would send from the checkout: everything on disk (ignored by
// git or not) that .dockerignore leaves in. Excluded directories are not descended into.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildContext } from './dockerfile.js';

export function dockerBuildContextFiles(root: string): string[] {
  const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8');
  const files: string[] = [];
  const reachesInside = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).trim().replace(/^\/+/, ''));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        // A directory the rules exclude whole is skipped, as docker does, unless a `!` rule reaches inside.
        if (buildContext([`${path}/-`], dockerignore).length > 0 || reachesInside.some((prefix) => prefix.startsWith(`${path}/`))) walk(path);
      } else if (buildContext([path], dockerignore).length > 0) {
        files.push(path);
      }
    }
  };
  walk('');
  return files.sort();
}
