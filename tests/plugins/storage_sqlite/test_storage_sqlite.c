/* SPDX-License-Identifier: MIT */
/*
 * storage_sqlite through the fake host, as consumers use it: the built
 * .so is loaded, the `storage` service acquired, and each test states a
 * promise of the storage contract (sdk/include/plateau/svc/storage.h) or
 * of the engine's design - an acknowledged write is committed, a failing
 * statement of a group fails alone, a transaction is isolated and times
 * out, a million rows stream through bounded memory, bad files give one
 * clear error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sq_harness.h"

static const plt_storage_migration base_m[] = {
    {.version = 1,
     .name = "create item",
     .sql = "CREATE TABLE item (id PLT_ID, name TEXT UNIQUE, qty BIGINT, "
            "price REAL, data PLT_BLOB, meta PLT_JSON, at BIGINT)"},
    {.version = 2,
     .name = "create log",
     .sql = "CREATE TABLE log (n BIGINT PRIMARY KEY, note TEXT)"},
};

static void
open_base(sq_env *e, const char *yaml)
{
    sq_mkdir(e);
    int rc = sq_open(e, yaml, "items", base_m, 2);
    if (rc != 0)
        fail_msg("start: %s", plt_fake_host_last_error(e->fh));
}

static void
done_base(sq_env *e)
{
    sq_close(e);
    sq_rmdir(e);
}

/* ------------------------------------------------------------------ */

static void
test_migrations_types_and_values(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    /* PLT_ID became an auto-increment key, recorded in plt_schema. */
    assert_int_equal(sq_count(&e, "SELECT version FROM plt_schema WHERE "
                                  "owner = 'items'"),
                     2);
    unsigned char blob[] = {0, 1, 2, 3, 255};
    plt_value a[] = {PLT_V_STR("apple"),     PLT_V_I64(3),
                     PLT_V_DOUBLE(1.5),      PLT_V_BLOB(blob, 5),
                     PLT_V_STR("{\"k\":1}"), PLT_V_TIME(1736154000000)};
    sq_res r = {0};
    assert_int_equal(sq_exec(&e, NULL,
                             "INSERT INTO item (name, qty, price, data, "
                             "meta, at) VALUES ($1, $2, $3, $4, $5, $6) "
                             "RETURNING id",
                             a, 6, PLT_STORAGE_WRITE, &r),
                     0);
    assert_int_equal(r.rows_affected, 1);
    assert_int_equal(r.rows, 1);
    assert_int_equal(r.first_type, PLT_T_I64);
    assert_int_equal(r.first_i64, 1);

    assert_int_equal(sq_exec(&e, NULL,
                             "SELECT qty, price, name, data, NULL, at FROM "
                             "item",
                             NULL, 0, 0, &r),
                     0);
    assert_int_equal(r.rows, 1);
    assert_int_equal(r.first_type, PLT_T_I64);
    assert_int_equal(r.first_i64, 3);
    assert_int_equal(r.rows_affected, 0);
    done_base(&e);
}

typedef struct typed_row {
    int types[6];
    double d;
    char s[16];
    unsigned char b[8];
    size_t blen;
    char name2[16];
    int64_t at;
    bool done;
} typed_row;

static int
typed_cb(void *arg, const plt_storage_row *row)
{
    typed_row *t = arg;
    assert_int_equal(row->ncols, 6);
    for (size_t i = 0; i < 6; i++)
        t->types[i] = row->vals[i].type;
    t->d = row->vals[1].v.d;
    snprintf(t->s, sizeof(t->s), "%s", row->vals[2].v.s);
    t->blen = row->vals[3].len;
    memcpy(t->b, row->vals[3].v.b, t->blen < 8 ? t->blen : 8);
    snprintf(t->name2, sizeof(t->name2), "%s", row->names[2]);
    t->at = row->vals[5].v.i;
    return 0;
}

static void
typed_done(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    typed_row *t = arg;
    assert_int_equal(status, 0);
    t->done = true;
}

static void
test_row_values_are_typed(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    unsigned char blob[] = {0, 1, 2, 255};
    plt_value a[] = {PLT_V_STR("pear"), PLT_V_BLOB(blob, 4),
                     PLT_V_TIME(1736154000123)};
    sq_res r = {0};
    assert_int_equal(sq_exec(&e, NULL,
                             "INSERT INTO item (name, qty, price, data, at) "
                             "VALUES ($1, 7, 2.25, $2, $3)",
                             a, 3, PLT_STORAGE_WRITE, &r),
                     0);
    typed_row t = {0};
    assert_int_equal(e.st.vt->query(e.st.impl, NULL,
                                    "SELECT qty, price, name AS label, "
                                    "data, meta, at FROM item",
                                    NULL, 0, 0, typed_cb, typed_done, &t),
                     0);
    while (!t.done)
        plt_fake_host_run_until_idle(e.fh);
    assert_int_equal(t.types[0], PLT_T_I64);
    assert_int_equal(t.types[1], PLT_T_DOUBLE);
    assert_true(t.d == 2.25);
    assert_int_equal(t.types[2], PLT_T_STR);
    assert_string_equal(t.s, "pear");
    assert_string_equal(t.name2, "label");
    assert_int_equal(t.types[3], PLT_T_BLOB);
    assert_int_equal(t.blen, 4);
    assert_memory_equal(t.b, blob, 4);
    assert_int_equal(t.types[4], PLT_T_NULL);
    /* A PLT_T_TIME parameter reads back as an integer. */
    assert_int_equal(t.types[5], PLT_T_I64);
    assert_int_equal(t.at, 1736154000123);
    done_base(&e);
}

/* ------------------------------------------------------------------ */
/* Group commit */

#define NGROUP 200

typedef struct ack_check {
    sq_env *e;
    sqlite3 *db; /* an independent connection to the same file */
    int64_t id;
    int status;
    bool done;
    bool visible; /* the row was committed when done() ran */
} ack_check;

