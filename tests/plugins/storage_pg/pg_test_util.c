/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the storage_pg integration tests (see pg_test_util.h): the
 * harness's conninfo.env, the plugin's YAML section, a fake host with the
 * built storage_pg.so, and synchronous wrappers around the asynchronous
 * storage calls. The fake host has no "run until this callback came" call,
 * so pgt_wait() turns the loop itself (UV_RUN_ONCE) with a guard timer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pg_test_util.h"

int
pgt_env_load(pgt_env *e)
{
    memset(e, 0, sizeof(*e));
    const char *dir = getenv("PLATEAU_PG_DIR");
    const char *sh = getenv("PLATEAU_PG_SH");
    if (!dir || !sh) {
        fprintf(stderr, "PLATEAU_PG_DIR and PLATEAU_PG_SH must be set (run "
                        "through ctest: the pg fixture starts the server)\n");
        return -1;
    }
    snprintf(e->dir, sizeof(e->dir), "%s", dir);
    snprintf(e->sh, sizeof(e->sh), "%s", sh);
    char path[600];
    snprintf(path, sizeof(path), "%s/conninfo.env", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot read %s: is the pg fixture up?\n", path);
        return -1;
    }
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(line, "PGHOST") == 0)
            snprintf(e->host, sizeof(e->host), "%s", v);
        else if (strcmp(line, "PGPORT") == 0)
            e->port = atoi(v);
        else if (strcmp(line, "PGUSER") == 0)
            snprintf(e->user, sizeof(e->user), "%s", v);
        else if (strcmp(line, "PGPASSWORD") == 0)
            snprintf(e->password, sizeof(e->password), "%s", v);
        else if (strcmp(line, "PGDATABASE") == 0)
            snprintf(e->dbname, sizeof(e->dbname), "%s", v);
    }
    fclose(f);
    if (!e->host[0] || !e->port || !e->user[0] || !e->dbname[0]) {
        fprintf(stderr, "%s is incomplete\n", path);
        return -1;
    }
    setenv("PLATEAU_TEST_PGPASSWORD", e->password, 1);
    return 0;
}

char *
pgt_yaml(const pgt_env *e, const char *extra)
{
    char *s = NULL;
    int n = asprintf(&s,
                     "host: %s\nport: %d\ndbname: %s\nuser: %s\n"
                     "password: ${PLATEAU_TEST_PGPASSWORD}\n%s",
                     e->host, e->port, e->dbname, e->user, extra ? extra : "");
    assert_true(n > 0);
    return s;
}

uint64_t
pgt_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

plt_fake_host *
pgt_host(const char *yaml, bool simulated, plt_storage *st)
{
    plt_fake_options opt = {.real_clock = simulated ? 0 : 1,
                            .log_level = PLT_LOG_DEBUG,
                            .stop_timeout_ms = 15000};
    plt_fake_host *fh = NULL;
    if (plt_fake_host_new(&fh, &opt) != 0) {
        fprintf(stderr, "plt_fake_host_new failed\n");
        return NULL;
    }
    char so[1024];
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    snprintf(so, sizeof(so), "%s/storage_pg.so", dir ? dir : ".");
    int rc = plt_fake_host_add_so(fh, so, yaml, NULL);
    if (rc == 0)
        rc = plt_fake_host_init(fh);
    plt_service_ref ref;
    if (rc == 0)
        rc = plt_fake_host_acquire(fh, PLT_STORAGE_NAME, PLT_STORAGE_MAJOR,
                                   PLT_STORAGE_MINOR, &ref);
    if (rc != 0) {
        fprintf(stderr, "storage_pg: %s\n", plt_fake_host_last_error(fh));
        plt_fake_host_free(fh);
        return NULL;
    }
    st->vt = ref.vtable;
    st->impl = ref.impl;
    return fh;
}

static void
guard_fired(uv_timer_t *t)
{
    (void)t;
}

