#!/usr/bin/env bash
# bench/vector/run.sh -- build snkv_vbench (Release) and run the vector
# comparison: snkv's vector store (f32, f16, i8) against hnswlib and FAISS
# HNSW on Fashion-MNIST, then draw docs/vector-recall-qps.png.
#
#   bench/vector/run.sh                    # 10,000 queries
#   bench/vector/run.sh --queries 2000     # fewer queries, quicker
#   bench/vector/run.sh --compare 3        # only snkv-f32 against hnswlib:
#       3 rounds, each step alternating which runs first; ratios from CPU
#       time, so that a loaded machine affects both alike. Writes
#       results/compare.{txt,json} and leaves the plot alone.
#   bench/vector/run.sh --builds 4         # only the two builds of
#       --compare, alternating, with the calling thread's time on a CPU,
#       waiting for a core and blocked, its sleeps, and the bytes written.
#       Needs no ground truth; prints only.
#
# Needs libhnswlib-dev, libfaiss-dev, dataset-fashion-mnist, zlib1g-dev
# (scripts/ensure-deps.sh --bench). The exact ground truth is computed once
# (about a minute on two cores) and cached in bench/vector/cache/. Stores
# are created under $TMPDIR (default /tmp), which should be a disk.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-vbench}"
RESULTS="$ROOT/bench/vector/results"
cmake -S "$ROOT/bench/vector" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSNKV_LTO=OFF >/dev/null
ninja -C "$BUILD_DIR" snkv_vbench >/dev/null
mkdir -p "$RESULTS"
cd "$ROOT"
# FAISS runs on one thread per query like the others; a spinning OpenMP
# pool would only burn the shared machine's cores.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
if [[ " $* " == *" --builds "* ]]; then
  exec "$BUILD_DIR/snkv_vbench" --work "${TMPDIR:-/tmp}/snkv-vbench" \
    --json "${TMPDIR:-/tmp}/snkv-vbench-builds.json" "$@"
fi
if [[ " $* " == *" --compare "* ]]; then
  "$BUILD_DIR/snkv_vbench" --work "${TMPDIR:-/tmp}/snkv-vbench" \
    --cache bench/vector/cache --json "$RESULTS/compare.json" "$@" |
    tee "$RESULTS/compare.txt"
  exit 0
fi
"$BUILD_DIR/snkv_vbench" --work "${TMPDIR:-/tmp}/snkv-vbench" \
  --cache bench/vector/cache --json "$RESULTS/latest.json" "$@" | tee "$RESULTS/latest.txt"
/usr/bin/python3 bench/vector/plot.py "$RESULTS/latest.json" docs/vector-recall-qps.png