static void
ack_done(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    ack_check *a = arg;
    a->done = true;
    a->status = status;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(a->db,
                                        "SELECT count(*) FROM log WHERE n = "
                                        "?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, a->id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    a->visible = sqlite3_column_int64(st, 0) == 1;
    sqlite3_finalize(st);
}

static void
test_group_commit_acknowledges_after_commit(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    static ack_check acks[NGROUP];
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(e.path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    stq_diag before = sq_diag(&e);
    /* Queue them all at once, as a busy loop iteration would: they are
     * grouped, and each done() must find its row committed - visible to
     * another connection. */
    for (int i = 0; i < NGROUP; i++) {
        acks[i] = (ack_check){.e = &e, .db = db, .id = i + 1};
        plt_value a[] = {PLT_V_I64(i + 1), PLT_V_STR("x")};
        assert_int_equal(e.st.vt->query(e.st.impl, NULL,
                                        "INSERT INTO log (n, note) VALUES "
                                        "($1, $2)",
                                        a, 2, PLT_STORAGE_WRITE, NULL, ack_done,
                                        &acks[i]),
                         0);
    }
    bool all = false;
    while (!all) {
        plt_fake_host_run_until_idle(e.fh);
        all = true;
        for (int i = 0; i < NGROUP; i++)
            all = all && acks[i].done;
    }
    for (int i = 0; i < NGROUP; i++) {
        assert_int_equal(acks[i].status, 0);
        assert_true(acks[i].visible);
    }
    stq_diag after = sq_diag(&e);
    uint64_t commits = after.commits - before.commits;
    printf("# %d writes committed in %llu group commit(s)\n", NGROUP,
           (unsigned long long)commits);
    assert_true(commits >= 1 && commits < NGROUP / 4);
    sqlite3_close(db);
    done_base(&e);
}

static void
test_failing_statement_fails_alone(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res r[3], blocker = {0};
    memset(r, 0, sizeof(r));
    stq_diag before = sq_diag(&e);
    /* Occupy the writer, so the next three queue up and form one group
     * (the writer is free again only once the loop took its result). */
    plt_value bv[] = {PLT_V_I64(100)};
    assert_int_equal(
        e.st.vt->query(e.st.impl, NULL, "INSERT INTO log (n) VALUES ($1)", bv,
                       1, PLT_STORAGE_WRITE, sq_row, sq_done, &blocker),
        0);
    const int64_t ids[3] = {1, 1, 2}; /* the second one is a duplicate */
    for (int i = 0; i < 3; i++) {
        plt_value a[] = {PLT_V_I64(ids[i])};
        assert_int_equal(
            e.st.vt->query(e.st.impl, NULL, "INSERT INTO log (n) VALUES ($1)",
                           a, 1, PLT_STORAGE_WRITE, sq_row, sq_done, &r[i]),
            0);
    }
    for (int i = 0; i < 3; i++)
        sq_wait(&e, &r[i]);
    assert_int_equal(r[0].status, 0);
    assert_int_equal(r[1].status, PLT_ECONFLICT);
    assert_string_equal(r[1].sqlstate, "23505");
    assert_non_null(strstr(r[1].err, "UNIQUE"));
    assert_int_equal(r[2].status, 0);
    sq_wait(&e, &blocker);
    /* The blocker's commit, then one for the group of three: the failure
     * did not take its neighbours with it. */
    assert_int_equal(sq_diag(&e).commits - before.commits, 2);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log"), 3);
    /* Done callbacks run in submission order. */
    assert_true(r[0].seq < r[1].seq && r[1].seq < r[2].seq);
    assert_int_equal(r[1].rows_affected, 0);
    plt_storage_status st = {.size = sizeof(st)};
    assert_int_equal(e.st.vt->status(e.st.impl, &st), 0);
    assert_int_equal(st.connected, 1);
    assert_true(st.failed >= 1);
    assert_true(st.completed >= 2);
    done_base(&e);
}

static void
test_durable_write_commits_full(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    stq_diag before = sq_diag(&e);
    sq_res r = {0};
    plt_value a[] = {PLT_V_I64(9)};
    assert_int_equal(sq_exec(&e, NULL, "INSERT INTO log (n) VALUES ($1)", a, 1,
                             PLT_STORAGE_WRITE | PLT_STORAGE_DURABLE, &r),
                     0);
    assert_int_equal(sq_diag(&e).durable_commits - before.durable_commits, 1);
    /* NORMAL again afterwards: a plain write is not flushed. */
    plt_value b[] = {PLT_V_I64(10)};
    assert_int_equal(sq_exec(&e, NULL, "INSERT INTO log (n) VALUES ($1)", b, 1,
                             PLT_STORAGE_WRITE, &r),
                     0);
    assert_int_equal(sq_diag(&e).durable_commits - before.durable_commits, 1);
    /* A durable transaction commits with FULL too. */
    sq_res tb = {0}, c = {0};
    assert_int_equal(
        e.st.vt->begin(e.st.impl, PLT_STORAGE_DURABLE, sq_begun, &tb), 0);
    sq_wait(&e, &tb);
    plt_value d[] = {PLT_V_I64(11)};
    assert_int_equal(
        sq_exec(&e, tb.txn, "INSERT INTO log (n) VALUES ($1)", d, 1, 0, &r), 0);
    assert_int_equal(e.st.vt->commit(e.st.impl, tb.txn, sq_done, &c), 0);
    sq_wait(&e, &c);
    assert_int_equal(c.status, 0);
    assert_int_equal(sq_diag(&e).durable_commits - before.durable_commits, 2);
    done_base(&e);
}

/* The integer a one-row PRAGMA answers, on a reader or (WRITE) the
 * writer. */
static int64_t
pragma_int(sq_env *e, const char *sql, uint32_t flags)
{
    sq_res r = {0};
    assert_int_equal(sq_exec(e, NULL, sql, NULL, 0, flags, &r), 0);
    return r.first_i64;
}

static void
test_page_cache_and_checkpoint_settings(void **state)
{
    (void)state;
    static sq_env e;
    e = (sq_env){0};
    /* Default: 16 MiB on every connection (negative: KiB). */
    open_base(&e, NULL);
    assert_int_equal(pragma_int(&e, "PRAGMA cache_size", 0), -16 * 1024);
    assert_int_equal(
        pragma_int(&e, "PRAGMA wal_autocheckpoint", PLT_STORAGE_WRITE), 1000);
    done_base(&e);

    e = (sq_env){0};
    open_base(&e, "cache_mib: 3\ncheckpoint_pages: 4000\n");
    assert_int_equal(pragma_int(&e, "PRAGMA cache_size", 0), -3 * 1024);
    assert_int_equal(pragma_int(&e, "PRAGMA cache_size", PLT_STORAGE_WRITE),
                     -3 * 1024);
    assert_int_equal(
        pragma_int(&e, "PRAGMA wal_autocheckpoint", PLT_STORAGE_WRITE), 4000);
    /* Readers never checkpoint. */
    assert_int_equal(pragma_int(&e, "PRAGMA wal_autocheckpoint", 0), 0);
    done_base(&e);
}

static void
test_disk_full_at_run_time_is_an_error_not_a_crash(void **state)
{
    (void)state;
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res r = {0};
    /* Simulate a full disk: cap the file at its current size. */
    assert_int_equal(sq_exec(&e, NULL, "PRAGMA max_page_count = 12", NULL, 0,
                             PLT_STORAGE_WRITE, &r),
                     0);
    static unsigned char big[256 * 1024];
    memset(big, 7, sizeof(big));
    plt_value a[] = {PLT_V_STR("big"), PLT_V_BLOB(big, sizeof(big))};
    assert_int_equal(sq_exec(&e, NULL,
                             "INSERT INTO item (name, data) VALUES ($1, $2)", a,
                             2, PLT_STORAGE_WRITE, &r),
                     PLT_EDB);
    printf("# %s\n", r.err);
    assert_non_null(strstr(r.err, "full"));
    plt_storage_status st = {.size = sizeof(st)};
    assert_int_equal(e.st.vt->status(e.st.impl, &st), 0);
    assert_non_null(st.last_error);
    assert_true(st.failed >= 1);
    /* The engine goes on: small writes still fit. */
    plt_value b[] = {PLT_V_I64(1)};
    assert_int_equal(sq_exec(&e, NULL, "INSERT INTO log (n) VALUES ($1)", b, 1,
                             PLT_STORAGE_WRITE, &r),
                     0);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM item"), 0);
    done_base(&e);
}

/* ------------------------------------------------------------------ */
/* Transactions */

static void
test_txn_isolation_and_order(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res b = {0};
    b.in_call = true;
    assert_int_equal(e.st.vt->begin(e.st.impl, 0, sq_begun, &b), 0);
    b.in_call = false;
    assert_false(b.called_inside);
    sq_wait(&e, &b);
    assert_int_equal(b.status, 0);
    plt_storage_txn *t = b.txn;

    sq_res r = {0};
    plt_value one[] = {PLT_V_I64(1)};
    assert_int_equal(
        sq_exec(&e, t, "INSERT INTO log (n) VALUES ($1)", one, 1, 0, &r), 0);
    /* Inside: its own write is visible (reads in a txn use the writer). */
    assert_int_equal(sq_exec(&e, t, "SELECT count(*) FROM log", NULL, 0, 0, &r),
                     0);
    assert_int_equal(r.first_i64, 1);
    /* Outside: not yet. */
    assert_int_equal(
        sq_exec(&e, NULL, "SELECT count(*) FROM log", NULL, 0, 0, &r), 0);
    assert_int_equal(r.first_i64, 0);

    /* A write from elsewhere waits for the transaction to end. */
    sq_res w = {0}, c = {0};
    plt_value two[] = {PLT_V_I64(2)};
    assert_int_equal(e.st.vt->query(e.st.impl, NULL,
                                    "INSERT INTO log (n) VALUES ($1)", two, 1,
                                    PLT_STORAGE_WRITE, sq_row, sq_done, &w),
                     0);
    plt_fake_host_run_until_idle(e.fh);
    assert_false(w.done);
    assert_int_equal(e.st.vt->commit(e.st.impl, t, sq_done, &c), 0);
    /* The handle is spent: more calls on it are refused. */
    assert_int_equal(e.st.vt->query(e.st.impl, t, "SELECT 1", NULL, 0, 0,
                                    sq_row, sq_done, &r),
                     PLT_EINVAL);
    sq_wait(&e, &c);
    sq_wait(&e, &w);
    assert_int_equal(c.status, 0);
    assert_int_equal(w.status, 0);
    assert_true(c.seq < w.seq);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log"), 2);

    /* Rollback undoes. */
    memset(&b, 0, sizeof(b));
    assert_int_equal(
        e.st.vt->begin(e.st.impl, PLT_STORAGE_DURABLE, sq_begun, &b), 0);
    sq_wait(&e, &b);
    plt_value three[] = {PLT_V_I64(3)};
    assert_int_equal(
        sq_exec(&e, b.txn, "INSERT INTO log (n) VALUES ($1)", three, 1, 0, &r),
        0);
    sq_res rb = {0};
    assert_int_equal(e.st.vt->rollback(e.st.impl, b.txn, sq_done, &rb), 0);
    sq_wait(&e, &rb);
    assert_int_equal(rb.status, 0);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log"), 2);

    /* A failing statement inside a transaction does not end it. */
    memset(&b, 0, sizeof(b));
    assert_int_equal(e.st.vt->begin(e.st.impl, 0, sq_begun, &b), 0);
    sq_wait(&e, &b);
    assert_int_equal(
        sq_exec(&e, b.txn, "INSERT INTO log (n) VALUES ($1)", one, 1, 0, &r),
        PLT_ECONFLICT);
    plt_value four[] = {PLT_V_I64(4)};
    assert_int_equal(
        sq_exec(&e, b.txn, "INSERT INTO log (n) VALUES ($1)", four, 1, 0, &r),
        0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(e.st.vt->commit(e.st.impl, b.txn, sq_done, &c), 0);
    sq_wait(&e, &c);
    assert_int_equal(c.status, 0);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log"), 3);
    done_base(&e);
}

static void
test_txn_timeout(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, "txn_timeout: 1s\n");
    sq_res b = {0};
    assert_int_equal(e.st.vt->begin(e.st.impl, 0, sq_begun, &b), 0);
    sq_wait(&e, &b);
    sq_res r = {0};
    plt_value one[] = {PLT_V_I64(1)};
    assert_int_equal(
        sq_exec(&e, b.txn, "INSERT INTO log (n) VALUES ($1)", one, 1, 0, &r),
        0);
    /* Another write waits behind the transaction: it must not freeze the
     * simulated clock, or the timeout could never fire. */
    sq_res w = {0};
    plt_value two[] = {PLT_V_I64(2)};
    assert_int_equal(e.st.vt->query(e.st.impl, NULL,
                                    "INSERT INTO log (n) VALUES ($1)", two, 1,
                                    PLT_STORAGE_WRITE, sq_row, sq_done, &w),
                     0);
    plt_fake_host_run_for(e.fh, 900);
    assert_false(w.done);
    plt_fake_host_run_for(e.fh, 200);
    sq_wait(&e, &w);
    assert_int_equal(w.status, 0);
    assert_true(plt_fake_host_log_count(e.fh, PLT_LOG_WARN, "txn_timeout") >=
                1);

    /* Its later calls fail with PLT_ETIMEDOUT, and so does commit(),
     * which releases the handle. */
    assert_int_equal(sq_exec(&e, b.txn, "SELECT 1", NULL, 0, 0, &r),
                     PLT_ETIMEDOUT);
    sq_res c = {0};
    assert_int_equal(e.st.vt->commit(e.st.impl, b.txn, sq_done, &c), 0);
    sq_wait(&e, &c);
    assert_int_equal(c.status, PLT_ETIMEDOUT);
    assert_non_null(strstr(c.err, "txn_timeout"));
    /* Rolled back: only the other write is there. */
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log"), 1);
    assert_int_equal(sq_count(&e, "SELECT n FROM log"), 2);
    done_base(&e);
}

static void
test_txn_left_open_at_stop_is_rolled_back(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res b = {0};
    assert_int_equal(e.st.vt->begin(e.st.impl, 0, sq_begun, &b), 0);
    sq_wait(&e, &b);
    sq_res r = {0};
    plt_value one[] = {PLT_V_I64(1)};
    assert_int_equal(
        sq_exec(&e, b.txn, "INSERT INTO log (n) VALUES ($1)", one, 1, 0, &r),
        0);
    /* Queued work finishes before the engine stops. */
    static sq_res q[50];
    memset(q, 0, sizeof(q));
    for (int i = 0; i < 50; i++) {
        plt_value a[] = {PLT_V_I64(100 + i)};
        assert_int_equal(
            e.st.vt->query(e.st.impl, NULL, "INSERT INTO log (n) VALUES ($1)",
                           a, 1, PLT_STORAGE_WRITE, sq_row, sq_done, &q[i]),
            0);
    }
    assert_int_equal(plt_fake_host_stop(e.fh), 0);
    for (int i = 0; i < 50; i++) {
        assert_true(q[i].done);
        assert_int_equal(q[i].status, 0);
    }
    assert_true(plt_fake_host_log_count(e.fh, PLT_LOG_WARN, "rolling back") >=
                1);
    assert_int_equal(e.st.vt->query(e.st.impl, NULL, "SELECT 1", NULL, 0, 0,
                                    sq_row, sq_done, &r),
                     PLT_ESHUTDOWN);
    assert_int_equal(plt_fake_host_free(e.fh), 0);
    e.fh = NULL;
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log"), 50);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log WHERE n = 1"), 0);
    /* The WAL was checkpointed away by the last connection. */
    char wal[400];
    snprintf(wal, sizeof(wal), "%s-wal", e.path);
    struct stat sb;
    assert_int_not_equal(stat(wal, &sb), 0);
    sq_rmdir(&e);
}

