#!/usr/bin/env bash
# The sample configurations shipped in conf/ are valid: conf/plateau.yaml
# (what scripts/run starts) passes `plateau check` with no set-up at all, and
# conf/postgresql.yaml parses and validates up to the point where it needs
# its server (its check hook then says it cannot connect).
set -euo pipefail
bin=${PLATEAU_BIN:?}
src=${PLATEAU_SOURCE_DIR:?}
tmp=$(mktemp -d /tmp/plateau-conf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Work on copies so that the checks never touch the source tree's data dir.
cp "$src/conf/plateau.yaml" "$src/conf/postgresql.yaml" "$tmp/"
sed -i 's|^  data_dir: .*|  data_dir: data|' "$tmp/plateau.yaml" "$tmp/postgresql.yaml"

"$bin" check -c "$tmp/plateau.yaml" > "$tmp/out" 2>&1 || { cat "$tmp/out"; echo "conf/plateau.yaml fails plateau check"; exit 1; }
grep -q "configuration OK" "$tmp/out"
grep -q "plugins in start order: .*storage_sqlite, .*users" "$tmp/out"
grep -q "migration(s) pending" "$tmp/out"
echo "ok - conf/plateau.yaml passes plateau check"

# An unset password variable is a configuration error with its line.
if env -u PLATEAU_PG_PASSWORD "$bin" check -c "$tmp/postgresql.yaml" > "$tmp/out" 2>&1; then
    echo "conf/postgresql.yaml should need PLATEAU_PG_PASSWORD"; exit 1
fi
grep -q "PLATEAU_PG_PASSWORD" "$tmp/out" || { cat "$tmp/out"; exit 1; }
echo "ok - conf/postgresql.yaml names the missing password variable"

# With the variable set, the file is valid; only the server is missing.
PLATEAU_PG_PASSWORD=x "$bin" check -c "$tmp/postgresql.yaml" > "$tmp/out" 2>&1 || true
if grep -qE "unknown key|expected|missing required" "$tmp/out"; then
    cat "$tmp/out"; echo "conf/postgresql.yaml has schema errors"; exit 1
fi
echo "ok - conf/postgresql.yaml validates"
echo "all sample configuration checks passed"
