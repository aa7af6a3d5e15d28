#!/bin/sh
# Build the acd.so of an earlier commit (default: the last one before the
# event-driven, indexed dispatch) as a Release plugin, so that bench_acd
# can run the same scenario against it in the same process:
#   bench/acd/build-old-acd.sh [COMMIT] [OUTDIR]
#   bench_acd --minutes 1 --old-acd OUTDIR/acd.so
# Only the acd plugin comes from COMMIT; every other plugin is this build's.
set -eu
commit=${1:-d978a29}
out=${2:-/tmp/plateau-acd-old}
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git -C "$top" archive "$commit" | tar -x -C "$src"
cmake -S "$src" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPLATEAU_TESTS=OFF >/dev/null
ninja -C "$out/build" acd >/dev/null
so=$(find "$out/build" -name acd.so | head -n 1)
cp "$so" "$out/acd.so"
echo "$out/acd.so (acd at $commit)"