/* ------------------------------------------------------------------ */
/* Streaming */

static long
rss_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0)
            v = strtol(line + n, NULL, 10);
    fclose(f);
    return v;
}

static bool
asan_build(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

static const char million[] =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < $1) SELECT x, printf('%0100d', x) FROM c";

static void
test_million_rows_stream_in_bounded_memory(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    long rss0 = rss_kb("VmRSS:");
    sq_res r = {0};
    plt_value a[] = {PLT_V_I64(1000000)};
    assert_int_equal(sq_exec(&e, NULL, million, a, 1, 0, &r), 0);
    assert_int_equal(r.rows, 1000000);
    assert_int_equal(r.seen, 1000000);
    assert_int_equal(r.first_i64, 1000000); /* last row, in order */
    stq_diag d = sq_diag(&e);
    long rss1 = rss_kb("VmRSS:");
    printf("# 1,000,000 rows (~110 MB of values) in %llu batches; at most "
           "%u outstanding; RSS %ld -> %ld kB (%+ld kB)\n",
           (unsigned long long)d.batches, d.peak_outstanding, rss0, rss1,
           rss1 - rss0);
    /* The engine never had more than two batches waiting for the loop:
     * the result was never in memory whole. */
    assert_true(d.peak_outstanding >= 1);
    /* RSS too, unless AddressSanitizer keeps freed memory in its
     * quarantine (CMake sets ASAN_OPTIONS=quarantine_size_mb=1 for this
     * test; by hand, RSS is only printed). */
    const char *asan = getenv("ASAN_OPTIONS");
    bool quarantine = asan_build() && !(asan && strstr(asan, "quarantine"));
    if (!quarantine)
        assert_true(rss1 - rss0 < 48L * 1024);
    assert_true(d.peak_outstanding <= STQ_MAX_OUTSTANDING);
    assert_true(d.batches >= 1000000 / STQ_BATCH_ROWS);
    done_base(&e);
}

