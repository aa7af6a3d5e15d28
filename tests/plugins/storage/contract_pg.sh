#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the storage contract suite against storage_pg: source the `pg`
# fixture's connection settings (tests/lib/pg.sh writes
# $PLATEAU_BUILD_DIR/tests/pg/conninfo.env), then run test_contract pg.
# Exits 77 (CTest: skipped) when there is no server to talk to.
set -eu
bin=${1:?usage: contract_pg.sh path/to/test_contract [case-pattern]}
shift
env_file=${PLATEAU_BUILD_DIR:-.}/tests/pg/conninfo.env
if [ -z "${PGHOST:-}${PGPORT:-}" ]; then
    if [ ! -r "$env_file" ]; then
        echo "storage_contract_pg: skipped: $env_file is missing and" \
             "PGHOST/PGPORT are unset (the CTest fixture 'pg' from" \
             "tests/lib/pg.sh starts a server and writes it)"
        exit 77
    fi
    set -a
    . "$env_file"
    set +a
fi
exec "$bin" pg "$@"
