#!/bin/sh
# `plateau simulate-acd` with the sample plugins/sim_agents/simulate-acd.yaml:
# one simulated hour prints the queue's figures, they add up, and the same
# seeds print the same figures twice.
set -eu
bin=${PLATEAU_BIN:?}
src=${PLATEAU_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^  data_dir: .*|  data_dir: $tmp/data|" \
    "$src/plugins/sim_agents/simulate-acd.yaml" >"$tmp/sim.yaml"
"$bin" simulate-acd 1h -c "$tmp/sim.yaml" >"$tmp/a.txt"
"$bin" simulate-acd 1h -c "$tmp/sim.yaml" >"$tmp/b.txt"
cat "$tmp/a.txt"
cmp "$tmp/a.txt" "$tmp/b.txt"
grep -q '^simulated 3600 s' "$tmp/a.txt"
# queue offered answered abandoned overflowed waiting ...
awk '$1 == "in" {
        if ($3 < 100) { print "too few answered: " $3; exit 1 }
        if ($2 != $3 + $4 + $5 + $6) { print "figures do not add up"; exit 1 }
        found = 1
     }
     END { if (!found) { print "no line for queue in"; exit 1 } }' "$tmp/a.txt"