static void
test_row_callback_stop_cancels(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res r = {.stop_after = 1000};
    plt_value a[] = {PLT_V_I64(1000000)};
    assert_int_equal(sq_exec(&e, NULL, million, a, 1, 0, &r), PLT_ECANCELED);
    assert_int_equal(r.rows, 1000);
    assert_int_equal(r.seen, 1000);
    /* The reader stopped early: a few batches, not 4000. */
    assert_true(sq_diag(&e).batches < 20);
    /* ... and is free for the next statement. */
    r = (sq_res){0};
    assert_int_equal(sq_exec(&e, NULL, "SELECT 42", NULL, 0, 0, &r), 0);
    assert_int_equal(r.first_i64, 42);
    done_base(&e);
}

static void
test_returning_streams_and_cancel_undoes(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res r = {0};
    plt_value a[] = {PLT_V_I64(3000)};
    const char *ins = "INSERT INTO log (n, note) WITH RECURSIVE c(x) AS "
                      "(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < "
                      "$1) SELECT x, 'r' FROM c RETURNING n";
    assert_int_equal(sq_exec(&e, NULL, ins, a, 1, PLT_STORAGE_WRITE, &r), 0);
    assert_int_equal(r.rows, 3000);
    assert_int_equal(r.rows_affected, 3000);
    /* A row callback that stops a writing statement undoes it. */
    r = (sq_res){.stop_after = 10};
    assert_int_equal(sq_exec(&e, NULL,
                             "UPDATE log SET note = 'changed' RETURNING n",
                             NULL, 0, PLT_STORAGE_WRITE, &r),
                     PLT_ECANCELED);
    assert_int_equal(r.rows, 10);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log WHERE note = "
                                  "'changed'"),
                     0);
    done_base(&e);
}

static int
slow_row(void *arg, const plt_storage_row *row)
{
    (void)row;
    (*(int64_t *)arg)++;
    return 0;
}

static void
never_done(void *arg, int status, const plt_storage_result *res)
{
    (void)status;
    (void)res;
    *(bool *)arg = true;
}

