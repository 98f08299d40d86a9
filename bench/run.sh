#!/usr/bin/env bash
# The report benchmark: batchsli's whole report against DuckDB running the
# same three aggregates (platform totals, platform x category counts,
# ecosystem x platform totals) over the same 20,000-batch simulated history,
# side by side in one run. Needs node/npm (for @duckdb/node-api), hyperfine,
# jq and GNU time. Usage: bench/run.sh [BATCHES]
set -euo pipefail
cd "$(dirname "$0")"
batches=${1:-20000}
mkdir -p out
go build -o out/batchsli ../cmd/batchsli
data=out/history-$batches
if [ ! -d "$data" ]; then
  out/batchsli simulate --out "$data" --batches "$batches" --seed 1 >/dev/null
fi
[ -d node_modules/@duckdb/node-api ] || npm install --no-audit --no-fund --silent
echo "history: $(du -sh "$data" | cut -f1) in $(find "$data" -name '*.jsonl' | wc -l) files, $batches batches"

report=(out/batchsli report --data "$data" --by family --format json --now 2036-01-01T00:00:00Z)
duck=(node duckdb-aggregates.mjs "$data")

# Both must compute the same numbers.
"${report[@]}" > out/report.json
"${duck[@]}" > out/duckdb.json
same() { diff <(jq -S "$1" out/report.json) <(jq -S "$2" out/duckdb.json) >/dev/null && echo "same $3" || { echo "DIFFERENT $3"; exit 1; }; }
same '[.platforms[] | {platform, tested, passed, failed}] | sort_by(.platform)' \
     '[.platforms[] | {platform, tested: (.tested|tonumber), passed: (.passed|tonumber), failed: (.failed|tonumber)}] | sort_by(.platform)' "platform totals"
same '[.categories[] | {platform, category, count}] | sort_by(.platform, .category)' \
     '[.categories[] | {platform, category, count: (.count|tonumber)}] | sort_by(.platform, .category)' "platform x category counts"
same '[.matrix[] | {ecosystem, platform, tested, passed, failed}] | sort_by(.ecosystem, .platform)' \
     '[.matrix[] | {ecosystem, platform, tested: (.tested|tonumber), passed: (.passed|tonumber), failed: (.failed|tonumber)}] | map(select(.tested > 0)) | sort_by(.ecosystem, .platform)' "ecosystem x platform totals"

hyperfine --warmup 1 --runs 7 --export-json out/hyperfine.json \
  -n batchsli "${report[*]} > /dev/null" -n duckdb "${duck[*]} > /dev/null"
jq -r '.results as $r | "batchsli/duckdb mean time ratio: \($r[0].mean / $r[1].mean | . * 1000 | round / 1000)"' out/hyperfine.json

for name in batchsli duckdb; do
  if [ $name = batchsli ]; then cmd=("${report[@]}"); else cmd=("${duck[@]}"); fi
  /usr/bin/time -f "$name peak memory: %M KiB" "${cmd[@]}" > /dev/null
done
