#!/usr/bin/env bash
# From a fresh Debian 12 machine to the quickstart example running:
# installs what is missing, builds the library and runs examples/quickstart.c.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target example_quickstart
cd build/examples && ./quickstart
