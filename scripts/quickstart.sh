#!/usr/bin/env bash
# From a fresh Debian 12 machine to the quickstart example running:
# installs what is missing, builds the library and runs examples/quickstart.c,
# then the Python package and examples/python/quickstart.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target example_quickstart _snkv
(cd build/examples && ./quickstart)
# The same from Python, with the package just built in build/python.
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && PYTHONPATH="$root/build/python" /usr/bin/python3 \
  "$root/examples/python/quickstart.py")
