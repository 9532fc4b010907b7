// Brings the tests' lab up once for every lab-tier test file (see test/support/lab-cli.ts).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function globalSetup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(`${root}node_modules/.bin/tsx`, [`${root}test/support/lab-cli.ts`, 'up'], { stdio: 'inherit', cwd: root });
}
