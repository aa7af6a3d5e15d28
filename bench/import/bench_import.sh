#!/usr/bin/env bash
# bench_import: `plateau import` (import_csv + leads + storage) against the
# engines' raw bulk paths, in the same run, on generated lead files (see
# gen_leads.c and README.md). Prints rows/s, peak RSS (VmHWM, from
# /usr/bin/time's maximum resident set size) and the ratio raw / Plateau
# (the goal is <= 2: within 2x of the raw bulk path). Never passes or fails
# on time.
#
#   bench_import.sh [--rows N] [--engine sqlite|pg|all] [--start-pg]
#
# Environment: PLATEAU_BIN, PLATEAU_PLUGIN_DIR, GEN_LEADS (set by CMake);
# PostgreSQL from PG* variables, <build>/tests/pg/conninfo.env, or
# --start-pg (tests/lib/pg.sh, a throwaway server stopped at exit).
set -euo pipefail

rows=1000000
engine=all
# import_csv's default batch_rows: Plateau commits once per batch, and the
# engine's floor is measured committed at the same size too.
commit_rows=2000
start_pg=0
while (($#)); do
    case $1 in
    --rows) rows=$2; shift 2 ;;
    --engine) engine=$2; shift 2 ;;
    --start-pg) start_pg=1; shift ;;
    *) echo "usage: bench_import.sh [--rows N] [--engine sqlite|pg|all] [--start-pg]" >&2; exit 2 ;;
    esac
done

bin=${PLATEAU_BIN:?}
plugins=${PLATEAU_PLUGIN_DIR:?}
gen=${GEN_LEADS:?}
src=${PLATEAU_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plateau-bench-import.XXXXXX")
pgdir=
cleanup() {
    [[ -n $pgdir ]] && "$src/tests/lib/pg.sh" stop "$pgdir" > /dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "bench_import: $rows rows x 20 columns; $(date -u '+%Y-%m-%d %H:%M') UTC," \
     "$(uname -sr), $(nproc) CPUs"
for enc in utf8 cp1252; do
    "$gen" "$rows" "$enc" > "$tmp/leads-$enc.csv"
done
echo "files: UTF-8+BOM $(stat -c %s "$tmp/leads-utf8.csv") bytes," \
     "Windows-1252 $(stat -c %s "$tmp/leads-cp1252.csv") bytes" \
     "(5 % duplicate numbers, ~1 % invalid, mixed phone forms)"

# timed OUT CMD...: run, leave "seconds maxrss_kib cpu_seconds" in OUT
# (cpu = user + system time of the command and its threads: on SQLite all
# the work, so a ratio that other load on the machine barely moves; on
# PostgreSQL the client's share only).
timed() {
    local out=$1
    shift
    /usr/bin/time -f "%e %M %U %S" -o "$out" "$@"
    awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' "$out" > "$out.t" && mv "$out.t" "$out"
}

# plateau_run STORAGE_YAML FILE TAG: one import into a fresh database.
plateau_run() {
    local storage=$1 file=$2 tag=$3
    local d="$tmp/p-$tag"
    rm -rf "$d"
    mkdir -p "$d"
    cat > "$d/plateau.yaml" <<EOC
core:
  data_dir: $d/data
  plugin_path: [$plugins]
  stop_timeout: 30s
$storage
EOC
    timed "$d/time" "$bin" -c "$d/plateau.yaml" import "$file" --list bench \
        --create --restore-lost-zero --dedup list > "$d/out" 2> "$d/err" || {
        echo "plateau import failed:"; cat "$d/out" "$d/err"; return 1; }
    read -r P_SEC P_KIB P_CPU < "$d/time"
    P_IMPORTED=$(awk '/^  imported/ {print $2}' "$d/out")
    P_DUP=$(awk '/^  duplicates/ {print $2}' "$d/out")
    P_INV=$(awk '/^  invalid phones/ {print $3}' "$d/out")
}

# pg_server_cpu: CPU seconds (user + system) the throwaway server has used
# so far: the postmaster, its live children (checkpointer, WAL writer...)
# and the children it reaped (every backend of a closed connection). Only
# with --start-pg (the server's pid is known); "" otherwise.
pg_server_cpu() {
    [[ -n $pgdir && -r $pgdir/data/postmaster.pid ]] || return 0
    local pid ticks=0 f
    pid=$(head -n 1 "$pgdir/data/postmaster.pid")
    read -r -a f < "/proc/$pid/stat" || return 0
    ticks=$((f[13] + f[14] + f[15] + f[16]))
    for c in $(ps --ppid "$pid" -o pid=); do
        read -r -a f < "/proc/$c/stat" 2> /dev/null || continue
        ticks=$((ticks + f[13] + f[14]))
    done
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}'
}

# pg_cpu_line ENC P_SERVER R_SERVER: the CPU of client + server, Plateau
# against COPY (on a loaded machine the steadier figure, as on SQLite).
pg_cpu_line() {
    [[ -n $2 && -n $3 ]] || return 0
    awk -v enc="$1" -v pc="$P_CPU" -v ps="$2" -v rc="$R_CPU" -v rs="$3" 'BEGIN {
        printf "%-6s %-6s cpu with the server: Plateau %.1f s (server %.1f s), raw %.1f s (server %.1f s), ratio %.2f\n",
               "pg", enc, pc + ps, ps, rc + rs, rs, (rc + rs > 0 ? (pc + ps) / (rc + rs) : 0);
    }'
}

