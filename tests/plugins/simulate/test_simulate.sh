#!/bin/sh
# plateau simulate on the real plugins (storage_sqlite, leads, sim, agents,
# acd, dialer, sim_agents): a 20-minute S2 day, progressive then
# predictive, on the simulated clock. Progressive never abandons;
# predictive keeps agents busier than progressive did; both print their
# figures per day and pooled. Same seed, same figures, whether the days
# run one after the other or two at a time (--jobs 2).
set -eu
: "${PLATEAU_BIN:?}" "${PLATEAU_SOURCE_DIR:?}"
out=$(mktemp -d /tmp/plateau-simulate-test-XXXXXX)
trap 'rm -rf "$out"' EXIT
# The parent process runs in the scenario's configuration too: its own
# data directory, not a shared one.
scn="$out/short_s2.yaml"
sed "s|data_dir: .*|data_dir: $out/parent|" \
  "$PLATEAU_SOURCE_DIR/tests/plugins/simulate/short_s2.yaml" >"$scn"
run() { "$PLATEAU_BIN" -c "$scn" simulate "$scn" --seed 3 "$@" 2>"$out/err"; }

run --mode progressive >"$out/prog" || { cat "$out/err"; exit 1; }
run >"$out/pred" || { cat "$out/err"; exit 1; }
run --days 2 >"$out/pred2" || { cat "$out/err"; exit 1; }
mkdir "$out/tmp"
TMPDIR="$out/tmp" run --days 2 --jobs 2 >"$out/pred3" || { cat "$out/err"; exit 1; }
cat "$out/prog" "$out/pred"

grep -q '^pooled ' "$out/prog"
grep -q '^day 1 ' "$out/pred"
# Progressive: one line per free agent, nothing to abandon.
grep '^pooled ' "$out/prog" | grep -q 'abandon  0.00 %' ||
  { echo "progressive abandoned calls"; exit 1; }
u() { sed -n 's/^pooled  *U *\([0-9.]*\) %.*/\1/p' "$1"; }
up=$(u "$out/prog"); ud=$(u "$out/pred")
echo "U progressive $up %, predictive $ud %"
awk -v a="$up" -v b="$ud" 'BEGIN { exit !(b > a + 5) }' ||
  { echo "predictive is not busier than progressive"; exit 1; }
# Dials happened and were counted per connect.
grep '^pooled ' "$out/pred" | grep -q 'dials/connect' 
# Day 1 of a two-day run is the one-day run's day.
d1() { grep '^day 1 ' "$1"; }
[ "$(d1 "$out/pred")" = "$(d1 "$out/pred2")" ] ||
  { echo "same seed, different figures"; cat "$out/pred2"; exit 1; }
grep -q '^day 2 ' "$out/pred2"
cmp -s "$out/pred2" "$out/pred3" ||
  { echo "--jobs 2 changed the figures"; diff "$out/pred2" "$out/pred3"; exit 1; }
# Each day ran in its own directory under TMPDIR, removed after it.
[ -z "$(ls -A "$out/tmp")" ] || { echo "day directories left"; ls "$out/tmp"; exit 1; }
