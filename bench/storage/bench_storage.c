/* SPDX-License-Identifier: MIT */
/*
 * bench_storage: what the storage engines cost, against the raw engine
 * doing the same work synchronously in the same run.
 *
 * For each engine available (SQLite always; PostgreSQL when a server is
 * configured, or started with --start-pg through tests/lib/pg.sh) it loads
 * storage_<engine>.so into the SDK's fake host on the real clock and
 * measures, on one table (id BIGINT PRIMARY KEY, name TEXT, n BIGINT,
 * t BIGINT):
 *
 *  - autocommit inserts/s: every insert its own statement, up to 1024 in
 *    flight, so the engine may batch them (group commit);
 *  - inserts/s inside one transaction: begin, N inserts queued, commit;
 *  - point reads/s by primary key, 64 in flight;
 *  - the loop thread's worst stall during a burst of 20,000 autocommit
 *    inserts (256 in flight): the longest stretch the loop spent running
 *    callbacks in one iteration (uv_prepare/uv_check with the loop's
 *    idle-time metric), the most CPU the loop thread used in one
 *    iteration (work, as opposed to waiting for a CPU), and the worst
 *    lateness of a 1 ms repeating uv timer.
 *
 * The baseline is the raw engine on the calling thread: the sqlite3 C API
 * (WAL, synchronous=NORMAL, prepared statements, one transaction per 256
 * rows for "autocommit", one for all rows inside a transaction), or libpq
 * PQexecParams() synchronously (each insert autocommitted; BEGIN ... COMMIT
 * around all of them). Ratios are Plateau / raw (above 1: Plateau faster).
 * Nothing passes or fails on time; the exit status only says whether the
 * measurements could be made.
 *
 *     bench_storage [--rows N] [--engine sqlite|pg|all] [--start-pg]
 *
 * PostgreSQL settings: PLATEAU_PG_HOST/PORT/USER/PASSWORD/DATABASE, else
 * the libpq variables PGHOST/PGPORT/..., else the CTest fixture's
 * <build>/tests/pg/conninfo.env; --start-pg starts a throwaway server.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <uv.h>

#include <plateau/error.h>
#include <plateau/log.h>
#include <plateau/service.h>
#include <plateau/svc/storage.h>
#include <plateau/testing/fake_host.h>

#ifndef BENCH_PLUGIN_DIR
#define BENCH_PLUGIN_DIR "."
#endif
#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif
#ifndef BENCH_BUILD_DIR
#define BENCH_BUILD_DIR "."
#endif

#define AUTOCOMMIT_WINDOW 1024
#define READ_WINDOW 64
#define BURST_ROWS 20000
#define RAW_BATCH 256

static const char insert_sql[] =
    "INSERT INTO bench_kv (id, name, n, t) VALUES ($1, $2, $3, $4)";
static const char read_sql[] = "SELECT name, n, t FROM bench_kv WHERE id = $1";

/* snprintf() through a va_list, for messages that may be cut short. */
__attribute__((format(printf, 3, 4))) static void
msgf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

static double
now_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

static void
die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "bench_storage: ");
    fprintf(stderr, fmt, a ? a : "", b ? b : "");
    fprintf(stderr, "\n");
    exit(1);
}

/* The values of row @p id (the same for Plateau and the baselines). */
typedef struct rowbuf {
    char name[32];
    plt_value v[4];
} rowbuf;

static void
row_fill(rowbuf *r, int64_t id)
{
    snprintf(r->name, sizeof(r->name), "name-%" PRId64, id);
    r->v[0] = PLT_V_I64(id);
    r->v[1] = PLT_V_STR(r->name);
    r->v[2] = PLT_V_I64(id * 7);
    r->v[3] = PLT_V_TIME(INT64_C(1736154000000) + id);
}

/* Row ids read back: a fixed pseudo-random walk over the inserted rows. */
static int64_t
read_id(uint64_t i, int64_t rows)
{
    return (int64_t)((i * 2654435761u) % (uint64_t)rows) + 1;
}

/* ------------------------------------------------------------------ */
/* Plateau through the fake host */