report() { # report ENGINE ENC RAW_SEC RAW_KIB RAW_CPU RAW_NAME
    local e=$1 enc=$2 rs=$3 rk=$4 rc=$5 rn=$6
    awk -v e="$e" -v enc="$enc" -v n="$rows" -v ps="$P_SEC" -v pk="$P_KIB" \
        -v pc="$P_CPU" -v rs="$rs" -v rk="$rk" -v rc="$rc" -v rn="$rn" \
        -v imp="$P_IMPORTED" -v dup="$P_DUP" -v inv="$P_INV" \
        -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
        # time(1) gives 1/100 s: a tiny run may take "0.00".
        if (ps <= 0) ps = 0.01; if (rs <= 0) rs = 0.01;
        printf "%-6s %-6s Plateau %8.0f rows/s  %7.1f s  cpu %7.1f s  peak %4d MiB  (%d imported, %d duplicates, %d invalid)\n",
               e, enc, n / ps, ps, pc, pk / 1024, imp, dup, inv;
        printf "%-6s %-6s raw     %8.0f rows/s  %7.1f s  cpu %7.1f s  peak %4d MiB  (%s)\n",
               e, enc, n / rs, rs, rc, rk / 1024, rn;
        printf "%-6s %-6s ratio Plateau/raw %.2f wall, %.2f cpu  (goal <= 2: %s; load average %s)\n",
               e, enc, ps / rs, (rc > 0 ? pc / rc : 0), (ps / rs <= 2 ? "met" : "NOT met"), load;
    }'
}

