#!/usr/bin/env bash
# Cross-checks batchsli against independent jq sums over tsuku's real history.
# Usage: scripts/crosscheck-tsuku.sh [DATA] (default ../shared/tsuku-data)
set -euo pipefail
data=${1:-../shared/tsuku-data}
[ -d "$data/metrics" ] || { echo "crosscheck: no data at $data" >&2; exit 1; }
bin=$(mktemp -d)/batchsli
go build -o "$bin" ./cmd/batchsli
fail=0
check() { # name, batchsli value, jq value
  if [ "$2" == "$3" ]; then echo "ok    $1: $2"; else echo "FAIL  $1: batchsli $2, jq $3"; fail=1; fi
}

v=$("$bin" validate --data "$data" --format json)
check "validate batch_runs" "$(jq .batch_runs <<<"$v")" "$(jq -s length "$data"/metrics/batch-runs*.jsonl)"
check "validate failure_records" "$(jq .failure_records <<<"$v")" \
  "$(cat "$data"/failures/*.jsonl | jq -s '[.[] | if has("failures") then (.failures|length) else 1 end] | add')"
check "validate problems" "$(jq '.problems|length' <<<"$v")" "0"
exit $fail
