// `tsx test/support/lab-cli.ts up|down`: the test lab from a separate process.
// Jest loads global setup files as native ES modules without its module mapping,
// so they cannot import the project's TypeScript directly; they run this instead.
import { ensureTestLab, stopTestLab } from './lab.js';

const command = process.argv[2];
if (command === 'up') await ensureTestLab();
else if (command === 'down') await stopTestLab();
else {
  process.stderr.write('usage: lab-cli.ts up|down\n');
  process.exit(2);
}
