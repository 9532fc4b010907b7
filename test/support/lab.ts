// The tests' own lab: a second instance beside any lab a developer runs (its own
// state dir and ports), brought up once per jest run by the `lab` project's
// global setup and torn down by its global teardown. Override any of these with
// the same environment variables the lab reads.
import { join } from 'node:path';
import { REPO_ROOT } from '../../lab/paths.js';

export const TEST_LAB_ENV: Record<string, string> = {
  ISTIO_CANARY_LAB_DIR: join(REPO_ROOT, '.lab-test'),
  LAB_TEMPORAL_PORT: '17233',
  LAB_TEMPORAL_UI_PORT: '18233',
  LAB_PROMETHEUS_PORT: '19090',
  LAB_INJECTOR_PORT: '25017',
  LAB_TRAFFIC_PORT: '25090',
  LAB_WORKER_METRICS_PORT: '29464',
};

/** Points this process (and the lab modules, which read the environment when called) at the test lab. */
export function useTestLab(): void {
  for (const [key, value] of Object.entries(TEST_LAB_ENV)) process.env[key] ??= value;
}

export async function ensureTestLab() {
  useTestLab();
  const { labUp } = await import('../../lab/lab.js');
  return labUp((line) => process.stderr.write(`[test lab] ${line}\n`));
}

/** A fresh lab: what an end-to-end test that changes the whole mesh starts from. */
export async function resetTestLab() {
  useTestLab();
  const { labDown, labUp } = await import('../../lab/lab.js');
  await labDown(() => undefined);
  return labUp((line) => process.stderr.write(`[test lab] ${line}\n`));
}

export async function stopTestLab(): Promise<void> {
  useTestLab();
  const { labDown } = await import('../../lab/lab.js');
  await labDown(() => undefined);
}
