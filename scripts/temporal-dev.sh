#!/usr/bin/env bash
# A local Temporal dev server (UI on http://127.0.0.1:8233) with the search
# attributes istio-canary uses. State goes to .lab/temporal.db so a restart keeps
# running upgrades.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/lab/ensure-tools.sh" temporal
mkdir -p "$root/.lab"
temporal="${TEMPORAL_CLI:-$root/.tools/bin/temporal}"
exec "$temporal" server start-dev --ip 127.0.0.1 --ui-ip 127.0.0.1 --db-filename "$root/.lab/temporal.db" \
  --search-attribute IstioCanaryPhase=Keyword --search-attribute IstioCanaryCluster=Keyword \
  --search-attribute IstioCanarySourceRevision=Keyword --search-attribute IstioCanaryTargetRevision=Keyword "$@"
