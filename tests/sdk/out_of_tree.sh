#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The SDK works out of tree: install the freshly built Plateau into a
# temporary prefix, build the example plugin (sdk/examples/hello) against
# that installation only - once with its Makefile (pkg-config plateau) and
# once with its CMakeLists.txt (find_package(Plateau)) - run its unit test,
# then load it into the installed `plateau` from a directory of its own
# (core.plugin_path) and check that it runs, greets, is listed, and that
# its subcommand works.
#
# Environment (set by CTest): PLATEAU_BUILD_DIR, PLATEAU_SOURCE_DIR.
# PLATEAU_TEST_KEEP=1 keeps the temporary directory (logs, builds).
set -eu

: "${PLATEAU_BUILD_DIR:?set PLATEAU_BUILD_DIR to the build directory}"
: "${PLATEAU_SOURCE_DIR:?set PLATEAU_SOURCE_DIR to the source directory}"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/plateau-sdk.XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -KILL "$PID" 2>/dev/null || true
    fi
    if [ "${PLATEAU_TEST_KEEP:-0}" = 1 ]; then
        echo "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*" >&2
    for f in "$TMP"/*.log; do
        [ -f "$f" ] || continue
        echo "---- $(basename "$f")" >&2
        tail -n 40 "$f" >&2
    done
    exit 1
}
step() { echo "== $*"; }

PREFIX=$TMP/prefix
EXAMPLE=$PLATEAU_SOURCE_DIR/sdk/examples/hello

step "install the build tree into $PREFIX"
cmake --install "$PLATEAU_BUILD_DIR" --prefix "$PREFIX" >"$TMP/install.log" 2>&1 ||
    fail "cmake --install"
PC=$(find "$PREFIX" -name plateau.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$PC" ] || fail "no plateau.pc installed"
PKGDIR=$(dirname "$PC")
[ -x "$PREFIX/bin/plateau" ] || fail "no bin/plateau installed"
[ -f "$PREFIX/include/plateau/testing/fake_host.h" ] || fail "fake_host.h not installed"

# A sanitized core (PLATEAU_SANITIZE=ON) installs a libplateau-testing.a
# whose objects call the ASan/UBSan runtime, so a program linking it must
# be linked with the same -fsanitize flags. The plugin itself is built with
# plain flags, as a third party would: an uninstrumented .so loads fine
# into a sanitized executable (the runtime lives in the executable).
SAN=
if grep -q '^PLATEAU_SANITIZE:BOOL=ON' "$PLATEAU_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi

# The installed .pc files name the prefix the tree was configured with,
# not the --prefix given to `cmake --install`; point them at the temporary
# prefix, as a packager relocating an installation would.
sed -i "s|^prefix=.*|prefix=$PREFIX|" "$PKGDIR/plateau.pc" "$PKGDIR/plateau-testing.pc"
PKG_CONFIG=pkg-config
export PKG_CONFIG_PATH="$PKGDIR"

step "(a) Makefile + pkg-config"
cp -R "$EXAMPLE" "$TMP/src-make"
rm -rf "$TMP/src-make/build" "$TMP/src-make/hello.so" "$TMP/src-make/test_hello"
$PKG_CONFIG --exists plateau || fail "pkg-config does not find plateau"
make -C "$TMP/src-make" PKG_CONFIG="$PKG_CONFIG" hello.so >"$TMP/make.log" 2>&1 ||
    fail "make hello.so"
make -C "$TMP/src-make" PKG_CONFIG="$PKG_CONFIG" CFLAGS="-O1 -g -Wall -Wextra $SAN" \
    LDFLAGS="$SAN" check >"$TMP/make-check.log" 2>&1 || fail "make check"
# Only the descriptor is exported (-fvisibility=hidden from plateau.pc).
EXPORTS=$(nm -D --defined-only "$TMP/src-make/hello.so" | awk '{print $3}' |
    grep -v -e '^_init$' -e '^_fini$' -e '^$' || true)
[ "$EXPORTS" = "plateau_plugin_v1" ] ||
    fail "hello.so exports more than plateau_plugin_v1: $EXPORTS"
mkdir -p "$TMP/outoftree"
cp "$TMP/src-make/hello.so" "$TMP/outoftree/hello.so"

step "(b) CMake + find_package(Plateau)"
cmake -S "$EXAMPLE" -B "$TMP/build-cmake" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="$SAN" \
    -DCMAKE_EXE_LINKER_FLAGS="$SAN" >"$TMP/cmake.log" 2>&1 || fail "cmake configure"
cmake --build "$TMP/build-cmake" >>"$TMP/cmake.log" 2>&1 || fail "cmake --build"
ctest --test-dir "$TMP/build-cmake" --output-on-failure >"$TMP/ctest.log" 2>&1 ||
    fail "the example's own unit test (ctest)"
[ -f "$TMP/build-cmake/hello.so" ] || fail "cmake did not produce hello.so"

step "run the installed plateau with the out-of-tree plugin"
mkdir -p "$TMP/data"
cat >"$TMP/plateau.yaml" <<EOF
core:
  plugin_path: [$TMP/outoftree]
  data_dir: $TMP/data
  log_level: debug   # the core names each plugin's file at debug level
plugins: [hello]
hello:
  greeting: Bonjour
  interval: 1s
EOF
"$PREFIX/bin/plateau" run -c "$TMP/plateau.yaml" >"$TMP/run.log" 2>&1 &
PID=$!
sleep 3
kill -0 "$PID" 2>/dev/null || { wait "$PID" || true; PID=; fail "plateau run exited early"; }
kill -TERM "$PID"
STATUS=0
wait "$PID" || STATUS=$?
PID=
[ "$STATUS" -eq 0 ] || fail "plateau run exited with status $STATUS after SIGTERM"
grep -q "$TMP/outoftree/hello.so" "$TMP/run.log" ||
    fail "the log does not show hello loaded from $TMP/outoftree"
grep -q "Bonjour, world!" "$TMP/run.log" || fail "no greeting in the log"

step "plateau plugins lists hello"
"$PREFIX/bin/plateau" plugins -c "$TMP/plateau.yaml" >"$TMP/plugins.log" 2>&1 ||
    fail "plateau plugins"
grep "hello" "$TMP/plugins.log" | grep "1.0.0" | grep -q "Example plugin: greets on a timer" ||
    fail "plateau plugins does not list hello 1.0.0 with its summary"
grep -q "file: *$TMP/outoftree/hello.so" "$TMP/plugins.log" ||
    fail "plateau plugins does not list the out-of-tree hello.so"

step "plateau hello Alice"
OUT=$("$PREFIX/bin/plateau" hello Alice -c "$TMP/plateau.yaml" 2>"$TMP/cmd.log") ||
    fail "plateau hello Alice exited with an error"
[ "$OUT" = "Bonjour, Alice!" ] || fail "plateau hello Alice printed '$OUT'"

step "the CMake-built plugin loads too"
sed "s|$TMP/outoftree|$TMP/build-cmake|" "$TMP/plateau.yaml" >"$TMP/plateau-cmake.yaml"
OUT=$("$PREFIX/bin/plateau" hello Alice -c "$TMP/plateau-cmake.yaml" 2>"$TMP/cmd-cmake.log") ||
    fail "plateau hello Alice (CMake-built plugin)"
[ "$OUT" = "Bonjour, Alice!" ] || fail "CMake-built plugin printed '$OUT'"

echo "OK: the SDK builds, tests and loads a plugin out of tree"
