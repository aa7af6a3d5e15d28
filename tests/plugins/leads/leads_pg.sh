#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the leads tests against storage_pg: source the `pg` fixture's
# connection settings ($PLATEAU_BUILD_DIR/tests/pg/conninfo.env, written by
# tests/lib/pg.sh), then run test_leads pg. Exits 77 (CTest: skipped) when
# there is no server to talk to.
set -eu
bin=${1:?usage: leads_pg.sh path/to/test_leads}
shift
env_file=${PLATEAU_BUILD_DIR:-.}/tests/pg/conninfo.env
if [ -z "${PGHOST:-}${PGPORT:-}" ]; then
    if [ ! -r "$env_file" ]; then
        echo "leads_pg: skipped: $env_file is missing and PGHOST/PGPORT" \
             "are unset (the CTest fixture 'pg' writes it)"
        exit 77
    fi
    set -a
    . "$env_file"
    set +a
fi
# A database of its own: the test drops and recreates its tables, which must
# never disturb other PostgreSQL tests running at the same time in the
# fixture's shared database (the harness's role may create databases).
db="plateau_leads_$$"
psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE:-plateau}" \
    -c "CREATE DATABASE $db" >/dev/null
trap 'psql -X -q -d "${PGDATABASE:-plateau}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
status=0
PGDATABASE=$db "$bin" pg "$@" || status=$?
exit "$status"
