// ESM throughout: execa and @kubernetes/client-node are ESM-only, so jest runs
// test files as native ES modules (NODE_OPTIONS=--experimental-vm-modules, set by
// the npm scripts) and ts-jest compiles TypeScript with useESM.
const esm = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  // Lab state dirs (.lab, .lab-bench, ...) hold etcd's *.snap files, which jest
  // would otherwise take for obsolete snapshots, and thousands of files to crawl.
  modulePathIgnorePatterns: ['<rootDir>/\\.lab'],
};

export default {
  // Balances `--shard` by expected duration (the lab tier runs in parallel labs).
  testSequencer: '<rootDir>/test/support/lab-sequencer.js',
  // Tests that spawn the CLI through tsx take seconds on a loaded 2-core machine;
  // jest's 5 s default turned load into failures. Tests still assert no timings.
  testTimeout: 30_000,
  projects: [
    { ...esm, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...esm, displayName: 'workflow', testMatch: ['<rootDir>/test/workflow/**/*.test.ts'] },
    { ...esm, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    // Against the local mesh lab (one shared instance; run with --runInBand: see scripts/test.sh).
    {
      ...esm,
      displayName: 'lab',
      testMatch: ['<rootDir>/test/lab/**/*.test.ts'],
      globalSetup: '<rootDir>/test/lab/global-setup.ts',
      globalTeardown: '<rootDir>/test/lab/global-teardown.ts',
    },
    // The real Temporal UI in Debian's Chromium (playwright-core; `npm run tools -- chromium`).
    { ...esm, displayName: 'ui', testMatch: ['<rootDir>/test/ui/**/*.test.ts'] },
  ],
};
