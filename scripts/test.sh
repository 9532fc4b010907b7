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
# The lab tier: LAB_SHARDS labs side by side (each its own state dir and ports,
# brought up by the project's global setup), each running its share of the files
# in sequence (test/support/lab-sequencer.js splits them by expected duration).
# The files mostly wait on rollouts, soak windows and activity timeouts, so three
# labs cut the time by about three even on 2 cores.
shards=${LAB_SHARDS:-3}
lab_shard() {
  local i=$1 offset=$(( ($1 - 1) * 100 ))
  shift
  ISTIO_CANARY_LAB_DIR="$root/.lab-test$([ "$i" = 1 ] || echo "-$i")" \
    LAB_TEMPORAL_PORT=$((17233 + offset)) LAB_TEMPORAL_UI_PORT=$((18233 + offset)) \
    LAB_PROMETHEUS_PORT=$((19090 + offset)) LAB_INJECTOR_PORT=$((25017 + offset)) \
    LAB_TRAFFIC_PORT=$((25090 + offset)) LAB_WORKER_METRICS_PORT=$((29464 + offset)) \
    LAB_KUBE_APISERVER_PORT=$((26443 + offset)) \
    jest --selectProjects lab --runInBand --shard="$i/$shards" --passWithNoTests "$@" 2>&1 | sed -u "s/^/[lab $i] /"
}
pids=()
for i in $(seq 1 "$shards"); do
  lab_shard "$i" "$@" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