typedef struct bench {
    plt_fake_host *fh;
    plt_storage st;
    uv_loop_t *loop;
    int64_t rows;
    /* a batch in progress */
    int64_t next, issued, completed, failed, target;
    int window;
    char first_error[256];
    plt_storage_txn *txn;
    bool txn_done;
    int txn_status;
    /* loop stall probes */
    uv_prepare_t prep;
    uv_check_t check;
    uv_timer_t tick;
    bool probing;
    uint64_t t_prep, t_check, idle_prep, max_busy_ns, iterations;
    uint64_t cpu_prep, max_cpu_ns;
    uint64_t tick_expected, max_late_ns;
} bench;

static void
drive(bench *b, const bool *flag, double max_s)
{
    double end = now_s() + max_s;
    while (!*flag && now_s() < end)
        uv_run(b->loop, UV_RUN_ONCE);
}

static void on_insert_done(void *arg, int status, const plt_storage_result *r);

static void
note_error(bench *b, int status, const plt_storage_result *r)
{
    if (b->failed++ == 0)
        snprintf(b->first_error, sizeof(b->first_error), "%d: %s", status,
                 r && r->error ? r->error : "(no message)");
}

/* Keep up to b->window inserts in flight (in b->txn when set). */
static void
pump_inserts(bench *b)
{
    while (b->next < b->target && b->issued - b->completed < b->window) {
        rowbuf r = {0};
        row_fill(&r, b->next + 1);
        int rc = b->st.vt->query(b->st.impl, b->txn, insert_sql, r.v, 4,
                                 PLT_STORAGE_WRITE, NULL, on_insert_done, b);
        if (rc < 0) {
            note_error(b, rc, NULL);
            b->completed++;
        }
        b->next++;
        b->issued++;
    }
}

static void
on_insert_done(void *arg, int status, const plt_storage_result *r)
{
    bench *b = arg;
    b->completed++;
    if (status != 0)
        note_error(b, status, r);
    pump_inserts(b);
}

static void
run_inserts(bench *b, int64_t first, int64_t n, int window)
{
    b->next = first;
    b->target = first + n;
    b->issued = b->completed = 0;
    b->window = window;
    pump_inserts(b);
    while (b->completed < b->issued || b->next < b->target)
        uv_run(b->loop, UV_RUN_ONCE);
}

static void
on_begin(void *arg, int status, plt_storage_txn *txn)
{
    bench *b = arg;
    b->txn = txn;
    b->txn_status = status;
    b->txn_done = true;
}

static void
on_commit(void *arg, int status, const plt_storage_result *r)
{
    bench *b = arg;
    if (status != 0)
        note_error(b, status, r);
    b->txn_status = status;
    b->txn_done = true;
}

static int
simple(bench *b, const char *sql)
{
    b->txn_done = false;
    int rc = b->st.vt->query(b->st.impl, NULL, sql, NULL, 0, PLT_STORAGE_WRITE,
                             NULL, on_commit, b);
    if (rc < 0)
        return rc;
    drive(b, &b->txn_done, 600);
    return b->txn_done ? b->txn_status : PLT_ETIMEDOUT;
}

/* Reads, READ_WINDOW in flight. */
static void on_read_done(void *arg, int status, const plt_storage_result *r);

static int
on_read_row(void *arg, const plt_storage_row *row)
{
    (void)arg;
    (void)row;
    return 0;
}

static void
pump_reads(bench *b)
{
    while (b->next < b->target && b->issued - b->completed < b->window) {
        plt_value id = PLT_V_I64(read_id((uint64_t)b->next, b->rows));
        int rc = b->st.vt->query(b->st.impl, NULL, read_sql, &id, 1, 0,
                                 on_read_row, on_read_done, b);
        if (rc < 0) {
            note_error(b, rc, NULL);
            b->completed++;
        }
        b->next++;
        b->issued++;
    }
}

static void
on_read_done(void *arg, int status, const plt_storage_result *r)
{
    bench *b = arg;
    b->completed++;
    if (status != 0)
        note_error(b, status, r);
    else if (r->rows != 1)
        note_error(b, -1, &(plt_storage_result){.error = "row not found"});
    pump_reads(b);
}

/* Stall probes. An iteration's busy time is what it spent outside the
 * kernel wait: from check (poll returned) to the next prepare, plus the
 * part of prepare -> check that was not idle in the poll (I/O callbacks,
 * posted rows). */