static void
test_forced_stop_after_deadline_is_safe(void **state)
{
    (void)state;
    static sq_env e;
    e = (sq_env){0};
    sq_mkdir(&e);
    /* Real clock and a 1 ms stop deadline: the engine cannot drain a
     * million rows in time, so fini() stops its threads by force while
     * results are still queued in the host. Nothing may crash or leak,
     * and no callback may run after fini(). */
    plt_fake_options o = {
        .data_dir = e.dir, .real_clock = 1, .stop_timeout_ms = 1};
    assert_int_equal(plt_fake_host_new(&e.fh, &o), 0);
    char so[512];
    snprintf(so, sizeof(so), "%s/storage_sqlite.so",
             getenv("PLATEAU_PLUGIN_DIR"));
    assert_int_equal(plt_fake_host_add_so(e.fh, so, NULL, NULL), 0);
    assert_int_equal(plt_fake_host_init(e.fh), 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(e.fh, "storage", 1, 0, &ref), 0);
    assert_int_equal(plt_fake_host_start(e.fh), 0);
    const plt_storage_vt *vt = ref.vtable;
    static int64_t rows;
    static bool done;
    rows = 0;
    done = false;
    plt_value a[] = {PLT_V_I64(1000000)};
    assert_int_equal(vt->query(ref.impl, NULL, million, a, 1, 0, slow_row,
                               never_done, &rows),
                     0);
    (void)done;
    for (int i = 0; i < 1000 && rows == 0; i++)
        plt_fake_host_run_for(e.fh, 10);
    assert_true(rows > 0);
    assert_int_equal(plt_fake_host_stop(e.fh), PLT_ETIMEDOUT);
    int64_t at_stop = rows;
    assert_int_equal(plt_fake_host_free(e.fh), 0);
    e.fh = NULL;
    printf("# forced stop after %lld of 1000000 rows\n", (long long)at_stop);
    assert_true(rows < 1000000);
    sq_rmdir(&e);
}

/* ------------------------------------------------------------------ */
/* Parameters and routing */

static void
test_parameters_bind_by_name_not_position(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res r = {0};
    plt_value a[] = {PLT_V_STR("first"), PLT_V_STR("second")};
    /* SQLite numbers $2 as parameter 1 here (first appearance). */
    assert_int_equal(sq_exec(&e, NULL, "SELECT $2 || '-' || $1", a, 2, 0, &r),
                     0);
    assert_string_equal(r.first_str, "second-first");
    plt_value b[] = {PLT_V_STR("note"), PLT_V_I64(77)};
    assert_int_equal(sq_exec(&e, NULL,
                             "INSERT INTO log (n, note) VALUES ($2, $1)", b, 2,
                             PLT_STORAGE_WRITE, &r),
                     0);
    assert_int_equal(sq_count(&e, "SELECT n FROM log WHERE note = 'note'"), 77);
    /* A parameter used twice, and one in a literal that is not one. */
    plt_value c[] = {PLT_V_I64(5)};
    assert_int_equal(sq_exec(&e, NULL, "SELECT $1 + $1, '$2'", c, 1, 0, &r), 0);
    assert_int_equal(r.first_i64, 10);
    done_base(&e);
}

/* Statements of thousands of parameters (multi-row INSERTs, IN lists) are
 * the bulk path: they must bind by number and in linear time, with the
 * same $N semantics as small ones (out of order, repeated, not inside
 * literals or comments). Named binding made this O(n^2): ~1 s for 20,000
 * parameters in a release build. */
static void
test_many_parameters_bind_exactly_and_fast(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    enum { ROWS = 15000 };
    size_t cap = (size_t)ROWS * 40 + 256;
    char *sql = malloc(cap);
    plt_value *a = malloc((size_t)ROWS * 2 * sizeof(*a));
    static char notes[ROWS][16];
    assert_non_null(sql);
    assert_non_null(a);
    /* Each row lists its note before its key: $2k+2 ahead of $2k+1. */
    size_t l = (size_t)snprintf(sql, cap,
                                "INSERT INTO log (note, n) /* $1 '$3 */ VALUES ");
    for (size_t i = 0; i < ROWS; i++) {
        snprintf(notes[i], sizeof(notes[i]), "note %zu", i);
        a[2 * i] = PLT_V_I64((int64_t)i + 1000);
        a[2 * i + 1] = PLT_V_STR(notes[i]);
        l += (size_t)snprintf(sql + l, cap - l, "%s($%zu, $%zu)",
                              i ? ", " : "", 2 * i + 2, 2 * i + 1);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sq_res r = {0};
    assert_int_equal(sq_exec(&e, NULL, sql, a, 2 * ROWS, PLT_STORAGE_WRITE, &r),
                     0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# %d-parameter INSERT in %.3f s\n", 2 * ROWS, secs);
    /* No time limit here (timings belong in bench/): the quadratic
     * binding this guards against took minutes under ASan, so it would
     * exceed the test's CTest timeout instead. */
    assert_int_equal(r.rows_affected, ROWS);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log WHERE note = "
                                  "'note ' || (n - 1000)"),
                     ROWS);
    /* Repeated and out-of-order parameters in a literal-laden text. */
    plt_value b[] = {PLT_V_STR("a"), PLT_V_STR("b"), PLT_V_STR("c")};
    r = (sq_res){0};
    assert_int_equal(sq_exec(&e, NULL,
                             "SELECT $3 || $1 || '$2' || \"$1\".x || $2 || $3"
                             " FROM (SELECT 'q' AS x) AS \"$1\" -- $9",
                             b, 3, 0, &r),
                     0);
    assert_string_equal(r.first_str, "ca$2qbc");
    /* Other parameter forms are still refused, also in big statements. */
    r = (sq_res){0};
    assert_int_equal(sq_exec(&e, NULL, "SELECT $1, :x", b, 1, 0, &r),
                     PLT_EINVAL);
    assert_non_null(strstr(r.err, "$N"));
    r = (sq_res){0};
    assert_int_equal(sq_exec(&e, NULL, "SELECT ?, $1", b, 1, 0, &r),
                     PLT_EINVAL);
    assert_non_null(strstr(r.err, "$N"));
    free(sql);
    free(a);
    done_base(&e);
}

/* A consumer may queue several statements on a transaction before the
 * first reports (add_batch pipelines its INSERTs): they run in order,
 * report in order with their own results, and a failing one fails alone
 * without ending the transaction. */
