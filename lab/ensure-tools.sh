#!/usr/bin/env bash
# Installs what the tests and the worker need and cannot get from npm:
#   - the Temporal CLI dev server, built from its Go module into .tools/bin (cached);
#   - Prometheus, from Debian's package.
# Idempotent: a second run finds everything and returns in well under a second.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
source "$root/lab/versions.env"
bin="$root/.tools/bin"
mkdir -p "$bin"

say() { printf '[tools] %s\n' "$*" >&2; }

ensure_temporal() {
  if [[ -n "${TEMPORAL_CLI:-}" && -x "$TEMPORAL_CLI" ]]; then say "temporal: using \$TEMPORAL_CLI=$TEMPORAL_CLI"; return; fi
  local stamp="$bin/.temporal-$TEMPORAL_CLI_VERSION"
  if [[ -x "$bin/temporal" && -f "$stamp" ]]; then return; fi
  command -v go >/dev/null || { say "Go is needed to build the Temporal CLI (apt-get install golang, or Go 1.24+ on PATH)"; exit 1; }
  say "building temporal $TEMPORAL_CLI_VERSION from $TEMPORAL_CLI_MODULE (first time only, ~3 min on 2 cores)"
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install \
    -ldflags "-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION#v}" \
    "$TEMPORAL_CLI_MODULE@$TEMPORAL_CLI_VERSION"
  rm -f "$bin"/.temporal-*; touch "$stamp"
  say "temporal: $("$bin/temporal" --version)"
}

ensure_prometheus() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then return; fi
  if [[ $(id -u) -ne 0 ]]; then say "Prometheus missing: run 'sudo apt-get install -y $PROMETHEUS_DEBIAN_PACKAGE'"; exit 1; fi
  say "installing Prometheus from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$PROMETHEUS_DEBIAN_PACKAGE" >/dev/null
  # The package starts a system service where an init system runs; the tests
  # start their own instances, so a packaged one is not wanted.
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then systemctl disable --now prometheus || true; fi
}

case "${1:-all}" in
  temporal) ensure_temporal ;;
  prometheus) ensure_prometheus ;;
  all) ensure_temporal; ensure_prometheus ;;
  *) say "usage: $0 [temporal|prometheus|all]"; exit 2 ;;
esac