static uint64_t
thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
on_prepare(uv_prepare_t *h)
{
    bench *b = h->data;
    uint64_t t = uv_hrtime();
    uint64_t cpu = thread_cpu_ns();
    if (b->t_check) {
        uint64_t busy = t - b->t_check;
        if (busy > b->max_busy_ns)
            b->max_busy_ns = busy;
        /* The loop thread's own CPU time over the iteration: wall time
         * above it was the thread waiting for a CPU (2 cores shared with
         * the engine's threads and the database), not work. */
        if (cpu - b->cpu_prep > b->max_cpu_ns)
            b->max_cpu_ns = cpu - b->cpu_prep;
    }
    b->cpu_prep = cpu;
    b->t_prep = t;
    b->idle_prep = uv_metrics_idle_time(b->loop);
}

static void
on_check(uv_check_t *h)
{
    bench *b = h->data;
    uint64_t t = uv_hrtime();
    uint64_t idle = uv_metrics_idle_time(b->loop) - b->idle_prep;
    uint64_t in_poll = t - b->t_prep;
    /* Busy time inside the poll phase counts toward this iteration, the
     * rest (after check) is added when the next prepare runs. */
    b->t_check = t - (in_poll > idle ? in_poll - idle : 0);
    b->iterations++;
}

static void
on_tick(uv_timer_t *t)
{
    bench *b = t->data;
    uint64_t now = uv_hrtime();
    if (b->tick_expected && now > b->tick_expected) {
        uint64_t late = now - b->tick_expected;
        if (late > b->max_late_ns)
            b->max_late_ns = late;
    }
    b->tick_expected = now + 1000000u;
}

static const plt_storage_migration bench_migrations[] = {
    {.version = 1,
     .name = "create bench_kv",
     .sql = "CREATE TABLE bench_kv (id BIGINT PRIMARY KEY, name TEXT NOT "
            "NULL, n BIGINT NOT NULL, t BIGINT NOT NULL)"},
};

typedef struct figures {
    double autocommit, txn, reads;
    double stall_busy_ms, stall_cpu_ms, stall_late_ms;
    uint64_t iterations;
    double burst_s;
    int64_t burst_rows;
    long preempted; /* involuntary context switches of the loop thread */
} figures;

static int
plateau_open(bench *b, const char *engine, const char *cfg)
{
    plt_fake_options fo = {.real_clock = 1, .log_level = PLT_LOG_WARN};
    int rc = plt_fake_host_new(&b->fh, &fo);
    if (rc != 0)
        return rc;
    b->loop = plt_fake_host_loop(b->fh);
    char so[PATH_MAX];
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    snprintf(so, sizeof(so), "%s/storage_%s.so", dir ? dir : BENCH_PLUGIN_DIR,
             engine);
    char full[4096];
    if (strcmp(engine, "sqlite") == 0)
        snprintf(full, sizeof(full), "file: \"%s/bench.db\"\n%s",
                 plt_fake_host_data_dir(b->fh), cfg);
    else
        snprintf(full, sizeof(full), "%s", cfg);
    if ((rc = plt_fake_host_add_so(b->fh, so, full, NULL)) != 0 ||
        (rc = plt_fake_host_init(b->fh)) != 0)
        goto fail;
    plt_service_ref ref;
    rc = plt_fake_host_acquire(b->fh, PLT_STORAGE_NAME, PLT_STORAGE_MAJOR,
                               PLT_STORAGE_MINOR, &ref);
    if (rc != 0)
        goto fail;
    b->st.vt = ref.vtable;
    b->st.impl = ref.impl;
    rc = b->st.vt->migrations(b->st.impl, "bench_storage", bench_migrations, 1);
    if (rc != 0 || (rc = plt_fake_host_start(b->fh)) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "bench_storage: %s: %s\n", so,
            plt_fake_host_last_error(b->fh));
    plt_fake_host_free(b->fh);
    b->fh = NULL;
    return rc;
}