static void
test_txn_queued_statements_report_in_order(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res b = {0};
    assert_int_equal(e.st.vt->begin(e.st.impl, 0, sq_begun, &b), 0);
    sq_wait(&e, &b);
    assert_int_equal(b.status, 0);
    plt_storage_txn *t = b.txn;
    enum { N = 6 };
    static sq_res r[N];
    memset(r, 0, sizeof(r));
    plt_value v1[] = {PLT_V_I64(1)}, v2[] = {PLT_V_I64(2)};
    const char *ins = "INSERT INTO log (n, note) VALUES ($1, 'x')";
    assert_int_equal(e.st.vt->query(e.st.impl, t, ins, v1, 1, PLT_STORAGE_WRITE,
                                    NULL, sq_done, &r[0]),
                     0);
    /* Fails (duplicate key), alone. */
    assert_int_equal(e.st.vt->query(e.st.impl, t, ins, v1, 1, PLT_STORAGE_WRITE,
                                    NULL, sq_done, &r[1]),
                     0);
    assert_int_equal(e.st.vt->query(e.st.impl, t,
                                    "INSERT INTO log (n, note) VALUES ($1, 'y')"
                                    " RETURNING n",
                                    v2, 1, PLT_STORAGE_WRITE, sq_row, sq_done,
                                    &r[2]),
                     0);
    assert_int_equal(e.st.vt->query(e.st.impl, t, "SELECT count(*) FROM log",
                                    NULL, 0, 0, sq_row, sq_done, &r[3]),
                     0);
    assert_int_equal(e.st.vt->query(e.st.impl, t, "SELEC 1", NULL, 0, 0, NULL,
                                    sq_done, &r[4]),
                     0);
    assert_int_equal(e.st.vt->query(e.st.impl, t,
                                    "UPDATE log SET note = 'z' WHERE n = 2",
                                    NULL, 0, PLT_STORAGE_WRITE, NULL, sq_done,
                                    &r[5]),
                     0);
    sq_wait(&e, &r[N - 1]);
    for (int i = 0; i < N; i++) {
        assert_true(r[i].done);
        if (i > 0)
            assert_true(r[i].seq > r[i - 1].seq);
    }
    assert_int_equal(r[0].status, 0);
    assert_int_equal(r[1].status, PLT_ECONFLICT);
    assert_string_equal(r[1].sqlstate, "23505");
    assert_int_equal(r[2].status, 0);
    assert_int_equal(r[2].first_i64, 2);
    assert_int_equal(r[3].status, 0);
    assert_int_equal(r[3].first_i64, 2);
    assert_int_equal(r[4].status, PLT_EINVAL);
    assert_int_equal(r[5].status, 0);
    assert_int_equal(r[5].rows_affected, 1);
    sq_res c = {0};
    assert_int_equal(e.st.vt->commit(e.st.impl, t, sq_done, &c), 0);
    sq_wait(&e, &c);
    assert_int_equal(c.status, 0);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log"), 2);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log WHERE n = 2 AND "
                                  "note = 'z'"),
                     1);
    done_base(&e);
}

static void
test_wrong_parameter_count_and_bad_sql(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res r = {0};
    plt_value a[] = {PLT_V_I64(1)};
    assert_int_equal(sq_exec(&e, NULL, "SELECT $1, $2", a, 1, 0, &r),
                     PLT_EINVAL);
    assert_non_null(strstr(r.err, "parameter count"));
    assert_int_equal(sq_exec(&e, NULL, "SELECT 1", a, 1, 0, &r), PLT_EINVAL);
    assert_int_equal(sq_exec(&e, NULL, "SELECT ?", NULL, 0, 0, &r), PLT_EINVAL);
    assert_non_null(strstr(r.err, "$N"));
    assert_int_equal(sq_exec(&e, NULL, "SELEC 1", NULL, 0, 0, &r), PLT_EINVAL);
    assert_non_null(strstr(r.err, "syntax"));
    assert_int_equal(sq_exec(&e, NULL, "SELECT nope FROM log", NULL, 0, 0, &r),
                     PLT_EINVAL);
    assert_int_equal(sq_exec(&e, NULL, "SELECT 1; SELECT 2", NULL, 0, 0, &r),
                     PLT_EINVAL);
    assert_int_equal(sq_exec(&e, NULL, "BEGIN", NULL, 0, 0, &r), PLT_EINVAL);
    assert_int_equal(sq_exec(&e, NULL, "  ", NULL, 0, 0, &r), PLT_EINVAL);
    /* Refused before anything is queued: no callback then. */
    assert_int_equal(
        e.st.vt->query(e.st.impl, NULL, NULL, NULL, 0, 0, NULL, sq_done, &r),
        PLT_EINVAL);
    assert_int_equal(
        e.st.vt->query(e.st.impl, NULL, "SELECT 1", NULL, 0, 0, NULL, NULL, &r),
        PLT_EINVAL);
    plt_storage_txn *bogus = (plt_storage_txn *)&r;
    assert_int_equal(e.st.vt->query(e.st.impl, bogus, "SELECT 1", NULL, 0, 0,
                                    NULL, sq_done, &r),
                     PLT_EINVAL);
    /* Run-time errors are counted. */
    plt_storage_status st = {.size = sizeof(st)};
    e.st.vt->status(e.st.impl, &st);
    assert_true(st.failed >= 8);
    done_base(&e);
}

static void
test_write_without_flag_is_rerouted(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    sq_res r = {0};
    plt_value a[] = {PLT_V_I64(5), PLT_V_STR("routed")};
    assert_int_equal(sq_exec(&e, NULL,
                             "INSERT INTO log (n, note) VALUES ($1, $2)", a, 2,
                             0, &r),
                     0);
    assert_int_equal(r.rows_affected, 1);
    assert_int_equal(sq_diag(&e).rerouted, 1);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM log"), 1);
    /* FOR UPDATE SKIP LOCKED (for PostgreSQL) is dropped on SQLite. */
    plt_value b[] = {PLT_V_STR("taken")};
    assert_int_equal(sq_exec(&e, NULL,
                             "UPDATE log SET note = $1 WHERE n IN (SELECT n "
                             "FROM log ORDER BY n LIMIT 1 FOR UPDATE SKIP "
                             "LOCKED) RETURNING n",
                             b, 1, 0, &r),
                     0);
    assert_int_equal(r.first_i64, 5);
    assert_int_equal(sq_diag(&e).rerouted, 2);
    done_base(&e);
}

/* ------------------------------------------------------------------ */
/* LISTEN / NOTIFY */

typedef struct heard {
    int n;
    char payload[64];
    bool in_notify;
    bool inside;
} heard;

static void
on_heard(void *arg, const char *channel, const char *payload)
{
    heard *h = arg;
    assert_string_equal(channel, "lead_changed");
    if (h->in_notify)
        h->inside = true;
    h->n++;
    snprintf(h->payload, sizeof(h->payload), "%s", payload);
}

