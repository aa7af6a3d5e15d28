/* SPDX-License-Identifier: MIT */
/*
 * Test harness for storage_sqlite: a fake host with the built
 * storage_sqlite.so, the acquired service, and helpers to wait for
 * results. The loop is driven with plt_fake_host_run_until_idle(), which
 * on the simulated clock returns once no work is declared in flight - the
 * engine declares every statement it runs (plt_work_begin/end).
 */
#ifndef SQ_HARNESS_H
#define SQ_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/storage.h>
#include <plateau/testing/fake_host.h>

#include "storage_sqlite_int.h"

typedef struct sq_env {
    plt_fake_host *fh;
    plt_storage st;
    const stq_vt_ext *x; /* the engine's diagnostics */
    char dir[256];       /* data directory, kept across hosts of a test */
    char path[300];      /* the database file */
} sq_env;

/* The outcome of one call, filled by the callbacks below. */
typedef struct sq_res {
    bool done;
    int status;
    int64_t rows_affected, rows;
    char err[512];
    char sqlstate[8];
    int seq;              /* global order in which done() ran */
    int64_t seen;         /* rows the row callback saw */
    int64_t stop_after;   /* row callback returns 1 at this row (0 never) */
    int first_type;       /* first column of the last row seen: */
    int64_t first_i64;    /* ... as an integer, */
    double first_d;       /* ... a real, */
    char first_str[256];  /* ... or text */
    plt_storage_txn *txn; /* begin() result */
    bool in_call;         /* set while the test is inside a vt call */
    bool called_inside;   /* a callback ran inside the call */
} sq_res;

/* Make a fresh data directory in e->dir (under $TMPDIR or /tmp). */
void sq_mkdir(sq_env *e);
/* Remove e->dir and everything in it. */
void sq_rmdir(sq_env *e);

/* New fake host on e->dir, storage_sqlite.so added with @p yaml, init,
 * optional migrations of @p owner, then start. Returns start()'s code
 * (0 on success; on failure the host stays for last_error). */
int sq_open(sq_env *e, const char *yaml, const char *owner,
            const plt_storage_migration *m, size_t n);
/* Stop (asserting success) and free the host (asserting no leak). */
void sq_close(sq_env *e);
/* cmocka teardown: frees what a failed test left (host, directory), so
 * the next test can create its own fake host. The test's sq_env must be
 * static: a failed assertion leaves the test's stack frame. */
int sq_teardown(void **state);

/* Callbacks for sq_res. */
int sq_row(void *arg, const plt_storage_row *row);
void sq_done(void *arg, int status, const plt_storage_result *res);
void sq_begun(void *arg, int status, plt_storage_txn *txn);

/* Run the loop until r->done (fails the test after 120 s). */
void sq_wait(sq_env *e, sq_res *r);

/* Run @p sql synchronously (from the test's point of view). */
int sq_exec(sq_env *e, plt_storage_txn *txn, const char *sql,
            const plt_value *args, size_t nargs, uint32_t flags, sq_res *r);

/* Engine diagnostics. */
stq_diag sq_diag(sq_env *e);

/* Count rows with a separate, plain SQLite connection to the file. */
int64_t sq_count(sq_env *e, const char *sql);

#endif
