#!/usr/bin/env bash
# Builds snkv and runs every test: the optimised build (with the
# benchmark's smoke run against its peers), then (unless
# SNKV_SKIP_SANITIZE=1) the whole suite again under ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh --bench
jobs=$(nproc)

echo "== build and test (RelWithDebInfo) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSNKV_BUILD_BENCH=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [[ "${SNKV_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== build and test (ASan + UBSan) =="
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DSNKV_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"
fi
echo "All tests passed."