static int
plateau_run(const char *engine, const char *cfg, int64_t rows, figures *f)
{
    bench b = {.rows = rows};
    int rc = plateau_open(&b, engine, cfg);
    if (rc != 0)
        return rc;
    uv_loop_configure(b.loop, UV_METRICS_IDLE_TIME);
    if ((rc = simple(&b, "DELETE FROM bench_kv")) != 0) {
        fprintf(stderr, "bench_storage: DELETE: %s\n", b.first_error);
        goto out;
    }

    /* 1. Autocommit inserts, ids 1..rows. */
    double t0 = now_s();
    run_inserts(&b, 0, rows, AUTOCOMMIT_WINDOW);
    f->autocommit = (double)rows / (now_s() - t0);

    /* 2. One transaction, ids rows+1..2*rows. */
    b.txn_done = false;
    t0 = now_s();
    if (b.st.vt->begin(b.st.impl, 0, on_begin, &b) == 0)
        drive(&b, &b.txn_done, 600);
    if (!b.txn_done || b.txn_status != 0) {
        note_error(&b, b.txn_status, NULL);
    } else {
        run_inserts(&b, rows, rows, INT32_MAX);
        b.txn_done = false;
        plt_storage_txn *t = b.txn;
        b.txn = NULL;
        if (b.st.vt->commit(b.st.impl, t, on_commit, &b) == 0)
            drive(&b, &b.txn_done, 600);
        f->txn = (double)rows / (now_s() - t0);
    }

    /* 3. Point reads. */
    b.next = 0;
    b.target = rows;
    b.issued = b.completed = 0;
    b.window = READ_WINDOW;
    t0 = now_s();
    pump_reads(&b);
    while (b.completed < b.issued || b.next < b.target)
        uv_run(b.loop, UV_RUN_ONCE);
    f->reads = (double)rows / (now_s() - t0);

    /* 4. The loop during a burst of BURST_ROWS autocommit inserts, 256 in
     *    flight (so the probe does not mostly measure our own issuing). */
    uv_prepare_init(b.loop, &b.prep);
    uv_check_init(b.loop, &b.check);
    uv_timer_init(b.loop, &b.tick);
    b.prep.data = b.check.data = b.tick.data = &b;
    uv_prepare_start(&b.prep, on_prepare);
    uv_check_start(&b.check, on_check);
    uv_timer_start(&b.tick, on_tick, 1, 1);
    b.tick_expected = 0;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_THREAD, &ru0);
    t0 = now_s();
    run_inserts(&b, 2 * rows, f->burst_rows, 256);
    f->burst_s = now_s() - t0;
    getrusage(RUSAGE_THREAD, &ru1);
    f->preempted = ru1.ru_nivcsw - ru0.ru_nivcsw;
    uv_prepare_stop(&b.prep);
    uv_check_stop(&b.check);
    uv_timer_stop(&b.tick);
    f->stall_busy_ms = (double)b.max_busy_ns / 1e6;
    f->stall_late_ms = (double)b.max_late_ns / 1e6;
    f->stall_cpu_ms = (double)b.max_cpu_ns / 1e6;
    f->iterations = b.iterations;
    uv_close((uv_handle_t *)&b.prep, NULL);
    uv_close((uv_handle_t *)&b.check, NULL);
    uv_close((uv_handle_t *)&b.tick, NULL);

    if (b.failed) {
        fprintf(stderr,
                "bench_storage: %" PRId64 " statements failed; "
                "first: %s\n",
                b.failed, b.first_error);
        rc = PLT_EDB;
    }
out:;
    int frc = plt_fake_host_free(b.fh);
    if (frc != 0)
        fprintf(stderr, "bench_storage: a uv handle was left open\n");
    return rc;
}

/* ------------------------------------------------------------------ */
/* Baselines */

typedef struct raw_figures {
    double autocommit, txn, reads, burst_s;
} raw_figures;

static void
sq_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die("sqlite3: %s: %s", sql, err);
}

static void
sq_insert(sqlite3_stmt *st, int64_t id)
{
    rowbuf r = {0};
    row_fill(&r, id);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, r.name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r.v[2].v.i);
    sqlite3_bind_int64(st, 4, r.v[3].v.i);
    if (sqlite3_step(st) != SQLITE_DONE)
        die("sqlite3 insert: %s%s", sqlite3_errmsg(sqlite3_db_handle(st)),
            NULL);
    sqlite3_reset(st);
}

