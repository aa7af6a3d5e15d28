#!/usr/bin/env bash
# `plateau import` killed with -9 in the middle of a big file, then run
# again with the same command: the unfinished job is found (same file,
# same list) and continued from the offset committed with the last batch,
# so the list ends with exactly the expected contacts - no duplicate, no
# loss - even with de-duplication OFF (--dedup none), which proves the
# resume point and not dedup does it. Real binary, storage_sqlite + leads
# + import_csv. Also: --preview, the report summary, a second run adding
# nothing, and the exit status. Skips (77) when leads.so is not built.
set -euo pipefail

bin=${PLATEAU_BIN:?}
plugins=${PLATEAU_PLUGIN_DIR:?}
[[ -f $plugins/leads.so ]] || { echo "# skip: leads.so not built"; exit 77; }
tmp=$(mktemp -d /tmp/plateau-import-cli.XXXXXX)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT

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
plugins: [storage_sqlite, leads, import_csv]
import_csv:
  batch_rows: 500
EOC

rows=${IMPORT_CLI_ROWS:-60000}
# Unique numbers 06 xx xx xx xx; Windows-1252 accents; ';'.
awk -v n="$rows" 'BEGIN {
    printf "Nom;Pr\351nom;T\351l\351phone;Ville\r\n";
    for (i = 0; i < n; i++)
        printf "Nom%d;H\351l\350ne %d;06 %02d %02d %02d %02d;Besan\347on\r\n",
               i, i, int(i / 1000000) % 100, int(i / 10000) % 100,
               int(i / 100) % 100, i % 100;
}' > "$tmp/big.csv"

run() { "$bin" -c "$tmp/plateau.yaml" "$@"; }

# 1. Preview: settings and mapping, nothing imported.
run import "$tmp/big.csv" --preview > "$tmp/out" 2> "$tmp/err" \
    && pass "preview exits 0" || failt "preview exits 0"
expect "preview detects Windows-1252" "$tmp/out" "^encoding: +Windows-1252"
expect "preview detects ';'" "$tmp/out" "^separator: +';'"
expect "preview maps Téléphone to a phone" "$tmp/out" "Téléphone +-> phone"

# 2. Start, kill -9 once some progress is printed.
# Not through run(): $! must be plateau itself, not a subshell, or the
# kill would leave plateau running.
"$bin" -c "$tmp/plateau.yaml" import "$tmp/big.csv" --list big --create \
    --dedup none > "$tmp/out1" 2> "$tmp/err1" &
pid=$!
for _ in $(seq 1 600); do
    grep -qE "progress: [1-9]0%" "$tmp/err1" 2> /dev/null && break
    kill -0 $pid 2> /dev/null || break
    sleep 0.1
done
if kill -9 $pid 2> /dev/null; then
    wait $pid 2> /dev/null || true
    pass "killed with -9 mid-import"
else
    failt "the import ended before it could be killed"; cat "$tmp/err1"
fi
pid=

# 3. The same command again: resumed, done, exact count.
status=0
run import "$tmp/big.csv" --list big --create --dedup none \
    > "$tmp/out2" 2> "$tmp/err2" || status=$?
[[ $status == 0 ]] && pass "re-run exits 0" || {
    failt "re-run exits 0 (got $status)"; cat "$tmp/out2" "$tmp/err2"; }
expect "the unfinished job is resumed" "$tmp/err2" "resumed"
expect "the job is done" "$tmp/out2" "^import job 1 done"
expect "the report path is printed" "$tmp/out2" "^report: .*/imports/1/report.csv"

db=$(find "$tmp/data" -name '*.db' | head -n 1)
if command -v sqlite3 > /dev/null && [[ -n $db ]]; then
    n=$(sqlite3 "$db" "SELECT count(*) FROM contact")
    [[ $n == "$rows" ]] && pass "exactly $rows contacts" \
        || failt "exactly $rows contacts (got $n)"
    d=$(sqlite3 "$db" "SELECT count(*) FROM (SELECT e164 FROM contact_phone
                       GROUP BY e164 HAVING count(*) > 1)")
    [[ $d == 0 ]] && pass "no duplicate number" \
        || failt "no duplicate number ($d duplicated)"
else
    failt "no sqlite3 shell or database to count contacts"
fi

# 4. A third run is a new job: everything is a duplicate (list dedup).
status=0
run import "$tmp/big.csv" --list big --dedup list > "$tmp/out3" \
    2> "$tmp/err3" || status=$?
[[ $status == 0 ]] && pass "third run exits 0" || failt "third run exits 0"
expect "third run imports nothing" "$tmp/out3" "^  imported +0$"
expect "third run counts duplicates" "$tmp/out3" "^  duplicates +$rows$"

# 5. Failure: unknown list without --create exits 1.
status=0
run import "$tmp/big.csv" --list nope > "$tmp/out4" 2> "$tmp/err4" || status=$?
[[ $status == 1 ]] && pass "unknown list exits 1" || failt "unknown list exits 1 ($status)"
expect "unknown list is named" "$tmp/err4" "no list 'nope'"

if ((fails > 0)); then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