static void
test_listen_notify_in_process(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    open_base(&e, NULL);
    heard h = {0}, other = {0};
    plt_storage_listener *l = NULL, *l2 = NULL;
    assert_int_equal(
        e.st.vt->listen(e.st.impl, "lead_changed", on_heard, &h, &l), 0);
    assert_int_equal(e.st.vt->listen(e.st.impl, "other", on_heard, &other, &l2),
                     0);
    assert_int_equal(e.st.vt->listen(e.st.impl, "Bad-Name", on_heard, &h, &l2),
                     PLT_EINVAL);
    sq_res d = {0};
    h.in_notify = true;
    assert_int_equal(
        e.st.vt->notify(e.st.impl, "lead_changed", "42", sq_done, &d), 0);
    h.in_notify = false;
    assert_int_equal(h.n, 0); /* asynchronous */
    sq_wait(&e, &d);
    assert_int_equal(d.status, 0);
    assert_int_equal(h.n, 1);
    assert_false(h.inside);
    assert_string_equal(h.payload, "42");
    assert_int_equal(other.n, 0);
    char big[8001];
    memset(big, 'x', 8000);
    big[8000] = '\0';
    assert_int_equal(
        e.st.vt->notify(e.st.impl, "lead_changed", big, NULL, NULL),
        PLT_EINVAL);
    e.st.vt->unlisten(e.st.impl, l);
    assert_int_equal(
        e.st.vt->notify(e.st.impl, "lead_changed", "43", NULL, NULL), 0);
    plt_fake_host_run_until_idle(e.fh);
    assert_int_equal(h.n, 1);
    done_base(&e);
}

/* ------------------------------------------------------------------ */
/* Schema versions and bad files */

static const plt_storage_migration five[] = {
    {.version = 1, .name = "one", .sql = "CREATE TABLE a (id PLT_ID)"},
    {.version = 2, .name = "two", .sql = "CREATE TABLE b (id PLT_ID)"},
    {.version = 3, .name = "add dnc", .sql = "CREATE TABLE c (id PLT_ID)"},
    {.version = 4,
     .name = "four",
     .sqlite = "CREATE TABLE d (j PLT_JSON)",
     .pg = "not for sqlite"},
    {.version = 5, .name = "five", .sql = "CREATE INDEX d_j ON d (j)"},
};

static void
test_migrations_resume_and_check_reports_pending(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    sq_mkdir(&e);
    assert_int_equal(sq_open(&e, NULL, "leads", five, 2), 0);
    sq_close(&e);
    /* `plateau check` with newer code: says what start will do. */
    plt_fake_options o = {.data_dir = e.dir};
    assert_int_equal(plt_fake_host_new(&e.fh, &o), 0);
    char so[512];
    snprintf(so, sizeof(so), "%s/storage_sqlite.so",
             getenv("PLATEAU_PLUGIN_DIR"));
    assert_int_equal(plt_fake_host_add_so(e.fh, so, NULL, NULL), 0);
    assert_int_equal(plt_fake_host_init(e.fh), 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(e.fh, "storage", 1, 0, &ref), 0);
    const plt_storage_vt *vt = ref.vtable;
    assert_int_equal(vt->migrations(ref.impl, "leads", five, 5), 0);
    assert_int_equal(vt->migrations(ref.impl, "leads", five, 5), PLT_EEXIST);
    assert_int_equal(plt_fake_host_check(e.fh), 0);
    const char *line =
        plt_fake_host_log_last(e.fh, PLT_LOG_NOTICE, "pending", NULL, NULL);
    assert_non_null(line);
    assert_non_null(strstr(line, "3 migration(s) pending: 3 (add dnc), "
                                 "4 (four), 5 (five)"));
    /* check() changed nothing. */
    assert_int_equal(sq_count(&e, "SELECT version FROM plt_schema"), 2);
    assert_int_equal(plt_fake_host_start(e.fh), 0);
    assert_int_equal(vt->migrations(ref.impl, "late", five, 1), PLT_ESTATE);
    assert_int_equal(plt_fake_host_stop(e.fh), 0);
    assert_int_equal(plt_fake_host_free(e.fh), 0);
    e.fh = NULL;
    assert_int_equal(sq_count(&e, "SELECT version FROM plt_schema"), 5);
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM sqlite_schema WHERE "
                                  "name IN ('a','b','c','d','d_j')"),
                     5);
    sq_rmdir(&e);
}

static void
test_check_on_missing_file_then_db_status(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    sq_mkdir(&e);
    plt_fake_options o = {.data_dir = e.dir};
    assert_int_equal(plt_fake_host_new(&e.fh, &o), 0);
    char so[512];
    snprintf(so, sizeof(so), "%s/storage_sqlite.so",
             getenv("PLATEAU_PLUGIN_DIR"));
    plt_plugin *p = NULL;
    assert_int_equal(plt_fake_host_add_so(e.fh, so, NULL, &p), 0);
    assert_int_equal(plt_fake_host_init(e.fh), 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(e.fh, "storage", 1, 0, &ref), 0);
    e.st.vt = ref.vtable;
    e.st.impl = ref.impl;
    e.x = (const stq_vt_ext *)ref.vtable;
    assert_int_equal(e.st.vt->migrations(e.st.impl, "leads", five, 2), 0);
    /* No file yet: fine, it will be created; nothing is created now. */
    assert_int_equal(plt_fake_host_check(e.fh), 0);
    assert_non_null(plt_fake_host_log_last(e.fh, PLT_LOG_NOTICE,
                                           "will be created", NULL, NULL));
    assert_non_null(plt_fake_host_log_last(e.fh, PLT_LOG_NOTICE,
                                           "2 migration(s) pending: 1 (one), "
                                           "2 (two)",
                                           NULL, NULL));
    struct stat sb;
    assert_int_not_equal(stat(e.path, &sb), 0);
    assert_int_equal(plt_fake_host_start(e.fh), 0);
    assert_non_null(plt_fake_host_log_last(
        e.fh, PLT_LOG_NOTICE, "migrated from version 0 to 2", NULL, NULL));

    /* plateau db status */
    int status = -1;
    char *args[] = {"status"};
    assert_int_equal(plt_fake_host_command(e.fh, p, "db", 1, args, &status), 0);
    assert_int_equal(status, 0);
    char *bad[] = {"drop"};
    assert_int_equal(plt_fake_host_command(e.fh, p, "db", 1, bad, &status), 0);
    assert_int_equal(status, 2);

    /* After writes, the idle writer checkpoints on its own thread. */
    sq_res r = {0};
    plt_value a[] = {PLT_V_I64(1)};
    assert_int_equal(sq_exec(&e, NULL, "INSERT INTO a (id) VALUES ($1)", a, 1,
                             PLT_STORAGE_WRITE, &r),
                     0);
    for (int i = 0; i < 100 && sq_diag(&e).checkpoints == 0; i++)
        usleep(20000);
    assert_true(sq_diag(&e).checkpoints >= 1);
    sq_close(&e);
    sq_rmdir(&e);
}

