// Brings the tests' lab up once for every lab-tier test file.
import { ensureTestLab } from '../support/lab.js';

export default async function globalSetup(): Promise<void> {
  await ensureTestLab();
}
