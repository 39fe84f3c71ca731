#!/usr/bin/env bash
# bench/run.sh -- build snkv_bench in Release and run the full comparison.
#
#   bench/run.sh                 # all stores, all workloads, 3 runs each
#   REPEAT=5 bench/run.sh        # medians of 5 runs
#   bench/run.sh --scale 0.1     # extra arguments go to snkv_bench
#
# Writes bench/results/latest.json, bench/results/latest.txt (the table)
# and docs/benchmark-ratios.png, then prints the table. Then runs
# snkv_ceiling (what SQLite's public API allows at most, same repetitions)
# into bench/results/ceiling.{txt,json}. Build directory:
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

{
  echo "snkv_bench --repeat $REPEAT $*  ($(date -u +%Y-%m-%dT%H:%M:%SZ)," \
    "$(nproc) cores, $(uname -r))"
  cat "$RESULTS/latest.txt"
} | tee "$RESULTS/latest.txt.tmp"
mv "$RESULTS/latest.txt.tmp" "$RESULTS/latest.txt"

"$BUILD_DIR/bench/snkv_ceiling" --repeat "$REPEAT" \
  --json "$RESULTS/ceiling.json" | tee "$RESULTS/ceiling.txt" ||
  status=1
exit "$status"
