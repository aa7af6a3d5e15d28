/* SPDX-License-Identifier: MIT */
/*
 * query_rows() (storage 1.1): one statement for many argument rows.
 *
 * `INSERT INTO t (columns) VALUES ($1, ..., $n)` (bare placeholders in
 * order, nothing after the row) is sent as one `COPY t (columns) FROM
 * STDIN` with the rows in text format: no parameters to bind, no plan,
 * the server's bulk path. Other `INSERT ... VALUES (row) [ON CONFLICT
 * ...] [RETURNING ...]` whose placeholders are all inside the row
 * (stc_sql_values_split), or rows with doubles or blobs, are sent as
 * multi-row INSERTs: full chunks of `chunk` rows, the rest in powers of 4
 * (1, 4, 16, 64, 256...), so that a load uses a few texts, which the
 * connections keep as named prepared statements (INSERTs are prepared by
 * name). Any other statement is sent once per row. A multi-row INSERT
 * inserts, and returns its RETURNING rows, in VALUES order, so rows reach
 * the row callback in row order either way.
 *
 * All the statements of one call are queued at once: in the caller's
 * transaction (which runs them in order), or, on their own, in a
 * transaction of the call's when there is more than one (so that its rows
 * commit together or not at all). done() comes once, after the last
 * statement (and that transaction's end), with the first error.
 */
#include <stdlib.h>
#include <string.h>

#include "storage_pg_int.h"

/* Parameters and rows of one multi-row INSERT. */
#define ROWS_MAX_PARAMS 30000u
#define ROWS_MAX_CHUNK 1000u

typedef struct rows_op {
    spg *pg;
    plt_storage_txn *txn; /* the caller's, or the call's own */
    bool own_txn;
    char *sql;
    stc_values_shape shape;
    bool multi; /* sent as multi-row INSERTs */
    plt_value *args; /* the caller's rows (one allocation) */
    size_t ncols, nrows;
    uint32_t flags;
    plt_storage_row_fn row;
    plt_storage_done_fn done;
    void *arg;
    size_t pending; /* statements queued and not completed */
    bool stopped;   /* the row callback asked to stop */
    int status;
    char *error;
    char sqlstate[6];
    int64_t affected, rows;
} rows_op;

static void
rows_free(rows_op *o)
{
    free(o->sql);
    free(o->args);
    free(o->error);
    free(o);
}

static void
rows_note(rows_op *o, int status, const plt_storage_result *res)
{
    if (status == 0 || o->status != 0)
        return;
    o->status = status;
    free(o->error);
    o->error = res && res->error ? strdup(res->error) : NULL;
    if (res && res->sqlstate)
        snprintf(o->sqlstate, sizeof(o->sqlstate), "%s", res->sqlstate);
}

static void
rows_report(rows_op *o)
{
    int status = o->status;
    if (status == 0 && o->stopped)
        status = PLT_ECANCELED;
    plt_storage_result res = {
        .rows_affected = status == 0 ? o->affected : 0,
        .rows = o->rows,
        .error = status < 0 ? (o->error ? o->error : plt_strerror(status))
                            : NULL,
        .sqlstate = status < 0 && o->sqlstate[0] ? o->sqlstate : NULL,
    };
    o->done(o->arg, status, &res);
    rows_free(o);
    plt_work_end();
}

static void
rows_ended(void *arg, int status, const plt_storage_result *res)
{
    rows_op *o = arg;
    rows_note(o, status, res);
    rows_report(o);
}

static int
rows_row(void *arg, const plt_storage_row *row)
{
    rows_op *o = arg;
    if (o->stopped || !o->row)
        return o->stopped;
    if (o->row(o->arg, row) != 0) {
        o->stopped = true;
        return 1;
    }
    return 0;
}

static void
rows_stmt_done(void *arg, int status, const plt_storage_result *res)
{
    rows_op *o = arg;
    if (res) {
        o->rows += res->rows;
        if (status == 0)
            o->affected += res->rows_affected;
    }
    if (!(o->stopped && status == PLT_ECANCELED))
        rows_note(o, status, res);
    if (--o->pending > 0)
        return;
    if (!o->own_txn) {
        rows_report(o);
        return;
    }
    bool ok = o->status == 0 && !o->stopped;
    int rc = ok ? spg_vtable.commit(o->pg, o->txn, rows_ended, o)
                : spg_vtable.rollback(o->pg, o->txn, rows_ended, o);
    if (rc != 0) {
        if (o->status == 0)
            o->status = rc;
        rows_report(o);
    }
}

/* Rows of the next statement when @p left rows remain. */
static size_t
chunk_rows(size_t left, size_t full)
{
    if (left >= full)
        return full;
    size_t r = 1;
    while (r * 4 <= left)
        r *= 4;
    return r;
}

/* Rows of a full multi-row INSERT of the call. */
static size_t
full_rows(const rows_op *o)
{
    if (!o->multi)
        return 1;
    size_t full = ROWS_MAX_PARAMS / o->ncols;
    if (full > ROWS_MAX_CHUNK)
        full = ROWS_MAX_CHUNK;
    return full ? full : 1;
}

/* Statements the call sends. */
static size_t
count_stmts(const rows_op *o)
{
    size_t full = full_rows(o), n = 0;
    for (size_t r = 0; r < o->nrows; n++)
        r += o->multi ? chunk_rows(o->nrows - r, full) : 1;
    return n;
}

/* Queue every statement of the call. @return 0, or the error of the
 * first one that could not be queued (later ones are not sent). */