# The engine's floor: the rows Plateau wrote (contacts, phones, search
# entries), written again by the engine alone into a fresh database with
# Plateau's schema and indexes - no file to read, no parsing, no
# normalising, no probes. SQLite: INSERT ... SELECT from the database
# Plateau filled (WHERE/ORDER BY keep SQLite from copying the B-trees
# whole, which no import into tables shared with other lists could do).
# The "one transaction" form is the least any importer could pay; the
# "committed every N" form pays what a live server must, commits (WAL,
# synchronous=NORMAL, as storage_sqlite) every N contacts so that other
# writes and a kill -9 are never held behind a whole file.
# With KEYS_ONLY 1, the secondary indexes are dropped first: what the
# tables and their primary keys alone cost.
#   floor_sqlite SRC_DB PER_COMMIT OUT [KEYS_ONLY]  (PER_COMMIT 0: one transaction)
floor_sqlite() {
    local src_db=$1 per=$2 out=$3 keys_only=${4:-0} fdb="$tmp/floor.db" sql="$tmp/floor.sql"
    rm -f "$fdb" "$fdb-wal" "$fdb-shm"
    sqlite3 "$src_db" .schema | grep -v '^CREATE TABLE sqlite_sequence' | sqlite3 "$fdb"
    if ((keys_only)); then
        sqlite3 "$fdb" "SELECT 'DROP INDEX ' || name || ';' FROM sqlite_schema
                        WHERE type = 'index' AND sql IS NOT NULL" | sqlite3 "$fdb"
    fi
    local max stage="$tmp/floor-stage.db"
    max=$(sqlite3 "$src_db" "SELECT coalesce(max(id), 0) FROM contact")
    # contact_search is keyed by (name, value): its rows, staged by
    # contact id beforehand (untimed), so each chunk reads a range.
    rm -f "$stage"
    sqlite3 "$stage" "ATTACH '$src_db' AS src" \
        "CREATE TABLE search AS SELECT contact_id, name, value, folded FROM src.contact_search ORDER BY contact_id, name" \
        "CREATE INDEX search_contact ON search (contact_id)"
    {
        echo "ATTACH '$src_db' AS src;"
        echo "ATTACH '$stage' AS stage;"
        if ((per > 0)); then
            echo "PRAGMA journal_mode=WAL;"
            echo "PRAGMA synchronous=NORMAL;"
        else
            per=$((max + 1))
        fi
        echo "PRAGMA foreign_keys=ON;"
        echo "INSERT INTO lead_list SELECT * FROM src.lead_list;"
        local k=1
        while ((k <= max)); do
            local e=$((k + per - 1))
            echo "BEGIN;"
            echo "INSERT INTO contact SELECT * FROM src.contact WHERE id BETWEEN $k AND $e ORDER BY id;"
            echo "INSERT INTO contact_phone SELECT * FROM src.contact_phone WHERE contact_id BETWEEN $k AND $e ORDER BY contact_id, position;"
            echo "INSERT INTO contact_search (contact_id, name, value, folded) SELECT contact_id, name, value, folded FROM stage.search WHERE contact_id BETWEEN $k AND $e ORDER BY contact_id, name;"
            echo "COMMIT;"
            k=$((e + 1))
        done
    } > "$sql"
    timed "$out" sqlite3 -bail "$fdb" ".read '$sql'" > /dev/null
    rm -f "$stage"
}

# PostgreSQL's floor: the rows Plateau wrote, exported with COPY TO, then
# COPY FROM into a fresh database with Plateau's schema (pg_dump
# --schema-only) and indexes, in one transaction or committed every N
# contacts (files split by contact id beforehand). Leaves the server CPU
# it took in FLOOR_SERVER.
# KEYS_ONLY as for floor_sqlite.
#   floor_pg SRC_DB FLOOR_DB PER_COMMIT OUT [KEYS_ONLY]  (PER_COMMIT 0: one transaction)
floor_pg() {
    local src_db=$1 fdb=$2 per=$3 out=$4 keys_only=${5:-0} dir="$tmp/pgfloor" sql="$tmp/pgfloor.sql"
    rm -rf "$dir"
    mkdir -p "$dir"
    PGOPTIONS="-c client_min_messages=warning" psql -q -d postgres \
        -c "DROP DATABASE IF EXISTS $fdb" -c "CREATE DATABASE $fdb" > /dev/null
    pg_dump --schema-only --no-owner -d "$src_db" | psql -q -d "$fdb" > /dev/null
    if ((keys_only)); then
        psql -q -At -d "$fdb" -c "SELECT 'DROP INDEX ' || quote_ident(indexname) || ';'
                                  FROM pg_indexes i WHERE schemaname = 'public'
                                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                                  WHERE c.conname = i.indexname)" |
            psql -q -d "$fdb" > /dev/null
    fi
    psql -q -d "$src_db" \
        -c "\\copy (SELECT * FROM lead_list) TO '$dir/list'" \
        -c "\\copy (SELECT * FROM contact ORDER BY id) TO '$dir/contact'" \
        -c "\\copy (SELECT * FROM contact_phone ORDER BY contact_id, position) TO '$dir/phone'" \
        -c "\\copy (SELECT contact_id, name, value, folded FROM contact_search ORDER BY contact_id, name) TO '$dir/search'"
    local max
    max=$(psql -At -d "$src_db" -c "SELECT coalesce(max(id), 0) FROM contact")
    ((per > 0)) || per=$((max + 1))
    # contact, contact_phone and contact_search rows all start with the
    # contact id: one file per table and chunk of PER contacts.
    for t in contact phone search; do
        awk -F '\t' -v per="$per" -v p="$dir/$t." '{ print > (p int(($1 - 1) / per)) }' "$dir/$t"
    done
    {
        echo "\\copy lead_list FROM '$dir/list'"
        local k=0
        while ((k * per < max)); do
            echo "BEGIN;"
            echo "\\copy contact FROM '$dir/contact.$k'"
            [[ -f $dir/phone.$k ]] && echo "\\copy contact_phone FROM '$dir/phone.$k'"
            [[ -f $dir/search.$k ]] && echo "\\copy contact_search (contact_id, name, value, folded) FROM '$dir/search.$k'"
            echo "COMMIT;"
            k=$((k + 1))
        done
    } > "$sql"
    local s0 s1
    s0=$(pg_server_cpu)
    timed "$out" psql -q -v ON_ERROR_STOP=1 -d "$fdb" -f "$sql"
    sleep 1 # the postmaster reaps the closed backend
    s1=$(pg_server_cpu)
    FLOOR_SERVER=
    [[ -n $s0 ]] && FLOOR_SERVER=$(awk -v a="$s0" -v b="$s1" 'BEGIN {print b - a}')
    PGOPTIONS="-c client_min_messages=warning" psql -q -d postgres -c "DROP DATABASE $fdb" > /dev/null
    rm -rf "$dir"
}

