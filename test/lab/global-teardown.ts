// Stops the tests' lab unless KEEP_TEST_LAB=1 (handy while writing tests).
import { stopTestLab } from '../support/lab.js';

export default async function globalTeardown(): Promise<void> {
  if (process.env.KEEP_TEST_LAB !== '1') await stopTestLab();
}
