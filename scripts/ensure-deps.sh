#!/usr/bin/env bash
# Installs the Debian 12 packages snkv needs, if any are missing.
# Usage: scripts/ensure-deps.sh [--bench]   (--bench: also the benchmark's
# peer stores and plotting)
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config libsqlite3-dev
          libsodium-dev libgtest-dev)
# clang 14 builds the fuzzer (tests/fuzz) and the ThreadSanitizer pass: its
# TSan supports threads started in a forked child, GCC 12's stops such a
# child ("dup thread").
packages+=(clang clang-14 libclang-rt-14-dev)
# The Python package (python/) and its tests, on Debian's /usr/bin/python3.
packages+=(python3-dev pybind11-dev python3-numpy python3-pytest
           python3-hypothesis)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(liblmdb-dev librocksdb-dev libleveldb-dev python3-matplotlib)
  # Peers of the Python benchmark (bench/python/).
  packages+=(python3-diskcache python3-sqlitedict python3-lmdb python3-plyvel)
  # bench/vector: the vector store's peers and data set
  packages+=(libhnswlib-dev libfaiss-dev zlib1g-dev dataset-fashion-mnist)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "Installing: ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
  "${missing[@]}"