# floor_report ENGINE ENC TIMEFILE WHAT: one floor line, with the ratios
# floor / raw (what the schema costs the engine) and Plateau / floor
# (what Plateau adds to it), wall and CPU.
floor_report() {
    local e=$1 enc=$2 f=$3 what=$4 fs fk fc
    read -r fs fk fc < "$f"
    # On PostgreSQL the client's CPU says nothing of the work (psql only
    # sends files): wall ratios here, CPU with the server on the next line.
    awk -v e="$e" -v enc="$enc" -v n="$rows" -v fs="$fs" -v fc="$fc" \
        -v ps="$P_SEC" -v pc="$P_CPU" -v rs="$R_SEC" -v rc="$R_CPU" -v what="$what" 'BEGIN {
        if (fs <= 0) fs = 0.01; if (rs <= 0) rs = 0.01; if (ps <= 0) ps = 0.01;
        cpu = pcpu = "";
        if (e == "sqlite") {
            cpu = sprintf(", %.2f cpu", (rc > 0 ? fc / rc : 0));
            pcpu = sprintf(", %.2f cpu", (fc > 0 ? pc / fc : 0));
        }
        printf "%-6s %-6s floor   %8.0f rows/s  %7.1f s  cpu %7.1f s  floor/raw %.2f wall%s; Plateau/floor %.2f wall%s  (%s)\n",
               e, enc, n / fs, fs, fc, fs / rs, cpu, ps / fs, pcpu, what;
    }'
}

# floor_report_pg ENC TIMEFILE WHAT: floor_report, plus the ratios with
# the server's CPU when it is known (--start-pg).
floor_report_pg() {
    floor_report pg "$1" "$2" "$3"
    [[ -n $P_SERVER && -n $FLOOR_SERVER ]] || return 0
    local fs fk fc
    read -r fs fk fc < "$2"
    awk -v enc="$1" -v pc="$P_CPU" -v ps="$P_SERVER" -v rc="$R_CPU" -v rs="$R_SERVER" \
        -v fc="$fc" -v fsv="$FLOOR_SERVER" 'BEGIN {
        f = fc + fsv; r = rc + rs; p = pc + ps;
        printf "%-6s %-6s floor cpu with the server %.1f s (server %.1f s): floor/raw %.2f, Plateau/floor %.2f\n",
               "pg", enc, f, fsv, (r > 0 ? f / r : 0), (f > 0 ? p / f : 0);
    }'
}

