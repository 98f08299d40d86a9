#!/usr/bin/env bash
# The report benchmark: batchsli's whole report against DuckDB over the same
# files, side by side in one run, on two 20,000-batch simulated histories:
# "popular" (the default simulator, about 14,000 distinct recipes) and
# "registry" (--recipes 400000, about 192,000 distinct recipes).
#
# DuckDB runs the report's three aggregates (duckdb-aggregates.mjs) and,
# separately, its capability-gap analysis (duckdb-gaps.mjs). Both are first
# checked to give batchsli's numbers; then the three commands run RUNS times
# each, alternating, after a warm-up, and the medians of wall time and peak
# memory (GNU time) are printed with the ratios. Needs go, node and npm (for
# @duckdb/node-api), jq and GNU time.
#
# The comparison runs with the report cache off (BATCHSLI_CACHE=off); the
# repeated report is then timed with it on: the same report asked again of
# unchanged data (docs/STORAGE.md, "The cache").
#
# Usage: bench/run.sh [BATCHES] [RECIPES] [RUNS]
set -euo pipefail
export BATCHSLI_CACHE=off
cd "$(dirname "$0")"
batches=${1:-20000}
recipes=${2:-400000}
runs=${3:-7}
mkdir -p out
go build -o out/batchsli ../cmd/batchsli
[ -d node_modules/@duckdb/node-api ] || npm ci --no-audit --no-fund --silent

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

bench() {
  local name=$1 data=$2
  echo "== $name: $(du -sh "$data" | cut -f1) in $(find "$data" -name '*.jsonl' | wc -l) files, $batches batches"
  local report=(out/batchsli report --data "$data" --by family --format json --now 2036-01-01T00:00:00Z)
  local aggs=(node duckdb-aggregates.mjs "$data")
  local gaps=(node duckdb-gaps.mjs "$data")
  # The same history without its outcome records (hard links to its other
  # files: batchsli does not follow a link out of the data directory):
  # what the recipe histories cost, which DuckDB's queries leave out.
  local bare="out/$name-without-outcomes"
  rm -rf "$bare" && mkdir -p "$bare"
  for d in "$data"/*/; do
    [ "$(basename "$d")" = outcomes ] || cp -rl "$d" "$bare/"
  done
  local without=(out/batchsli report --data "$bare" --by family --format json --now 2036-01-01T00:00:00Z)

  # Both must compute the same numbers.
  "${report[@]}" > out/report.json
  "${aggs[@]}" > out/duckdb.json
  "${gaps[@]}" > out/gaps.json
  same() { diff <(jq -S "$2" out/report.json) <(jq -S "$3" "$4") >/dev/null && echo "same $1" || { echo "DIFFERENT $1"; exit 1; }; }
  same "platform totals" '[.platforms[] | {platform, tested, passed, failed}] | sort_by(.platform)' \
    '[.platforms[] | {platform, tested: (.tested|tonumber), passed: (.passed|tonumber), failed: (.failed|tonumber)}] | sort_by(.platform)' out/duckdb.json
  same "platform x category counts" '[.categories[] | {platform, category, count}] | sort_by(.platform, .category)' \
    '[.categories[] | {platform, category, count: (.count|tonumber)}] | sort_by(.platform, .category)' out/duckdb.json
  same "ecosystem x platform totals" '[.matrix[] | {ecosystem, platform, tested, passed, failed}] | sort_by(.ecosystem, .platform)' \
    '[.matrix[] | {ecosystem, platform, tested: (.tested|tonumber), passed: (.passed|tonumber), failed: (.failed|tonumber)}] | map(select(.tested > 0)) | sort_by(.ecosystem, .platform)' out/duckdb.json
  # Every gap the report names, with its failing recipes, as DuckDB counts them.
  local named
  named=$(jq '[.insights[] | select(.kind == "capability_gap")] | length' out/report.json)
  same "capability gaps ($named named)" \
    '[.insights[] | select(.kind == "capability_gap") | {platform, cause: (if (.blocked_by | length) > 0 then "dep:" + .blocked_by[0] else "cat:" + .category end), recipes, failing: .failing_recipes}] | sort_by(.platform, .cause)' \
    '(map(select(.cause == "failing")) | map({(.platform): (.recipes|tonumber)}) | add) as $failing
     | [.[] | select(.cause != "failing") | {platform, cause, recipes: (.recipes|tonumber), failing: $failing[.platform]}]
     | map({key: (.platform + " " + .cause), value: .}) | from_entries as $all
     | input | [.insights[] | select(.kind == "capability_gap") | (.platform + " " + (if (.blocked_by | length) > 0 then "dep:" + .blocked_by[0] else "cat:" + .category end))]
     | map($all[.]) | sort_by(.platform, .cause)' <(cat out/gaps.json out/report.json)

  local -A cmds=([batchsli]="${report[*]}" [duckdb-aggregates]="${aggs[*]}" [duckdb-gaps]="${gaps[*]}" [no-outcomes]="${without[*]}")
  local order=(batchsli duckdb-aggregates duckdb-gaps no-outcomes)
  for c in "${order[@]}"; do : > "out/$name-$c.times"; ${cmds[$c]} > /dev/null; done
  for ((i = 0; i < runs; i++)); do
    for c in "${order[@]}"; do
      /usr/bin/time -a -o "out/$name-$c.times" -f '%e %M' ${cmds[$c]} > /dev/null
    done
  done
  local -A t m
  for c in "${order[@]}"; do
    t[$c]=$(cut -d' ' -f1 "out/$name-$c.times" | median)
    m[$c]=$(cut -d' ' -f2 "out/$name-$c.times" | median)
    printf '%-18s median %6.3f s  peak %7.1f MiB  (%d runs)\n' "$c" "${t[$c]}" "$(echo "${m[$c]} / 1024" | bc -l)" "$runs"
  done
  printf 'batchsli / duckdb-aggregates: %.2fx the time\n' "$(echo "${t[batchsli]} / ${t[duckdb-aggregates]}" | bc -l)"
  printf 'batchsli / (aggregates + gaps): %.2fx the time\n' "$(echo "${t[batchsli]} / (${t[duckdb-aggregates]} + ${t[duckdb-gaps]})" | bc -l)"
  printf 'batchsli without outcome records / duckdb-aggregates: %.2fx the time\n' "$(echo "${t[no-outcomes]} / ${t[duckdb-aggregates]}" | bc -l)"

  # The same report again, from the cache (the first run fills it).
  rm -rf "$data/.batchsli.cache"
  BATCHSLI_CACHE= "${report[@]}" > /dev/null
  : > "out/$name-cached.times"
  for ((i = 0; i < runs; i++)); do
    BATCHSLI_CACHE= /usr/bin/time -a -o "out/$name-cached.times" -f '%e %M' "${report[@]}" > out/cached.json
  done
  cmp -s out/cached.json out/report.json || { echo "DIFFERENT cached report"; exit 1; }
  printf '%-18s median %6.3f s  peak %7.1f MiB  (%d runs, same output)\n' "repeated report" \
    "$(cut -d' ' -f1 "out/$name-cached.times" | median)" "$(echo "$(cut -d' ' -f2 "out/$name-cached.times" | median) / 1024" | bc -l)" "$runs"
}

popular=out/popular-$batches
[ -d "$popular" ] || out/batchsli simulate --out "$popular" --batches "$batches" --seed 1 > /dev/null
bench popular "$popular"
registry=out/registry-$batches-$recipes
[ -d "$registry" ] || out/batchsli simulate --out "$registry" --batches "$batches" --recipes "$recipes" --seed 1 > /dev/null
bench registry "$registry"