static int
raw_sqlite(int64_t rows, int64_t burst, raw_figures *f)
{
    char dir[] = "/tmp/plt-bench-raw-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/raw.db", dir);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("sqlite3_open %s%s", path, NULL);
    sq_exec(db, "PRAGMA journal_mode=WAL");
    sq_exec(db, "PRAGMA synchronous=NORMAL");
    sq_exec(db, "CREATE TABLE bench_kv (id BIGINT PRIMARY KEY, name TEXT NOT "
                "NULL, n BIGINT NOT NULL, t BIGINT NOT NULL)");
    sqlite3_stmt *ins, *sel;
    sqlite3_prepare_v3(db,
                       "INSERT INTO bench_kv (id, name, n, t) VALUES "
                       "(?1, ?2, ?3, ?4)",
                       -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL);
    sqlite3_prepare_v3(db, "SELECT name, n, t FROM bench_kv WHERE id = ?1", -1,
                       SQLITE_PREPARE_PERSISTENT, &sel, NULL);

    double t0 = now_s();
    for (int64_t i = 0; i < rows; i++) {
        if (i % RAW_BATCH == 0)
            sq_exec(db, "BEGIN");
        sq_insert(ins, i + 1);
        if (i % RAW_BATCH == RAW_BATCH - 1 || i == rows - 1)
            sq_exec(db, "COMMIT");
    }
    f->autocommit = (double)rows / (now_s() - t0);

    t0 = now_s();
    sq_exec(db, "BEGIN");
    for (int64_t i = 0; i < rows; i++)
        sq_insert(ins, rows + i + 1);
    sq_exec(db, "COMMIT");
    f->txn = (double)rows / (now_s() - t0);

    t0 = now_s();
    for (int64_t i = 0; i < rows; i++) {
        sqlite3_bind_int64(sel, 1, read_id((uint64_t)i, rows));
        if (sqlite3_step(sel) != SQLITE_ROW)
            die("sqlite3 read: row missing%s%s", NULL, NULL);
        (void)sqlite3_column_text(sel, 0);
        sqlite3_reset(sel);
    }
    f->reads = (double)rows / (now_s() - t0);

    /* The burst, as the loop would run it synchronously. */
    t0 = now_s();
    for (int64_t i = 0; i < burst; i++) {
        if (i % RAW_BATCH == 0)
            sq_exec(db, "BEGIN");
        sq_insert(ins, 2 * rows + i + 1);
        if (i % RAW_BATCH == RAW_BATCH - 1 || i == burst - 1)
            sq_exec(db, "COMMIT");
    }
    f->burst_s = now_s() - t0;

    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    sqlite3_close(db);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_storage: cannot remove %s\n", dir);
    return 0;
}

static void
pq_ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        die("libpq %s: %s", what, PQerrorMessage(c));
    PQclear(r);
}

static void
pq_insert(PGconn *c, int64_t id)
{
    rowbuf r = {0};
    row_fill(&r, id);
    char a[3][24];
    snprintf(a[0], sizeof(a[0]), "%" PRId64, id);
    snprintf(a[1], sizeof(a[1]), "%" PRId64, r.v[2].v.i);
    snprintf(a[2], sizeof(a[2]), "%" PRId64, r.v[3].v.i);
    const char *p[4] = {a[0], r.name, a[1], a[2]};
    pq_ok(c,
          PQexecParams(c,
                       "INSERT INTO bench_raw (id, name, n, t) VALUES "
                       "($1, $2, $3, $4)",
                       4, NULL, p, NULL, NULL, 0),
          "insert");
}

