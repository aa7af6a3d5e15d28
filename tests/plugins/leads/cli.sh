#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `plateau dnc ...` and `plateau leads ...` as an operator uses them, on the
# real SQLite engine: put a number on the do-not-call list in any written
# form, check it (blocked, exit 1) and another (callable, exit 0), scope a
# number to one campaign, import a file, remove a number, and read the
# stats of a list (unknown list: exit 1). Exit codes: 0, 1 refused, 2 usage.
set -euo pipefail

bin=${PLATEAU_BIN:?}
plugins=${PLATEAU_PLUGIN_DIR:?}
tmp=$(mktemp -d /tmp/plateau-leads-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fails=0
pass() { echo "ok - $1"; }
failt() { echo "not ok - $1"; fails=$((fails + 1)); }
expect() { # expect DESCRIPTION FILE PATTERN
    if grep -qE -- "$3" "$2"; then pass "$1"; else
        failt "$1"; echo "--- $2:"; cat "$2"; echo "--- wanted: $3"; fi
}

cat > "$tmp/plateau.yaml" <<EOC
core:
  data_dir: data
  plugin_path: [$plugins]
  stop_timeout: 5s
plugins: [storage_sqlite, leads]
EOC

run() { # run STATUS_WANTED DESCRIPTION ARGS...
    local want=$1 desc=$2
    shift 2
    local status=0
    "$bin" -c "$tmp/plateau.yaml" "$@" < /dev/null > "$tmp/out" 2> "$tmp/err" \
        || status=$?
    if [[ $status == "$want" ]]; then pass "$desc (exit $want)"; else
        failt "$desc (exit $status, wanted $want)"
        echo "--- stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"
    fi
}

run 0 "add a number to the global DNC list" dnc add "06 12 34 56 78"
expect "add reports it" "$tmp/out" "1 number\(s\) added to the do-not-call list \*"
run 1 "a blocked number" dnc check "+33612345678"
expect "check says blocked" "$tmp/out" "^\+33612345678 blocked"
run 1 "blocked in any written form" dnc check "0033 6 12 34 56 78"
run 0 "another number is callable" dnc check "06 12 34 56 79"
expect "check says callable" "$tmp/out" "^\+33612345679 callable"
run 2 "not a number" dnc check "hello"
expect "the reason is given" "$tmp/err" "invalid phone"

run 0 "scoped to a campaign" dnc add 0612345680 --scope c12
run 1 "blocked for that campaign" dnc check 0612345680 --scope c12
run 0 "callable for another" dnc check 0612345680 --scope c13

printf '# opposition list\n0611111111\n\n+33 6 22 22 22 22\nnot-a-number\n0611111111\n6.33.33.33.33\n' \
    > "$tmp/dnc.txt"
run 0 "import a file" dnc import "$tmp/dnc.txt"
expect "import counts" "$tmp/out" "3 number\(s\) added"
expect "import reports the invalid line" "$tmp/out" "1 invalid skipped"
run 1 "a number that lost its 0 in a spreadsheet still blocks" dnc check 0633333333
run 1 "imported number blocked" dnc check 0622222222
run 0 "remove" dnc remove 0622222222
run 0 "removed number callable" dnc check 0622222222
run 1 "remove twice" dnc remove 0622222222

run 0 "no lists yet" leads lists
expect "lists says none" "$tmp/out" "^no lists"
run 1 "stats of an unknown list" leads stats nosuchlist
expect "unknown list named" "$tmp/err" "no list 'nosuchlist'"
run 2 "usage" leads frobnicate

if [[ $fails -gt 0 ]]; then
    echo "$fails failure(s)"
    exit 1
fi
