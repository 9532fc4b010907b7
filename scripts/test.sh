#!/usr/bin/env bash
# `npm test`: installs what the tests need that npm cannot (the Temporal CLI,
# built from its Go module; Prometheus, from Debian), then runs every test tier:
# unit, workflow (real Temporal dev server), integration (real Prometheus).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash lab/ensure-tools.sh all

export TEMPORAL_CLI="${TEMPORAL_CLI:-$root/.tools/bin/temporal}"
export NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}"
# Two workers: each workflow test file runs its own dev server; more would
# starve a 2-core machine and turn timers into flakes.
exec jest --maxWorkers=2 "$@"
