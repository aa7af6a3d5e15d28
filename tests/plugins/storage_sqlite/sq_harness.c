/* SPDX-License-Identifier: MIT */
/*
 * Test harness for storage_sqlite (see sq_harness.h).
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sq_harness.h"

static int seq_counter;
static sq_env *current; /* the env of the running test, for teardown */

int
sq_teardown(void **state)
{
    (void)state;
    if (current) {
        if (current->fh)
            plt_fake_host_free(current->fh);
        current->fh = NULL;
        sq_rmdir(current);
        current = NULL;
    }
    return 0;
}

void
sq_mkdir(sq_env *e)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(e->dir, sizeof(e->dir), "%s/sqtest.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(e->dir));
    current = e;
    snprintf(e->path, sizeof(e->path), "%s/plateau.db", e->dir);
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void
sq_rmdir(sq_env *e)
{
    if (e->dir[0])
        nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    e->dir[0] = '\0';
    if (current == e)
        current = NULL;
}

int
sq_open(sq_env *e, const char *yaml, const char *owner,
        const plt_storage_migration *m, size_t n)
{
    plt_fake_options o = {.data_dir = e->dir, .log_level = PLT_LOG_DEBUG};
    assert_int_equal(plt_fake_host_new(&e->fh, &o), 0);
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    assert_non_null(dir);
    char so[512];
    snprintf(so, sizeof(so), "%s/storage_sqlite.so", dir);
    int rc = plt_fake_host_add_so(e->fh, so, yaml, NULL);
    if (rc != 0)
        fprintf(stderr, "add_so: %s\n", plt_fake_host_last_error(e->fh));
    assert_int_equal(rc, 0);
    assert_int_equal(plt_fake_host_init(e->fh), 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(e->fh, PLT_STORAGE_NAME,
                                           PLT_STORAGE_MAJOR, PLT_STORAGE_MINOR,
                                           &ref),
                     0);
    e->st.vt = ref.vtable;
    e->st.impl = ref.impl;
    e->x = (const stq_vt_ext *)ref.vtable;
    assert_string_equal(e->st.vt->engine(e->st.impl), "sqlite");
    assert_int_equal(e->x->magic, STQ_DIAG_MAGIC);
    /* What a consumer does in its own init(). */
    if (owner)
        assert_int_equal(e->st.vt->migrations(e->st.impl, owner, m, n), 0);
    return plt_fake_host_start(e->fh);
}

void
sq_close(sq_env *e)
{
    if (!e->fh)
        return;
    assert_int_equal(plt_fake_host_stop(e->fh), 0);
    assert_int_equal(plt_fake_host_free(e->fh), 0);
    e->fh = NULL;
}

int
sq_row(void *arg, const plt_storage_row *row)
{
    sq_res *r = arg;
    if (r->in_call)
        r->called_inside = true;
    r->seen++;
    if (row->ncols > 0) {
        /* Copies only: a row is valid during the callback. */
        const plt_value *v = &row->vals[0];
        r->first_type = v->type;
        if (v->type == PLT_T_STR)
            snprintf(r->first_str, sizeof(r->first_str), "%s", v->v.s);
        else if (v->type == PLT_T_DOUBLE)
            r->first_d = v->v.d;
        else
            r->first_i64 = v->v.i;
    }
    if (r->stop_after && r->seen >= r->stop_after)
        return 1;
    return 0;
}

void
sq_done(void *arg, int status, const plt_storage_result *res)
{
    sq_res *r = arg;
    if (r->in_call)
        r->called_inside = true;
    assert_false(r->done); /* exactly once */
    r->done = true;
    r->status = status;
    r->seq = ++seq_counter;
    assert_non_null(res);
    r->rows_affected = res->rows_affected;
    r->rows = res->rows;
    if (status != 0) {
        assert_non_null(res->error);
        snprintf(r->err, sizeof(r->err), "%s", res->error);
    } else {
        assert_null(res->error);
    }
    if (res->sqlstate)
        snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", res->sqlstate);
}

void
sq_begun(void *arg, int status, plt_storage_txn *txn)
{
    sq_res *r = arg;
    if (r->in_call)
        r->called_inside = true;
    r->done = true;
    r->status = status;
    r->txn = txn;
    r->seq = ++seq_counter;
    if (status == 0)
        assert_non_null(txn);
    else
        assert_null(txn);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
sq_wait(sq_env *e, sq_res *r)
{
    double end = now_s() + 120;
    while (!r->done) {
        plt_fake_host_run_until_idle(e->fh);
        if (!r->done && now_s() > end)
            fail_msg("timed out waiting for a storage callback");
    }
}

int
sq_exec(sq_env *e, plt_storage_txn *txn, const char *sql, const plt_value *args,
        size_t nargs, uint32_t flags, sq_res *r)
{
    int64_t stop = r->stop_after;
    memset(r, 0, sizeof(*r));
    r->stop_after = stop;
    r->in_call = true;
    int rc = e->st.vt->query(e->st.impl, txn, sql, args, nargs, flags, sq_row,
                             sq_done, r);
    r->in_call = false;
    assert_false(r->called_inside); /* never inside the call */
    if (rc != 0)
        return rc;
    sq_wait(e, r);
    return r->status;
}

stq_diag
sq_diag(sq_env *e)
{
    stq_diag d;
    e->x->diag(e->st.impl, &d);
    return d;
}

int64_t
sq_count(sq_env *e, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(e->path, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}
