#!/usr/bin/env bash
# Runs two builds' sync-cost and capacity benchmarks alternately, RUNS times
# each, in one sitting, so that both see the same machine (issue 10: the
# store change must not measure below the old code's spread).
#   OLD=/path/to/old/build-bench NEW=/path/to/new/build-bench RUNS=3 bash bench/compare.sh
# Each build directory must hold bin/jixiao-server, bin/jixiao-bench-sync-cost
# and bin/jixiao-bench-capacity (Release). Output: one file per run in $OUT
# (default ./bench-compare), then a summary of the lines that carry figures.
set -euo pipefail
: "${OLD:?set OLD to the old build directory}"
: "${NEW:?set NEW to the new build directory}"
RUNS="${RUNS:-3}"
OUT="${OUT:-$PWD/bench-compare}"
TRANSPORT="${TRANSPORT:-ws}"
mkdir -p "$OUT"
for i in $(seq 1 "$RUNS"); do
  for side in old new; do
    dir=$OLD
    [ "$side" = new ] && dir=$NEW
    echo "== run $i: $side sync-cost"
    "$dir/bin/jixiao-bench-sync-cost" >"$OUT/sync-cost-$side-$i.txt" 2>&1
    echo "== run $i: $side capacity ($TRANSPORT)"
    "$dir/bin/jixiao-bench-capacity" --transport "$TRANSPORT" >"$OUT/capacity-$side-$i.txt" 2>&1
  done
done
echo "== summary"
for f in "$OUT"/*.txt; do
  echo "--- $(basename "$f")"
  grep -E "^\| [0-9]|^\| [a-c]|SQLite, batch|problems|logins:" "$f" | head -20 || true
done
