#!/usr/bin/env bash
# pkgconfig_test.sh BUILD_DIR SOURCE_DIR
#
# Checks that an installed snkv is usable the two documented ways:
#   1. pkg-config: cc quickstart.c $(pkg-config --cflags --libs snkv)
#      - against the shared library (run with LD_LIBRARY_PATH), and
#      - with --static against a prefix that holds only libsnkv.a;
#   2. CMake: find_package(snkv) in a plain C project, linking
#      snkv::snkv_static and snkv::snkv.
# Each resulting program is examples/quickstart.c and must exit 0.
# Installs BUILD_DIR (already built) into temporary prefixes. Runs every
# check, then exits non-zero if any failed. Set SNKV_KEEP_TMP=1 to keep the temporary directory.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
quickstart="$src/examples/quickstart.c"
[ -f "$quickstart" ] || { echo "FAIL: $quickstart not found" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/snkv-pkgconfig.XXXXXX")
cleanup() {
  if [ "${SNKV_KEEP_TMP:-0}" = 1 ]; then
    echo "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

fail() {  # fatal: later checks cannot run
  echo "FAIL: $*" >&2
  exit 1
}
failed=()
check_fail() {  # record and carry on
  echo "FAIL: $*" >&2
  failed+=("$*")
}
step() { echo "== $*"; }

# Install into PREFIX; print the directory that holds snkv.pc.
install_to() {
  local prefix=$1 pc
  cmake --install "$build" --prefix "$prefix" >"$tmp/install-$(basename "$prefix").log" 2>&1 ||
    { cat "$tmp/install-$(basename "$prefix").log" >&2; fail "cmake --install --prefix $prefix"; }
  pc=$(find "$prefix" -name snkv.pc -print -quit)
  [ -n "$pc" ] || fail "no snkv.pc installed under $prefix"
  dirname "$pc"
}

# ---- 1a. pkg-config, shared library --------------------------------------
prefix="$tmp/prefix"
step "install into $prefix"
pcdir=$(install_to "$prefix")
libdir=$(dirname "$pcdir")
[ -f "$prefix/include/kvstore.h" ] || fail "kvstore.h not installed in $prefix/include"
echo "snkv.pc in $pcdir:"
sed 's/^/    /' "$pcdir/snkv.pc"

flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs snkv) ||
  fail "pkg-config --cflags --libs snkv"
echo "pkg-config --cflags --libs snkv: $flags"
case " $flags " in
  *" -I$prefix/"*|*" -I$prefix "*) ;;
  *) echo "note: the include flags do not point into $prefix" >&2 ;;
esac

step "cc quickstart.c \$(pkg-config --cflags --libs snkv)"
mkdir -p "$tmp/run-shared"
# shellcheck disable=SC2086  # word splitting of $flags is intended
if cc -o "$tmp/run-shared/quickstart" "$quickstart" $flags; then
  (cd "$tmp/run-shared" && LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ./quickstart) ||
    check_fail "quickstart (shared, pkg-config) exited non-zero"
else
  check_fail "compiling quickstart.c with \$(pkg-config --cflags --libs snkv) (is the prefix in snkv.pc the install prefix?)"
fi

# ---- 1b. pkg-config --static, only the archive installed ---------------
sprefix="$tmp/static-prefix"
step "install into $sprefix and keep only libsnkv.a"
spcdir=$(install_to "$sprefix")
slibdir=$(dirname "$spcdir")
rm -f "$slibdir"/libsnkv.so*
[ -f "$slibdir/libsnkv.a" ] || fail "libsnkv.a not installed in $slibdir"

sflags=$(PKG_CONFIG_PATH="$spcdir" pkg-config --static --cflags --libs snkv) ||
  fail "pkg-config --static --cflags --libs snkv"
echo "pkg-config --static --cflags --libs snkv: $sflags"
step "cc quickstart.c \$(pkg-config --static --cflags --libs snkv)"
mkdir -p "$tmp/run-static"
# shellcheck disable=SC2086
if cc -o "$tmp/run-static/quickstart" "$quickstart" $sflags; then
  (cd "$tmp/run-static" && env -u LD_LIBRARY_PATH ./quickstart) ||
    check_fail "quickstart (static, pkg-config) exited non-zero"
else
  check_fail "compiling quickstart.c with \$(pkg-config --static --cflags --libs snkv)"
fi

# ---- 2. CMake find_package(snkv) from a C-only project -------------------
step "find_package(snkv) with CMAKE_PREFIX_PATH=$prefix"
proj="$tmp/consumer"
mkdir -p "$proj"
cp "$quickstart" "$proj/quickstart.c"
cat >"$proj/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(snkv_consumer LANGUAGES C)
find_package(snkv REQUIRED)
add_executable(quickstart_static quickstart.c)
target_link_libraries(quickstart_static PRIVATE snkv::snkv_static)
add_executable(quickstart_shared quickstart.c)
target_link_libraries(quickstart_shared PRIVATE snkv::snkv)
EOF
gen=()
if command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
if cmake -S "$proj" -B "$proj/build" "${gen[@]}" -DCMAKE_PREFIX_PATH="$prefix"; then
  for kind in static shared; do
    target=snkv::snkv
    [ $kind = static ] && target=snkv::snkv_static
    if cmake --build "$proj/build" --target quickstart_$kind; then
      (cd "$proj/build" && ./quickstart_$kind) ||
        check_fail "quickstart linked with $target exited non-zero"
    else
      check_fail "linking a C project's program with $target"
    fi
  done
else
  check_fail "configuring a project that calls find_package(snkv)"
fi

if [ ${#failed[@]} -ne 0 ]; then
  echo "pkgconfig_test: ${#failed[@]} check(s) failed:" >&2
  printf '  - %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "PASS: pkg-config (shared, static) and find_package(snkv) all work"