if [[ $engine == sqlite || $engine == all ]]; then
    for enc in utf8 cp1252; do
        f="$tmp/leads-$enc.csv"
        plateau_run "plugins: [storage_sqlite, leads, import_csv]" "$f" "sqlite-$enc"
        rm -f "$tmp/raw.db"
        timed "$tmp/rawtime" sqlite3 "$tmp/raw.db" ".mode csv" ".separator ;" \
            ".import '$f' t"
        read -r R_SEC R_KIB R_CPU < "$tmp/rawtime"
        report sqlite "$enc" "$R_SEC" "$R_KIB" "$R_CPU" "sqlite3 .import into a plain table"
        pdb="$tmp/p-sqlite-$enc/data/plateau.db"
        floor_sqlite "$pdb" 0 "$tmp/floortime"
        floor_report sqlite "$enc" "$tmp/floortime" "same rows and schema, one transaction"
        floor_sqlite "$pdb" "$commit_rows" "$tmp/floortime"
        floor_report sqlite "$enc" "$tmp/floortime" "same rows and schema, committed every $commit_rows contacts, WAL"
        floor_sqlite "$pdb" 0 "$tmp/floortime" 1
        floor_report sqlite "$enc" "$tmp/floortime" "same rows, primary keys only, one transaction"
    done
fi

if [[ $engine == pg || $engine == all ]]; then
    if ((start_pg)); then
        # Outside $tmp: the server runs as postgres when we are root, and
        # must be able to reach its directory.
        pgdir="/tmp/plt-bench-import-pg-$$"
        "$src/tests/lib/pg.sh" start "$pgdir" > /dev/null
        set -a; . "$pgdir/conninfo.env"; set +a
    elif [[ -z ${PGHOST:-} && -f ${PLATEAU_BUILD_DIR:-/nonexistent}/tests/pg/conninfo.env ]]; then
        set -a; . "$PLATEAU_BUILD_DIR/tests/pg/conninfo.env"; set +a
    fi
    if [[ -z ${PGHOST:-} ]]; then
        echo "postgresql: skipped (no server: set PG* or use --start-pg)"
    else
        # storage_pg wants a numeric address; the socket dir is for psql.
        pghost=127.0.0.1
        for enc in utf8 cp1252; do
            f="$tmp/leads-$enc.csv"
            db="bench_$enc"
            PGOPTIONS="-c client_min_messages=warning" psql -q -d postgres -c "DROP DATABASE IF EXISTS $db" \
                 -c "CREATE DATABASE $db" > /dev/null
            s0=$(pg_server_cpu)
            plateau_run "plugins: [storage_pg, leads, import_csv]
storage_pg:
  host: $pghost
  port: $PGPORT
  dbname: $db
  user: $PGUSER
  password: $PGPASSWORD" "$f" "pg-$enc"
            sleep 1 # the postmaster reaps the closed backends
            s1=$(pg_server_cpu)
            cols=$(for i in $(seq 1 20); do printf 'c%d text,' "$i"; done)
            psql -q -d "$db" -c "CREATE TABLE t (${cols%,})" > /dev/null
            pgenc=UTF8
            [[ $enc == cp1252 ]] && pgenc=WIN1252
            s2=$(pg_server_cpu)
            timed "$tmp/rawtime" psql -q -d "$db" -c "\\copy t FROM '$f' WITH (FORMAT csv, DELIMITER ';', HEADER true, ENCODING '$pgenc')"
            sleep 1
            s3=$(pg_server_cpu)
            read -r R_SEC R_KIB R_CPU < "$tmp/rawtime"
            # cpu: the clients' only (the server does the work).
            report pg "$enc" "$R_SEC" "$R_KIB" "$R_CPU" "psql \\copy (COPY FROM STDIN) into a plain table"
            P_SERVER= R_SERVER=
            if [[ -n $s0 ]]; then
                P_SERVER=$(awk -v a="$s0" -v b="$s1" 'BEGIN {print b - a}')
                R_SERVER=$(awk -v a="$s2" -v b="$s3" 'BEGIN {print b - a}')
                pg_cpu_line "$enc" "$P_SERVER" "$R_SERVER"
            fi
            floor_pg "$db" "floor_$enc" 0 "$tmp/floortime"
            floor_report_pg "$enc" "$tmp/floortime" "same rows and schema, COPY, one transaction"
            floor_pg "$db" "floor_$enc" "$commit_rows" "$tmp/floortime"
            floor_report_pg "$enc" "$tmp/floortime" "same rows and schema, COPY, committed every $commit_rows contacts"
            floor_pg "$db" "floor_$enc" 0 "$tmp/floortime" 1
            floor_report_pg "$enc" "$tmp/floortime" "same rows, primary keys only, COPY, one transaction"
        done
    fi
fi
