// Stops the tests' lab unless KEEP_TEST_LAB=1 (handy while writing tests).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function globalTeardown(): void {
  if (process.env.KEEP_TEST_LAB === '1') return;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(`${root}node_modules/.bin/tsx`, [`${root}test/support/lab-cli.ts`, 'down'], { stdio: 'inherit', cwd: root });
}