static int
raw_pg(int64_t rows, int64_t burst, raw_figures *f)
{
    PGconn *c = PQconnectdb("connect_timeout=10");
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_storage: libpq: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    pq_ok(c, PQexec(c, "DROP TABLE IF EXISTS bench_raw"), "drop");
    pq_ok(c,
          PQexec(c, "CREATE TABLE bench_raw (id BIGINT PRIMARY KEY, name "
                    "TEXT NOT NULL, n BIGINT NOT NULL, t BIGINT NOT NULL)"),
          "create");
    double t0 = now_s();
    for (int64_t i = 0; i < rows; i++)
        pq_insert(c, i + 1);
    f->autocommit = (double)rows / (now_s() - t0);

    t0 = now_s();
    pq_ok(c, PQexec(c, "BEGIN"), "begin");
    for (int64_t i = 0; i < rows; i++)
        pq_insert(c, rows + i + 1);
    pq_ok(c, PQexec(c, "COMMIT"), "commit");
    f->txn = (double)rows / (now_s() - t0);

    t0 = now_s();
    for (int64_t i = 0; i < rows; i++) {
        char a[24];
        snprintf(a, sizeof(a), "%" PRId64, read_id((uint64_t)i, rows));
        const char *p[1] = {a};
        PGresult *r = PQexecParams(c,
                                   "SELECT name, n, t FROM bench_raw "
                                   "WHERE id = $1",
                                   1, NULL, p, NULL, NULL, 0);
        if (PQntuples(r) != 1)
            die("libpq read: row missing%s%s", NULL, NULL);
        pq_ok(c, r, "select");
    }
    f->reads = (double)rows / (now_s() - t0);

    t0 = now_s();
    for (int64_t i = 0; i < burst; i++)
        pq_insert(c, 2 * rows + i + 1);
    f->burst_s = now_s() - t0;
    pq_ok(c, PQexec(c, "DROP TABLE bench_raw"), "drop");
    PQfinish(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* PostgreSQL settings */

static char pg_dir[PATH_MAX]; /* a server started by --start-pg */

static void
load_env_file(const char *path, bool override)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        char *s = line;
        s[strcspn(s, "\r\n")] = 0;
        if (strncmp(s, "export ", 7) == 0)
            s += 7;
        char *eq = strchr(s, '=');
        if (!eq || *s == '#')
            continue;
        *eq = 0;
        setenv(s, eq + 1, override);
    }
    fclose(f);
}

static void
stop_pg(void)
{
    if (!pg_dir[0])
        return;
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof(cmd), "'%s/tests/lib/pg.sh' stop '%s' >/dev/null",
             BENCH_SOURCE_DIR, pg_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_storage: pg.sh stop failed\n");
    pg_dir[0] = 0;
}

/* Find PostgreSQL settings; exports them as PG* for libpq. */
static bool
pg_configure(bool start, char *why, size_t n)
{
    if (start) {
        snprintf(pg_dir, sizeof(pg_dir), "/tmp/plt-bench-pg-%ld",
                 (long)getpid());
        char cmd[2 * PATH_MAX];
        snprintf(cmd, sizeof(cmd), "'%s/tests/lib/pg.sh' start '%s'",
                 BENCH_SOURCE_DIR, pg_dir);
        fprintf(stderr, "bench_storage: starting PostgreSQL in %s\n", pg_dir);
        if (system(cmd) != 0) {
            snprintf(why, n, "tests/lib/pg.sh start failed");
            pg_dir[0] = 0;
            return false;
        }
        atexit(stop_pg);
        char env[PATH_MAX + 32];
        snprintf(env, sizeof(env), "%s/conninfo.env", pg_dir);
        load_env_file(env, true);
        return true;
    }
    static const char *const keys[][2] = {
        {"PLATEAU_PG_HOST", "PGHOST"},
        {"PLATEAU_PG_PORT", "PGPORT"},
        {"PLATEAU_PG_USER", "PGUSER"},
        {"PLATEAU_PG_PASSWORD", "PGPASSWORD"},
        {"PLATEAU_PG_DATABASE", "PGDATABASE"},
    };
    bool plateau_env = false;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = getenv(keys[i][0]);
        if (v) {
            setenv(keys[i][1], v, 1);
            plateau_env = true;
        }
    }
    if (plateau_env || getenv("PGHOST") || getenv("PGPORT"))
        return true;
    char env[PATH_MAX];
    snprintf(env, sizeof(env), "%s/tests/pg/conninfo.env", BENCH_BUILD_DIR);
    if (access(env, R_OK) == 0) {
        load_env_file(env, false);
        return true;
    }
    msgf(why, n,
         "no server configured (PLATEAU_PG_*, PGHOST/PGPORT or "
         "%s); use --start-pg",
         env);
    return false;
}