bool
pgt_wait(plt_fake_host *fh, const bool *flag, uint64_t ms)
{
    uv_loop_t *loop = plt_fake_host_loop(fh);
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uint64_t end = pgt_ms() + ms;
    while (!(flag && *flag)) {
        uint64_t now = pgt_ms();
        if (now >= end)
            break;
        /* Wakes the loop at the deadline even when nothing else happens.
         * Re-armed every turn, from a fresh loop time: armed once from a
         * stale one it fires early, and the next turn would then sleep
         * until some unrelated timer. */
        uv_update_time(loop);
        uv_timer_start(&guard, guard_fired, end - now, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return flag && *flag;
}

void
pgt_spin(plt_fake_host *fh, uint64_t ms)
{
    pgt_wait(fh, NULL, ms);
}

void
pgt_res_free(pgt_res *r)
{
    free(r->ints);
    memset(r, 0, sizeof(*r));
}

int
pgt_on_row(void *arg, const plt_storage_row *row)
{
    pgt_res *r = arg;
    if (row->ncols > 0 && row->vals[0].type == PLT_T_I64) {
        if (r->nints == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 64;
            int64_t *v = realloc(r->ints, cap * sizeof(*v));
            assert_non_null(v);
            r->ints = v;
            r->cap = cap;
        }
        r->ints[r->nints++] = row->vals[0].v.i;
    }
    if (r->stop_after > 0 && (long)r->nints >= r->stop_after)
        return 1;
    return 0;
}

void
pgt_on_done(void *arg, int status, const plt_storage_result *res)
{
    pgt_res *r = arg;
    r->done = true;
    r->status = status;
    r->rows = res ? res->rows : 0;
    r->affected = res ? res->rows_affected : 0;
    if (res && res->error)
        snprintf(r->error, sizeof(r->error), "%s", res->error);
    if (res && res->sqlstate)
        snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", res->sqlstate);
}

int
pgt_exec(plt_fake_host *fh, const plt_storage *st, plt_storage_txn *txn,
         const char *sql, const plt_value *args, size_t n, pgt_res *out)
{
    pgt_res local = {0};
    pgt_res *r = out ? out : &local;
    long stop = r->stop_after;
    pgt_res_free(r);
    r->stop_after = stop;
    int rc = st->vt->query(st->impl, txn, sql, args, n, 0, pgt_on_row,
                           pgt_on_done, r);
    if (rc != 0) {
        pgt_res_free(&local);
        return rc;
    }
    if (!pgt_wait(fh, &r->done, 30000))
        fail_msg("no completion within 30 s for: %s", sql);
    rc = r->status;
    pgt_res_free(&local);
    return rc;
}

void
pgt_ok(plt_fake_host *fh, const plt_storage *st, const char *sql,
       const plt_value *args, size_t n)
{
    pgt_res r = {0};
    int rc = pgt_exec(fh, st, NULL, sql, args, n, &r);
    if (rc != 0)
        fail_msg("%s: %d %s", sql, rc, r.error);
    pgt_res_free(&r);
}

typedef struct begin_wait {
    bool done;
    int status;
    plt_storage_txn *txn;
} begin_wait;

static void
on_begin(void *arg, int status, plt_storage_txn *txn)
{
    begin_wait *b = arg;
    b->done = true;
    b->status = status;
    b->txn = txn;
}

int
pgt_begin(plt_fake_host *fh, const plt_storage *st, plt_storage_txn **txn)
{
    begin_wait b = {0};
    int rc = st->vt->begin(st->impl, 0, on_begin, &b);
    if (rc != 0)
        return rc;
    if (!pgt_wait(fh, &b.done, 30000))
        fail_msg("begin: no completion within 30 s");
    *txn = b.txn;
    return b.status;
}

int
pgt_end(plt_fake_host *fh, const plt_storage *st, plt_storage_txn *txn,
        bool commit, pgt_res *out)
{
    pgt_res local = {0};
    pgt_res *r = out ? out : &local;
    pgt_res_free(r);
    int rc = commit ? st->vt->commit(st->impl, txn, pgt_on_done, r)
                    : st->vt->rollback(st->impl, txn, pgt_on_done, r);
    if (rc != 0)
        return rc;
    if (!pgt_wait(fh, &r->done, 30000))
        fail_msg("commit/rollback: no completion within 30 s");
    return r->status;
}

int
pgt_harness(const pgt_env *e, const char *cmd)
{
    char buf[1200];
    snprintf(buf, sizeof(buf), "bash '%s' %s '%s'", e->sh, cmd, e->dir);
    int st = system(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
