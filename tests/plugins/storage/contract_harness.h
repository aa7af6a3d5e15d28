/* SPDX-License-Identifier: MIT */
/*
 * The harness of the storage contract suite (test_contract.c and the
 * contract_*.c case files): a case context holding a fake host with the
 * engine under test and the test consumer, a database per case, and
 * helpers that issue one statement or transaction step and drive the loop
 * until its completion arrived (under a real-time guard, so a lost
 * callback fails the case instead of hanging it).
 *
 * Callbacks of these helpers only record; assertions are made by the
 * cases, on their own stack, never inside a callback running in uv_run().
 */
#ifndef PLATEAU_TEST_CONTRACT_HARNESS_H
#define PLATEAU_TEST_CONTRACT_HARNESS_H

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <uv.h>

#include <plateau/error.h>
#include <plateau/service.h>
#include <plateau/svc/storage.h>
#include <plateau/testing/fake_host.h>
#include <plateau/types.h>

/* A completion that never came within its guard (not a PLT_E* code). */
#define CT_NO_CALLBACK 1
/* Guard for one ordinary statement, in real milliseconds. */
#define CT_GUARD_MS 30000

extern const char *g_engine; /* "sqlite" or "pg" */
extern bool g_pg;

typedef struct ct ct;

/* How ct_open() builds the fake host. Zero = defaults. */
typedef struct ct_opts {
    bool sim;                /* simulated clock (default: real) */
    int migrations;          /* consumer's declared count; 0 = the first
                                release, -1 = no consumer at all */
    const char *txn_timeout; /* default "10s" */
    /* Called between init and start (storage initialised, not started). */
    void (*before_start)(ct *c, void *arg);
    void *arg;
} ct_opts;

/* One case: its database survives reopenings of the fake host. */
struct ct {
    plt_fake_host *fh;
    plt_storage st;
    uv_timer_t guard;
    bool guard_on;
    char dir[PATH_MAX]; /* data dir, kept across reopenings of a case */
    char db[64];        /* PostgreSQL database of the case */
    bool db_created;
    char skip_why[512];   /* why the case cannot run here (skipped) */
    char setup_err[1024]; /* why preparing its database failed */
    char open_err[2048];  /* last_error of a failed ct_open */
};

/* A result row, deep-copied. */
typedef struct qrow {
    size_t n;
    plt_value *v;
} qrow;

/* One statement: what its callbacks saw. */
typedef struct q {
    bool done;
    bool sync; /* query() itself returned < 0 */
    int calls; /* done() calls (must be 1) */
    int status;
    int64_t affected, rows;
    char *error, *sqlstate;
    qrow *r;
    size_t nr, cap;
    char **names;
    size_t ncols;
    int64_t stop_after; /* row callback returns 1 at this row (0: never) */
    int64_t seen;       /* row callbacks */
    int64_t late_rows;  /* row callbacks after done() */
} q;

/* One begin(): what its callback saw. */
typedef struct tq {
    bool done;
    int calls;
    int status;
    plt_storage_txn *txn;
} tq;

/* Misc. */
const char *ct_err_name(int rc);
uint64_t ct_mono_ms(void);
long ct_proc_status_kb(const char *key);
bool ct_reset_peak_rss(void);

/* Case lifecycle (cmocka setup/teardown) and the fake host. */
int ct_setup(void **state);
int ct_teardown(void **state);
void ct_require(ct *c); /* skip() when the engine cannot run */
int ct_open(ct *c, const ct_opts *o);
void ct_open_ok(ct *c, const ct_opts *o);
int ct_close(ct *c); /* plt_fake_host_free()'s result */

/* Driving the loop. */
bool ct_wait_pred(ct *c, bool (*pred)(void *), void *arg, uint64_t ms);
bool ct_wait(ct *c, const bool *flag, uint64_t ms);
void ct_spin(ct *c, uint64_t ms);

/* Statements. */
int q_row(void *arg, const plt_storage_row *row);
void q_done(void *arg, int status, const plt_storage_result *res);
void q_free(q *x);
void q_reset(q *x);
int64_t q_i64(const q *x, size_t r, size_t col);
const char *q_str(const q *x, size_t r, size_t col);
/* After a call that reports to @p x returned @p rc: its result, waited
 * for at most @p ms (CT_NO_CALLBACK if it never came). */
int ct_await(ct *c, q *x, int rc, uint64_t ms);
int ct_sql_guard(ct *c, plt_storage_txn *txn, q *x, const char *sql,
                 const plt_value *args, size_t n, uint32_t flags, uint64_t ms);
int ct_sql(ct *c, plt_storage_txn *txn, q *x, const char *sql,
           const plt_value *args, size_t n, uint32_t flags);
void ct_ok(ct *c, plt_storage_txn *txn, q *x, const char *sql,
           const plt_value *args, size_t n, uint32_t flags);
int64_t ct_i64(ct *c, plt_storage_txn *txn, const char *sql,
               const plt_value *args, size_t n);
void ct_expect_type(const plt_value *v, int type, const char *what);
void ct_noop_done(void *arg, int status, const plt_storage_result *res);

/* Transactions. */
void tq_begun(void *arg, int status, plt_storage_txn *txn);
int ct_begin(ct *c, uint32_t flags, plt_storage_txn **out);
plt_storage_txn *ct_begin_ok(ct *c, uint32_t flags);
int ct_end(ct *c, plt_storage_txn *txn, bool commit, q *x);
void ct_end_ok(ct *c, plt_storage_txn *txn, bool commit);

/* Cases in contract_concurrency.c. */
void test_concurrent_counter(void **state);
void test_stream_million(void **state);
void test_row_callback_cancels(void **state);
void test_reservation_exactly_once(void **state);

/* Cases in contract_schema.c. */
void test_migrations_upgrade(void **state);
void test_migrations_schema_newer_row(void **state);
void test_migrations_declare_rules(void **state);
void test_migration_failure_is_atomic(void **state);

/* Cases in contract_service.c. */
void test_listen_notify(void **state);
void test_status_counts(void **state);
void test_stop_completes_pending(void **state);

#endif
