// Splits the lab tier between parallel labs (`jest --shard=i/n`, scripts/test.sh):
// each shard brings up its own lab, so the files must be spread by how long they
// run, not by count. Jest's own shard split hashes paths, which put every long
// end-to-end file on one shard. Unlisted files count as DEFAULT_MINUTES, so a
// new file always runs somewhere.
import { basename } from 'node:path';
import Sequencer from '@jest/test-sequencer';

/** Minutes per lab test file with three labs on 2 cores, from the CI run of 2026-11-26. */
const MINUTES = {
  'faults-worker.test.ts': 11,
  'e2e-durability.test.ts': 5.5,
  'faults-apiserver.test.ts': 4.5,
  'bad-input.test.ts': 4,
  'e2e-operator.test.ts': 4,
  'e2e-upgrade.test.ts': 3.5,
  'faults-run.test.ts': 3.5,
  'faults-prometheus.test.ts': 3,
  'faults-temporal.test.ts': 3,
  'observability.test.ts': 2.5,
  'loopback.test.ts': 1,
  'activities-kubernetes.test.ts': 0.7,
  'activities-istioctl.test.ts': 0.6,
  'rbac.test.ts': 0.5,
  'kube-rate-limit.test.ts': 0.3,
  'activities-backup.test.ts': 0.2,
};
const DEFAULT_MINUTES = 3;

const minutes = (test) => MINUTES[basename(test.path)] ?? DEFAULT_MINUTES;

export default class LabSequencer extends Sequencer {
  shard(tests, { shardIndex, shardCount }) {
    // Longest first onto the least loaded shard; ties broken by path so every shard computes the same split.
    const loads = new Array(shardCount).fill(0);
    const mine = [];
    const ordered = [...tests].sort((a, b) => minutes(b) - minutes(a) || a.path.localeCompare(b.path));
    for (const test of ordered) {
      const shard = loads.indexOf(Math.min(...loads));
      loads[shard] += minutes(test);
      if (shard === shardIndex - 1) mine.push(test);
    }
    return mine;
  }
}
