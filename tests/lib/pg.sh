#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A throwaway PostgreSQL server for tests, bound to 127.0.0.1 only.
#
#   pg.sh start DIR     initdb into DIR, start on a free port, create role
#                       `plateau` (password `plateau-test`, SCRAM, CREATEDB
#                       so a suite may make a database per case) owning
#                       database `plateau`, write DIR/conninfo.env, wait until
#                       the server accepts connections
#   pg.sh stop DIR      pg_ctl stop -m fast, then remove DIR (always exits 0)
#   pg.sh env DIR       print DIR/conninfo.env
#   pg.sh restart DIR   pg_ctl restart -m fast (same port), wait until ready
#   pg.sh halt DIR      pg_ctl stop -m fast, keep DIR (an outage)
#   pg.sh resume DIR    start a halted server again, wait until ready
#
# PostgreSQL refuses to run as root: as root every server command runs as
# the `postgres` system user through `runuser -u postgres --`, and DIR is
# handed to that user. Otherwise it runs as the current user.
#
# The unix socket lives in DIR (or, when DIR is too long for a socket path,
# in a private directory named in DIR/sockdir); local connections use
# `trust` (the directory is private), TCP connections need the password.
# Durability settings are PostgreSQL's defaults (fsync on): restart tests
# rely on committed rows surviving.
#
# conninfo.env holds PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE, one
# KEY=VALUE a line, for `set -a; . DIR/conninfo.env` or a C test.
set -eu

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: pg.sh start|stop|env|restart|halt|resume DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac

# The newest installed server, unless PG_BINDIR says otherwise.
find_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        echo "$PG_BINDIR"
        return
    fi
    b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$b" ] && [ -x "$b/initdb" ] ||
        die "no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)"
    echo "$b"
}

bindir=$(find_bindir)

if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user"
    as_pg() { runuser -u postgres -- "$@"; }
    su_name=postgres
else
    as_pg() { "$@"; }
    su_name=$(id -un)
fi

data=$dir/data
log=$dir/pg.log

sockdir() {
    if [ -f "$dir/sockdir" ]; then
        cat "$dir/sockdir"
    else
        echo "$dir"
    fi
}

port_of() {
    sed -n 's/^port *= *\([0-9]*\).*/\1/p' "$data/port.conf" 2>/dev/null
}

# Bounded wait until the server answers on TCP.
wait_ready() {
    port=$1
    i=0
    while [ $i -lt 300 ]; do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; then
            return 0
        fi
        i=$((i + 1))
        sleep 0.1
    done
    return 1
}

# A random port in 20000-39999 (below Linux's ephemeral range) on which
# nothing answers: a TCP connect that succeeds means "in use". A port taken
# between this check and the server's bind is caught by the retry in
# do_start.
free_port() {
    while :; do
        p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 20000) + 20000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

server_stop() {
    mode=$1
    if [ -f "$data/postmaster.pid" ]; then
        as_pg "$bindir/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 ||
            as_pg "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            true
    fi
}

cleanup_dir() {
    server_stop fast
    if [ -f "$dir/sockdir" ]; then
        rm -rf "$(cat "$dir/sockdir")"
    fi
    rm -rf "$dir"
}

do_start() {
    # A leftover from an interrupted run is stopped and wiped first.
    if [ -d "$dir" ]; then
        cleanup_dir
    fi
    mkdir -p "$dir"
    # If anything below fails, leave nothing running behind.
    trap 'cleanup_dir' EXIT
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$dir"
        chmod 700 "$dir"
    fi

    # sun_path holds 107 bytes: "/.s.PGSQL.NNNNN" needs 16 of them.
    sock=$dir
    if [ ${#dir} -gt 90 ]; then
        sock=$(mktemp -d /tmp/plt-pgsock.XXXXXX)
        [ "$(id -u)" -eq 0 ] && chown postgres "$sock"
        chmod 700 "$sock"
        echo "$sock" >"$dir/sockdir"
    fi

    pwfile=$dir/.pw
    echo "plateau-test" >"$pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pwfile"
    as_pg "$bindir/initdb" -D "$data" -U "$su_name" -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"

    as_pg sh -c "cat >>'$data/postgresql.conf'" <<EOF

# --- tests/lib/pg.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
password_encryption = 'scram-sha-256'
max_connections = 200
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = on
log_disconnections = on
include 'port.conf'
EOF

    tries=0
    while :; do
        port=$(free_port)
        as_pg sh -c "echo 'port = $port' >'$data/port.conf'"
        if as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        # A port taken between the check and the bind: try another one.
        if [ $tries -ge 10 ] || ! grep -q "could not bind\|could not create any TCP/IP sockets" "$log" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "the server did not start"
        fi
    done
    wait_ready "$port" || die "the server does not answer on 127.0.0.1:$port"

    as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" \
        -U "$su_name" -d postgres >/dev/null <<EOF || die "cannot create role and database"
CREATE ROLE plateau LOGIN CREATEDB PASSWORD 'plateau-test';
CREATE DATABASE plateau OWNER plateau;
EOF

    cat >"$dir/conninfo.env" <<EOF
PGHOST=127.0.0.1
PGPORT=$port
PGUSER=plateau
PGPASSWORD=plateau-test
PGDATABASE=plateau
EOF
    chmod 644 "$dir/conninfo.env"
    trap - EXIT
    echo "pg.sh: PostgreSQL ($bindir) on 127.0.0.1:$port, data in $data"
}

case $cmd in
start)
    do_start
    ;;
stop)
    if [ -d "$dir" ]; then
        cleanup_dir
    fi
    ;;
env)
    [ -f "$dir/conninfo.env" ] || die "no server in $dir (run: pg.sh start $dir)"
    cat "$dir/conninfo.env"
    ;;
restart)
    [ -f "$data/postmaster.pid" ] || die "no running server in $dir"
    as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -m fast -w -t 60 restart >/dev/null ||
        die "restart failed"
    wait_ready "$(port_of)" || die "the server did not come back"
    ;;
halt)
    [ -d "$data" ] || die "no server in $dir"
    server_stop fast
    ;;
resume)
    [ -d "$data" ] || die "no server in $dir"
    as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null ||
        die "start failed"
    wait_ready "$(port_of)" || die "the server did not come back"
    ;;
*)
    usage
    ;;
esac
