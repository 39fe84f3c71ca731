#!/usr/bin/env bash
# Builds snkv and runs every test: the optimised build (with the
# benchmark's smoke run against its peers), then (unless
# SNKV_SKIP_SANITIZE=1) the whole suite again under ASan + UBSan, then
# (unless SNKV_SKIP_TSAN=1) the threaded and multi-process tests under
# ThreadSanitizer.
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
if [[ "${SNKV_SKIP_FUZZ:-0}" != 1 ]]; then
  # The page reader's fuzzer (docs/design.md, "Fuzzing"): clang, libFuzzer,
  # ASan + UBSan. First every input that once found a bug
  # (tests/fuzz/regressions), each run once; then a fixed number of new
  # inputs from the committed seed corpus, with a fixed seed so that a run
  # here and one in CI explore alike. Any crash, hang or disagreement with
  # SQLite fails the run; libFuzzer leaves the input in build-fuzz/artifacts/.
  fuzz_runs="${SNKV_FUZZ_RUNS:-2500}"
  echo "== fuzz the page reader (regressions, then $fuzz_runs inputs) =="
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSNKV_SANITIZE=ON -DSNKV_FUZZ=ON \
    -DSNKV_LTO=OFF -DSNKV_BUILD_TESTS=OFF -DSNKV_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-fuzz -j "$jobs" --target page_reader_fuzzer
  rm -rf build-fuzz/corpus build-fuzz/artifacts
  mkdir -p build-fuzz/corpus build-fuzz/artifacts
  cp tests/fuzz/corpus/* build-fuzz/corpus/
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  build-fuzz/tests/fuzz/page_reader_fuzzer -timeout=30 -rss_limit_mb=4096 \
    -artifact_prefix=build-fuzz/artifacts/ tests/fuzz/regressions/*
  build-fuzz/tests/fuzz/page_reader_fuzzer \
    -seed="${SNKV_FUZZ_SEED:-1}" -runs="$fuzz_runs" -max_len=512 \
    -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/artifacts/ build-fuzz/corpus
  # The vector sidecar loader's fuzzer (docs/design.md, "Fuzzing"): a
  # fixed, seeded run from the committed seeds plus fresh valid sidecars
  # the target writes at start (SNKV_SIDECAR_SEEDS).
  echo "== fuzz the vector sidecar loader =="
  cmake --build build-fuzz -j "$jobs" --target sidecar_fuzzer
  rm -rf build-fuzz/sidecar-corpus
  mkdir -p build-fuzz/sidecar-corpus
  cp tests/fuzz/sidecar_corpus/* build-fuzz/sidecar-corpus/
  SNKV_SIDECAR_SEEDS=build-fuzz/sidecar-corpus \
    build-fuzz/tests/fuzz/sidecar_fuzzer -seed=1 -runs=2500 -timeout=30 \
      -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix=build-fuzz/artifacts/ build-fuzz/sidecar-corpus
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi
if [[ "${SNKV_SKIP_TSAN:-0}" != 1 ]]; then
  # Only the programs with threads or processes: the rest add build time
  # and find nothing ThreadSanitizer looks for. SQLite itself is the
  # system's, not instrumented; TSan still sees its mutexes.
  echo "== build and test (ThreadSanitizer: threads, processes, fork) =="
  tsan_tests=(c_api_threads_test read_freshness_test background_checkpoint_test
              multiprocess_test fork_test shared_map_test attack_test
              reader_writer_stress_test out_of_line_attack_test)
  # clang: GCC 12's TSan cannot follow threads started in a forked child.
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DSNKV_TSAN=ON -DSNKV_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-tsan -j "$jobs" --target "${tsan_tests[@]}"
  # die_after_fork=0: a forked child of a threaded test starts threads
  # again (snkv's background threads), which is what fork_test checks.
  for t in "${tsan_tests[@]}"; do
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0 suppressions=$PWD/scripts/tsan.supp" \
      "build-tsan/tests/$t" --gtest_brief=1
  done
fi
echo "All tests passed."
