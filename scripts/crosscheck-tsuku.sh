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

# jq helpers: a failure file's records flattened to {env, cat, t}; job-level
# platform IDs; canonical categories (FORMATS.md section 5).
flat='[.[] | if has("failures") then (.environment as $e | .updated_at as $u | .failures[] | {env: $e, cat: .category, t: (.timestamp // $u)})
             else {env: .platform, cat: .category, code: .exit_code, t: .timestamp} end]'
job='def job: if startswith("darwin") then . else "linux-" + (split("-") | last) end;'
canon='def canon: {"missing_dependency":"missing_dep","api_error":"network_error","network":"network_error",
  "validation_failed":"install_failed","deterministic":"generation_failed","deterministic_insufficient":"generation_failed"}[.] // .;
def fromexit: {"3":"recipe_not_found","5":"network_error","6":"install_failed","7":"verify_failed","8":"missing_dep","124":"timeout","137":"timeout"}[tostring] // "generation_failed";'
secs='def secs: gsub("(?<h>T[0-9]{2})-(?<m>[0-9]{2})-(?<s>[0-9]{2})"; "\(.h):\(.m):\(.s)") as $s
  | ($s | sub("\\.[0-9]+"; "") | fromdate) + (($s | capture("\\.(?<f>[0-9]+)") | ("0." + .f | tonumber)) // 0);'

compare_report() { # label, extra report args, jq platform sums, jq category sums
  local r
  r=$("$bin" report --data "$data" --by job --format json --now 2026-05-01T00:00:00Z "${@:2:$#-3}")
  check "$1 platforms" "$(jq -c '[.platforms[] | {platform, tested, passed, failed}] | sort_by(.platform)' <<<"$r")" "${@: -2:1}"
  check "$1 categories" "$(jq -c '[.categories[] | {platform, category, count}] | sort_by(.platform, .category)' <<<"$r")" "${@: -1}"
}

# Whole history.
plat_all=$(jq -s -c '[.[] | .platforms | to_entries[]] | group_by(.key)
  | map({platform: .[0].key, tested: (map(.value.tested) | add), passed: (map(.value.passed) | add), failed: (map(.value.failed) | add)})
  | map(select(.tested > 0)) | sort_by(.platform)' "$data"/metrics/batch-runs*.jsonl)
cat_all=$(cat "$data"/failures/*.jsonl | jq -s -c "$job $canon $flat"' | map({platform: (.env | job), category: (if (.cat // "") != "" then (.cat | canon) else (.code | fromexit) end)})
  | group_by([.platform, .category]) | map({platform: .[0].platform, category: .[0].category, count: length}) | sort_by(.platform, .category)')
compare_report "report --by job" "$plat_all" "$cat_all"

# Last 10 batches (runs that tested something), and the failures after the batch before them.
runs=$(jq -s -c "$secs"' [.[] | select([.platforms[].tested] | add > 0) | {t: (.timestamp | secs), platforms}] | sort_by(.t)' "$data"/metrics/batch-runs*.jsonl)
plat_10=$(jq -c '.[-10:] | [.[] | .platforms | to_entries[]] | group_by(.key)
  | map({platform: .[0].key, tested: (map(.value.tested) | add), passed: (map(.value.passed) | add), failed: (map(.value.failed) | add)})
  | map(select(.tested > 0)) | sort_by(.platform)' <<<"$runs")
cut=$(jq '.[-11].t' <<<"$runs")
cat_10=$(cat "$data"/failures/*.jsonl | jq -s -c --argjson cut "$cut" "$job $canon $secs $flat"' | map(select((.t | secs) > $cut))
  | map({platform: (.env | job), category: (if (.cat // "") != "" then (.cat | canon) else (.code | fromexit) end)})
  | group_by([.platform, .category]) | map({platform: .[0].platform, category: .[0].category, count: length}) | sort_by(.platform, .category)')
compare_report "report --by job --last 10" --last 10 "$plat_10" "$cat_10"
exit $fail
