#!/usr/bin/env bash
# The seed's manual canary procedure ("Canary Upgrade Process" in the Istio
# production-readiness guide), scripted faithfully and applied to every given
# namespace one at a time, as an operator following it would: install the new
# revision, wait for istiod, then per namespace relabel, rollout restart,
# rollout status, sleep 30 for metrics, one error-rate check (> 0.01 stops).
# Two substitutions, both forced by the lab: istioctl is the lab's own build
# (no download), and the error rate is read from the lab Prometheus over HTTP
# rather than `kubectl exec deploy/prometheus -- promql` (no Prometheus pod).
# Run by bench/run.ts with --baseline, which sets the variables below.
set -euo pipefail

: "${KUBECTL:?}" "${ISTIOCTL:?}" "${PROMETHEUS_URL:?}" "${NEW_REVISION:?}" "${OVERLAY:?}" "${KUBECONFIG:?}"
[[ $# -ge 1 ]] || { echo "usage: $0 <namespace>..." >&2; exit 1; }

echo "Step 2: pre-upgrade analysis"
"$ISTIOCTL" x precheck --kubeconfig "$KUBECONFIG" >/dev/null

echo "Step 3: installing canary control plane ${NEW_REVISION}"
"$ISTIOCTL" install -y --kubeconfig "$KUBECONFIG" --set "revision=${NEW_REVISION}" --set profile=minimal -f "$OVERLAY" >/dev/null
"$KUBECTL" rollout status deployment "istiod-${NEW_REVISION}" -n istio-system --timeout=300s >/dev/null

for ns in "$@"; do
  echo "namespace ${ns}: relabel, restart, rollout status, sleep 30, error-rate check"
  "$KUBECTL" label namespace "$ns" "istio.io/rev=${NEW_REVISION}" istio-injection- --overwrite >/dev/null
  "$KUBECTL" rollout restart deployment -n "$ns" >/dev/null
  "$KUBECTL" rollout status deployment -n "$ns" --timeout=300s >/dev/null
  sleep 30 # Allow metrics to accumulate
  query="sum(rate(istio_requests_total{reporter=\"destination\",destination_service_namespace=\"${ns}\",response_code=~\"5.*\"}[5m])) / sum(rate(istio_requests_total{reporter=\"destination\",destination_service_namespace=\"${ns}\"}[5m]))"
  error_rate=$(curl -sf --get "${PROMETHEUS_URL}/api/v1/query" --data-urlencode "query=${query}" | grep -oP '"value":\[[\d.]+,"\K[\d.eE+-]+' || echo 0)
  if (( $(echo "${error_rate} > 0.01" | bc -l) )); then
    echo "ERROR: high error rate (${error_rate}) in ${ns}" >&2
    exit 1
  fi
done
echo "baseline done: $# namespaces"