static void
pg_config_yaml(char *buf, size_t n)
{
    static const char *const keys[][2] = {
        {"PGHOST", "host"},       {"PGPORT", "port"},
        {"PGUSER", "user"},       {"PGPASSWORD", "password"},
        {"PGDATABASE", "dbname"},
    };
    buf[0] = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = getenv(keys[i][0]);
        if (!v || !*v)
            continue;
        size_t l = strlen(buf);
        if (strcmp(keys[i][1], "port") == 0)
            snprintf(buf + l, n - l, "port: %s\n", v);
        else
            snprintf(buf + l, n - l, "%s: \"%s\"\n", keys[i][1], v);
    }
}

/* ------------------------------------------------------------------ */

static void
print_line(const char *what, double plt, double raw, const char *rawwhat)
{
    printf("  %-22s Plateau %10.0f /s   raw %-14s %10.0f /s   ratio %.2f\n",
           what, plt, rawwhat, raw, raw > 0 ? plt / raw : 0.0);
}

static int
bench_engine(const char *engine, int64_t rows)
{
    /* The burst is 20,000 rows, fewer for a smoke run. */
    figures f = {.burst_rows = rows < BURST_ROWS ? rows : BURST_ROWS};
    raw_figures r = {0};
    char cfg[2048] = "";
    const bool pg = strcmp(engine, "pg") == 0;
    if (pg)
        pg_config_yaml(cfg, sizeof(cfg));
    int rc = plateau_run(engine, cfg, rows, &f);
    if (rc != 0) {
        printf("%s: Plateau run failed (%d)\n", engine, rc);
        return 1;
    }
    if ((pg ? raw_pg(rows, f.burst_rows, &r)
            : raw_sqlite(rows, f.burst_rows, &r)) != 0) {
        printf("%s: baseline failed\n", engine);
        return 1;
    }
    if (pg)
        printf("postgresql (storage_pg.so vs libpq %d PQexecParams, "
               "synchronous)\n",
               PQlibVersion());
    else
        printf("sqlite (storage_sqlite.so vs sqlite3 %s C API, WAL/NORMAL)\n",
               sqlite3_libversion());
    print_line("autocommit inserts", f.autocommit, r.autocommit,
               pg ? "(autocommit)" : "(txn/256)");
    print_line("inserts in one txn", f.txn, r.txn, "(one txn)");
    print_line("point reads by PK", f.reads, r.reads, "(sync)");
    printf("  loop during a %" PRId64 "-insert burst (%.0f ms, %" PRIu64
           " iterations):\n"
           "    worst iteration %.2f ms (worst on-CPU %.2f ms), worst 1 ms "
           "timer lateness %.2f ms,\n"
           "    loop thread preempted %ld times;\n"
           "    the raw engine run on the loop would block it %.0f ms\n",
           f.burst_rows, f.burst_s * 1e3, f.iterations, f.stall_busy_ms,
           f.stall_cpu_ms, f.stall_late_ms, f.preempted, r.burst_s * 1e3);
    return 0;
}

int
main(int argc, char **argv)
{
    int64_t rows = 20000;
    const char *engine = "all";
    bool start_pg = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            rows = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
            engine = argv[++i];
        else if (strcmp(argv[i], "--start-pg") == 0)
            start_pg = true;
        else {
            fprintf(stderr,
                    "usage: %s [--rows N] [--engine sqlite|pg|all] "
                    "[--start-pg]\n",
                    argv[0]);
            return 2;
        }
    }
    if (rows < 1 || (strcmp(engine, "sqlite") && strcmp(engine, "pg") &&
                     strcmp(engine, "all"))) {
        fprintf(stderr, "bench_storage: bad --rows or --engine\n");
        return 2;
    }
    struct utsname u;
    uname(&u);
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&now));
    printf("bench_storage: %" PRId64 " rows per measure; %s, %s %s, %ld "
           "CPUs\n",
           rows, date, u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN));
    int rc = 0;
    if (strcmp(engine, "pg") != 0)
        rc |= bench_engine("sqlite", rows);
    if (strcmp(engine, "sqlite") != 0) {
        char why[512];
        if (pg_configure(start_pg, why, sizeof(why)))
            rc |= bench_engine("pg", rows);
        else if (strcmp(engine, "pg") == 0) {
            printf("postgresql: %s\n", why);
            rc = 1;
        } else {
            printf("postgresql: skipped: %s\n", why);
        }
    }
    stop_pg();
    return rc;
}
