/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the storage_pg integration tests: the server's coordinates
 * from the harness (tests/lib/pg.sh wrote them to conninfo.env), the
 * plugin's YAML section, a fake host with storage_pg.so loaded, and
 * synchronous wrappers that run the loop until a callback came.
 *
 * The fake host runs on the real clock here: the database is a real peer.
 */
#ifndef PG_TEST_UTIL_H
#define PG_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/storage.h>
#include <plateau/testing/fake_host.h>

typedef struct pgt_env {
    char host[64];
    int port;
    char user[64];
    char password[128];
    char dbname[64];
    char dir[512]; /* the harness's DIR */
    char sh[512];  /* path of tests/lib/pg.sh */
} pgt_env;

/* Read $PLATEAU_PG_DIR/conninfo.env. @return 0, or -1 (message printed). */
int pgt_env_load(pgt_env *e);

/* The plugin's section: connection keys from @p e (password through
 * ${PLATEAU_TEST_PGPASSWORD}, as a site would keep it out of the file),
 * then @p extra lines. Free it. */
char *pgt_yaml(const pgt_env *e, const char *extra);

/* Monotonic milliseconds. */
uint64_t pgt_ms(void);

/* A fake host (real clock unless @p simulated) with storage_pg.so added
 * with @p yaml and initialised; @p st receives the service. NULL on
 * failure (message printed). */
plt_fake_host *pgt_host(const char *yaml, bool simulated, plt_storage *st);

/* Run the loop until *flag, at most @p ms. @return *flag. */
bool pgt_wait(plt_fake_host *fh, const bool *flag, uint64_t ms);
/* Run the loop for @p ms whatever happens. */
void pgt_spin(plt_fake_host *fh, uint64_t ms);

/* The outcome of one statement, and column 0 of its rows when integer. */
typedef struct pgt_res {
    bool done;
    int status;
    int64_t rows, affected;
    char error[512];
    char sqlstate[6];
    int64_t *ints;
    size_t nints, cap;
    long stop_after; /* > 0: the row callback stops after that many */
} pgt_res;

void pgt_res_free(pgt_res *r);
int pgt_on_row(void *arg, const plt_storage_row *row);
void pgt_on_done(void *arg, int status, const plt_storage_result *res);

/* Run @p sql and wait (30 s at most). @return the call's return code, or
 * the completion status. */
int pgt_exec(plt_fake_host *fh, const plt_storage *st, plt_storage_txn *txn,
             const char *sql, const plt_value *args, size_t n, pgt_res *out);
/* pgt_exec() that must succeed (fails the test otherwise). */
void pgt_ok(plt_fake_host *fh, const plt_storage *st, const char *sql,
            const plt_value *args, size_t n);

/* begin() and wait. @return the status; *txn set on success. */
int pgt_begin(plt_fake_host *fh, const plt_storage *st, plt_storage_txn **txn);
/* commit() or rollback() and wait. @return the status. */
int pgt_end(plt_fake_host *fh, const plt_storage *st, plt_storage_txn *txn,
            bool commit, pgt_res *out);

/* Run `bash pg.sh CMD DIR` and wait for it (blocking: the loop is not
 * needed meanwhile). @return its exit status. */
int pgt_harness(const pgt_env *e, const char *cmd);

#endif