static int
rows_send(rows_op *o)
{
    size_t full = full_rows(o);
    /* The texts of this call: one per chunk size (a handful). */
    char *texts[16] = {0};
    size_t sizes[16] = {0}, ntexts = 0;
    int rc = 0;
    o->pending++; /* held while queueing: no report before the end */
    for (size_t r = 0; r < o->nrows && rc == 0;) {
        size_t n = o->multi ? chunk_rows(o->nrows - r, full) : 1;
        const char *text = o->sql;
        if (o->multi && n > 1) {
            size_t k = 0;
            while (k < ntexts && sizes[k] != n)
                k++;
            if (k == ntexts) {
                rc = stc_sql_values_rows(o->sql, &o->shape, o->ncols, n,
                                         &texts[k]);
                if (rc != 0)
                    break;
                sizes[k] = n;
                ntexts++;
            }
            text = texts[k];
        }
        o->pending++;
        rc = spg_vtable.query(o->pg, o->txn, text, o->args + r * o->ncols,
                              n * o->ncols, o->flags, rows_row,
                              rows_stmt_done, o);
        if (rc != 0)
            o->pending--;
        r += n;
    }
    for (size_t k = 0; k < ntexts; k++)
        free(texts[k]);
    return rc;
}

/* After the queueing: the held count goes, and the call ends if every
 * statement already completed (or none could be queued). */
static void
rows_sent(rows_op *o, int rc)
{
    if (rc != 0 && o->status == 0)
        o->status = rc;
    rows_stmt_done(o, 0, NULL);
}

static void
rows_begun(void *arg, int status, plt_storage_txn *txn)
{
    rows_op *o = arg;
    if (status != 0) {
        o->status = status;
        rows_report(o);
        return;
    }
    o->txn = txn;
    rows_sent(o, rows_send(o));
}

/* A completion without the server: nothing to run, or a mistake. */
static int
rows_early(spg *pg, int status, const char *msg, plt_storage_done_fn done,
           void *arg)
{
    spg_req *r = spg_req_new(SPG_R_QUERY);
    if (!r)
        return PLT_ENOMEM;
    r->done = done;
    r->arg = arg;
    r->work = true;
    plt_work_begin();
    if (status != 0)
        spg_req_set_error(r, status, NULL, msg);
    spg_pool_defer(pg, r);
    return 0;
}

int
spg_query_rows(void *impl, plt_storage_txn *txn, const char *sql,
               const plt_value *args, size_t ncols, size_t nrows,
               uint32_t flags, plt_storage_row_fn row,
               plt_storage_done_fn done, void *arg)
{
    spg *pg = impl;
    size_t nargs = ncols * nrows;
    if (!sql || !done || (nrows && (ncols == 0 || !args)) ||
        (nrows && nargs / nrows != ncols))
        return PLT_EINVAL;
    if (pg->state != SPG_S_STARTED &&
        !(pg->state == SPG_S_STOPPING && txn && !pg->closing))
        return pg->state == SPG_S_INIT ? PLT_ESTATE : PLT_ESHUTDOWN;
    uint32_t max = 0;
    if (stc_sql_max_param(sql, &max) != 0)
        return rows_early(pg, PLT_EINVAL,
                          "malformed placeholder ($0, an index above 65535, "
                          "or digits running into a word)",
                          done, arg);
    if (max != ncols) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "wrong parameter count: the statement uses $1..$%u but %zu "
                 "argument(s) were given per row",
                 max, ncols);
        return rows_early(pg, PLT_EINVAL, msg, done, arg);
    }
    if (nrows == 0)
        return rows_early(pg, 0, NULL, done, arg);
    rows_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->pg = pg;
    o->txn = txn;
    o->ncols = ncols;
    o->nrows = nrows;
    o->flags = flags;
    o->row = row;
    o->done = done;
    o->arg = arg;
    o->sql = strdup(sql);
    if (!o->sql) {
        rows_free(o);
        return PLT_ENOMEM;
    }
    int rc = 0;
    o->multi = stc_sql_values_split(sql, &o->shape) == 0;
    char *copy_sql = NULL, *data = NULL;
    if (o->multi && stc_sql_copy_text(sql, &o->shape, ncols, &copy_sql) == 0) {
        /* A plain INSERT of bare placeholders: one COPY of every row,
         * one statement whatever the count (all rows or none). The text
         * is the copy of the arguments. */
        size_t len = 0, cap = 0;
        for (size_t k = 0; k < nrows && rc == 0; k++)
            rc = stc_copy_row(args + k * ncols, ncols, &data, &len, &cap);
        if (rc == 0) {
            o->pending = 1;
            rc = spg_query_copy(pg, txn, copy_sql, data, len, flags,
                                rows_stmt_done, o);
            if (rc != 0) {
                rows_free(o);
                return rc;
            }
            plt_work_begin();
            return 0;
        }
        free(copy_sql);
        free(data);
        if (rc == PLT_ENOMEM) {
            rows_free(o);
            return rc;
        }
        rc = 0; /* a value COPY does not carry: multi-row INSERTs */
    }
    rc = stc_values_copy(args, nargs, &o->args);
    if (rc != 0) {
        rows_free(o);
        return rc;
    }
    if (!txn && count_stmts(o) > 1) {
        /* Several statements on their own: in a transaction of ours. */
        o->own_txn = true;
        rc = spg_vtable.begin(pg, flags & PLT_STORAGE_DURABLE, rows_begun, o);
        if (rc != 0) {
            rows_free(o);
            return rc;
        }
        plt_work_begin();
        return 0;
    }
    rc = rows_send(o);
    if (rc != 0 && o->pending == 1) {
        /* Nothing was queued: the call fails, no callback. */
        rows_free(o);
        return rc;
    }
    plt_work_begin();
    rows_sent(o, rc);
    return 0;
}
