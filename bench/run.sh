#!/usr/bin/env bash
# bench/run.sh -- build snkv_bench in Release and run the full comparison.
#
#   bench/run.sh                 # all stores, all workloads, 3 runs each
#   REPEAT=5 bench/run.sh        # medians of 5 runs
#   bench/run.sh --scale 0.1     # extra arguments go to snkv_bench
#
# Writes bench/results/latest.json, bench/results/latest.txt (the tables),
# docs/benchmark-ratios.png and docs/benchmark-latency.png (latency
# distributions of the autocommit writes), then prints the tables. Then runs
# snkv_ceiling (how far SQLite's public API gets past plain SQLite;
# CEILING_REPEAT runs, default 4) into bench/results/ceiling.{txt,json}. Build directory:
# build-bench (override with BUILD_DIR). Stores are created under $TMPDIR
# (default /tmp) and removed afterwards; it must be a disk, not tmpfs, for
# the figures to mean anything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
REPEAT="${REPEAT:-3}"
RESULTS="$ROOT/bench/results"

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSNKV_BUILD_BENCH=ON -DSNKV_BUILD_TESTS=OFF -DSNKV_BUILD_EXAMPLES=OFF \
  >/dev/null
ninja -C "$BUILD_DIR" snkv_bench snkv_ceiling >/dev/null

mkdir -p "$RESULTS"
status=0
"$BUILD_DIR/bench/snkv_bench" --repeat "$REPEAT" \
  --json "$RESULTS/latest.json" "$@" >"$RESULTS/latest.txt" || status=$?
/usr/bin/python3 "$ROOT/bench/plot.py" "$RESULTS/latest.json" \
  "$ROOT/docs/benchmark-ratios.png"
/usr/bin/python3 "$ROOT/bench/plot_latency.py" "$RESULTS/latest.json" \
  "$ROOT/docs/benchmark-latency.png"

{
  echo "snkv_bench --repeat $REPEAT $*  ($(date -u +%Y-%m-%dT%H:%M:%SZ)," \
    "$(nproc) cores, $(uname -r))"
  cat "$RESULTS/latest.txt"
} | tee "$RESULTS/latest.txt.tmp"
mv "$RESULTS/latest.txt.tmp" "$RESULTS/latest.txt"

# The ceiling runs each variant first in turn, so a repeat count that is a
# multiple of 4 (the most variants of one workload) balances the order.
# Of the extra arguments it takes --scale only.
CEILING_REPEAT="${CEILING_REPEAT:-4}"
ceiling_args=()
while [[ $# -gt 0 ]]; do
  if [[ "$1" == --scale && $# -gt 1 ]]; then ceiling_args+=(--scale "$2"); shift; fi
  shift
done
if "$BUILD_DIR/bench/snkv_ceiling" --repeat "$CEILING_REPEAT" \
  "${ceiling_args[@]}" --json "$RESULTS/ceiling.json" \
  >"$RESULTS/ceiling.txt.tmp"; then
  mv "$RESULTS/ceiling.txt.tmp" "$RESULTS/ceiling.txt"
  cat "$RESULTS/ceiling.txt"
else
  rm -f "$RESULTS/ceiling.txt.tmp"
  status=1
fi
exit "$status"