static void
test_too_new_schema_is_refused(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    sq_mkdir(&e);
    assert_int_equal(sq_open(&e, NULL, "leads", five, 5), 0);
    sq_close(&e);
    int rc = sq_open(&e, NULL, "leads", five, 3);
    assert_int_equal(rc, PLT_ESCHEMA);
    const char *err = plt_fake_host_last_error(e.fh);
    assert_non_null(strstr(err, "database schema of 'leads' is at version 5, "
                                "newer than this Plateau knows (3): upgrade "
                                "Plateau or restore a matching backup"));
    assert_int_equal(plt_fake_host_free(e.fh), 0);
    e.fh = NULL;
    /* Refused before any change. */
    assert_int_equal(sq_count(&e, "SELECT version FROM plt_schema"), 5);
    sq_rmdir(&e);
}

static void
test_failing_migration_leaves_owner_untouched(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    sq_mkdir(&e);
    const plt_storage_migration bad[] = {
        {.version = 1, .name = "ok", .sql = "CREATE TABLE z (id PLT_ID)"},
        {.version = 2, .name = "typo", .sql = "CRATE TABLE y (id INT)"},
    };
    int rc = sq_open(&e, NULL, "leads", bad, 2);
    assert_int_not_equal(rc, 0);
    const char *err = plt_fake_host_last_error(e.fh);
    assert_non_null(strstr(err, "migration 2 (typo) of 'leads' failed"));
    assert_non_null(strstr(err, e.path));
    assert_int_equal(plt_fake_host_free(e.fh), 0);
    e.fh = NULL;
    /* One transaction per owner: version 1 was not kept either. */
    assert_int_equal(sq_count(&e, "SELECT count(*) FROM sqlite_schema WHERE "
                                  "name = 'z'"),
                     0);
    sq_rmdir(&e);
}

static void
test_corrupt_file_gives_one_clear_error(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    sq_mkdir(&e);
    FILE *f = fopen(e.path, "w");
    assert_non_null(f);
    for (int i = 0; i < 400; i++)
        fputs("this is certainly not a SQLite database file\n", f);
    fclose(f);
    int rc = sq_open(&e, NULL, NULL, NULL, 0);
    assert_int_equal(rc, PLT_EDB);
    const char *err = plt_fake_host_last_error(e.fh);
    printf("# %s\n", err);
    assert_non_null(strstr(err, "SQLite"));
    assert_non_null(strstr(err, e.path));
    assert_non_null(strstr(err, "not a database"));
    assert_int_equal(plt_fake_host_free(e.fh), 0);
    e.fh = NULL;

    /* `plateau check` says the same without starting. */
    plt_fake_options o = {.data_dir = e.dir};
    assert_int_equal(plt_fake_host_new(&e.fh, &o), 0);
    char so[512];
    snprintf(so, sizeof(so), "%s/storage_sqlite.so",
             getenv("PLATEAU_PLUGIN_DIR"));
    assert_int_equal(plt_fake_host_add_so(e.fh, so, NULL, NULL), 0);
    assert_int_equal(plt_fake_host_init(e.fh), 0);
    assert_int_equal(plt_fake_host_check(e.fh), PLT_EDB);
    assert_non_null(strstr(plt_fake_host_last_error(e.fh), e.path));
    assert_int_equal(plt_fake_host_free(e.fh), 0);
    e.fh = NULL;
    sq_rmdir(&e);
}

static void
test_unwritable_directory_gives_one_clear_error(void **state)
{
    (void)state;
    /* Static: the teardown still finds it after a failed assertion. */
    static sq_env e;
    e = (sq_env){0};
    sq_mkdir(&e);
    /* A regular file where the directory should be: fails for root too
     * (permissions alone would not stop root). */
    char blocker[400], yaml[600];
    snprintf(blocker, sizeof(blocker), "%s/blocker", e.dir);
    FILE *f = fopen(blocker, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(yaml, sizeof(yaml), "file: %s/sub/plateau.db\n", blocker);
    int rc = sq_open(&e, yaml, NULL, NULL, 0);
    assert_true(rc < 0);
    const char *err = plt_fake_host_last_error(e.fh);
    printf("# %s\n", err);
    assert_non_null(strstr(err, "SQLite"));
    assert_non_null(strstr(err, "blocker/sub/plateau.db"));
    assert_non_null(strstr(err, "Not a directory"));
    assert_int_equal(plt_fake_host_free(e.fh), 0);
    e.fh = NULL;

    if (geteuid() != 0) {
        /* A directory without write permission. */
        char ro[400];
        snprintf(ro, sizeof(ro), "%s/ro", e.dir);
        assert_int_equal(mkdir(ro, 0500), 0);
        snprintf(yaml, sizeof(yaml), "file: %s/plateau.db\n", ro);
        rc = sq_open(&e, yaml, NULL, NULL, 0);
        assert_true(rc < 0);
        err = plt_fake_host_last_error(e.fh);
        printf("# %s\n", err);
        assert_non_null(strstr(err, ro));
        assert_int_equal(plt_fake_host_free(e.fh), 0);
        e.fh = NULL;
        chmod(ro, 0700);
    }
    sq_rmdir(&e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_migrations_types_and_values,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_row_values_are_typed, sq_teardown),
        cmocka_unit_test_teardown(test_group_commit_acknowledges_after_commit,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_failing_statement_fails_alone,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_durable_write_commits_full, sq_teardown),
        cmocka_unit_test_teardown(
            test_disk_full_at_run_time_is_an_error_not_a_crash, sq_teardown),
        cmocka_unit_test_teardown(test_page_cache_and_checkpoint_settings,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_txn_isolation_and_order, sq_teardown),
        cmocka_unit_test_teardown(test_txn_timeout, sq_teardown),
        cmocka_unit_test_teardown(test_txn_left_open_at_stop_is_rolled_back,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_million_rows_stream_in_bounded_memory,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_row_callback_stop_cancels, sq_teardown),
        cmocka_unit_test_teardown(test_forced_stop_after_deadline_is_safe,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_returning_streams_and_cancel_undoes,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_parameters_bind_by_name_not_position,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_many_parameters_bind_exactly_and_fast,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_txn_queued_statements_report_in_order,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_wrong_parameter_count_and_bad_sql,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_write_without_flag_is_rerouted,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_listen_notify_in_process, sq_teardown),
        cmocka_unit_test_teardown(
            test_migrations_resume_and_check_reports_pending, sq_teardown),
        cmocka_unit_test_teardown(test_check_on_missing_file_then_db_status,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_too_new_schema_is_refused, sq_teardown),
        cmocka_unit_test_teardown(test_failing_migration_leaves_owner_untouched,
                                  sq_teardown),
        cmocka_unit_test_teardown(test_corrupt_file_gives_one_clear_error,
                                  sq_teardown),
        cmocka_unit_test_teardown(
            test_unwritable_directory_gives_one_clear_error, sq_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
