#!/usr/bin/env bash
# `npm test`: installs what the tests need that npm cannot, then runs every tier.
#   tools:  the Temporal CLI and the lab's Kubernetes, etcd, kwok and istioctl, each
#           built from its Go module into .tools/bin (cached after the first run);
#           Prometheus, tcpdump and Chromium from Debian.
#   tiers:  unit, workflow (real Temporal dev server), integration (real Prometheus),
#           UI (the real Temporal UI in Chromium), then the lab tier (one local mesh
#           lab, its tests in sequence).
# Arguments go to jest: `npm test -- test/unit/plan` runs what matches in every tier.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

LAB_TOOLS=1 bash lab/ensure-tools.sh all

export TEMPORAL_CLI="${TEMPORAL_CLI:-$root/.tools/bin/temporal}"
export NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}"

status=0
# Two workers: each workflow test file runs its own dev server; more would starve
# a 2-core machine and turn timers into flakes.
jest --selectProjects unit workflow integration ui --maxWorkers=2 --passWithNoTests "$@" || status=1
# The lab tier shares one lab (global setup brings it up), so its files run in sequence.
jest --selectProjects lab --runInBand --passWithNoTests "$@" || status=1
exit $status
